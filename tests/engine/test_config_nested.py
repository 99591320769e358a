"""Config sections (issue #13, MetaInformAnt's GWAS shape): a key inside a declared section is
checked like a top-level one (unknown: located warning; accepted: listed with why), and a
param whose template is exactly one config value reports a bad value where it was set."""

from __future__ import annotations

import json
from pathlib import Path

SPEC = """\
name: nested
config:
  qc: {min_maf: 0.01, header: false}
  label: x
config_accepts:
  qc.min_qual: "not implemented"
steps:
  - name: join
    uses: core.concat
    params:
      header: "{{ qc.header }}"
    inputs: {parts: [in.txt]}
    outputs: {out: "out/{{ label }}.txt"}
"""


def test_an_unknown_key_in_a_section_is_a_located_warning(cli, spec_file, workdir: Path) -> None:
    spec = spec_file(SPEC)
    (workdir / "in.txt").write_text("a\n")
    (workdir / "c.yaml").write_text("label: y\nqc:\n  min_mafx: 0.1\n  min_qual: 30\n")
    code, out, err = cli(str(spec), "--dry-run", "-c", "c.yaml")
    assert "c.yaml:3:3: warning: unknown config key 'qc.min_mafx' (did you mean 'qc.min_maf'?)" \
        in err
    assert "accepted, not used: qc.min_qual (not implemented)" in out
    code, out, _ = cli(str(spec), "--dry-run", "--json", "-c", "c.yaml")
    assert {"key": "qc.min_qual", "why": "not implemented"} in json.loads(out)["accepted_unused"]
    code, _, err = cli(str(spec), "--dry-run", "-c", "c.yaml", "--strict")
    assert code == 2 and "c.yaml:3:3: error: unknown config key 'qc.min_mafx'" in err
    code, _, err = cli(str(spec), "--dry-run", "--set", "qc.headr=1")
    assert code == 2 and "unknown config key 'qc.headr' in --set" in err


def test_a_bad_value_is_reported_where_the_user_set_it(cli, spec_file, workdir: Path) -> None:
    spec = spec_file(SPEC)
    (workdir / "in.txt").write_text("a\n")
    (workdir / "c.yaml").write_text("qc:\n  header: maybe\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "c.yaml")
    assert code == 2
    assert err.startswith("c.yaml:2:3: error: step 'join' (core.concat): param 'header' must be")
    assert "    header: maybe" in err
    code, _, err = cli(str(spec), "--dry-run", "--set", "qc.header=maybe")
    assert code == 2 and err.startswith("--set qc.header=maybe: error: step 'join'")
    bad_spec = spec_file(SPEC.replace("header: false", "header: maybe"))
    code, _, err = cli(str(bad_spec), "--dry-run")  # the spec's own value: located in the spec
    assert code == 2 and ".yaml:11:" in err.splitlines()[0] and "c.yaml" not in err
