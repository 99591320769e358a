"""MetaInformAnt configs, first part of issue #13: keys a spec accepts without using
(``config_accepts``, dotted and with *), listed by the dry-run with why; amalgkit's yes/no
flags given as YAML booleans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.planning import CHECKOUT

CONFIGS = CHECKOUT / "tests" / "data" / "metainformant-configs"  # real ones, Apache-2.0
SPEC = """\
name: acc
config: {n: 1}
config_accepts:
  log_dir: "logs are mi-run's"
  steps.config: "no config files needed"
  "steps.*.out_dir": "outputs go under work_dir"
steps:
  - name: a
    run: "echo {{ n }} > {{ outputs.o }}"
    outputs: {o: out/a.txt}
"""


def test_accepted_keys_are_listed_with_why_and_not_passed_on(cli, spec_file, workdir: Path) -> None:
    spec = spec_file(SPEC)
    (workdir / "c.yaml").write_text("log_dir: x\nsteps:\n  config: {overwrite: yes}\n"
                                    "  a: {out_dir: elsewhere}\n")
    code, out, err = cli(str(spec), "--dry-run", "-c", "c.yaml", "--strict")
    assert code == 0, err
    assert "accepted, not used: log_dir (logs are mi-run's)" in out
    assert "accepted, not used: steps.config (no config files needed)" in out
    assert "accepted, not used: steps.a.out_dir (outputs go under work_dir)" in out
    code, out, _ = cli(str(spec), "--dry-run", "--json", "-c", "c.yaml")
    document = json.loads(out)
    assert {"key": "steps.a.out_dir", "why": "outputs go under work_dir"} in document["accepted_unused"]


def test_a_key_that_is_not_accepted_is_still_an_error(cli, spec_file) -> None:
    code, _, err = cli(str(spec_file(SPEC)), "--dry-run", "--set", "steps.a.outdir=x")
    assert code == 2 and "has no setting or param 'outdir'" in err


def test_yes_no_flags_take_yaml_booleans(cli, workdir: Path) -> None:
    spec = str(CHECKOUT / "specs" / "rna" / "amalgkit.yaml")
    for value in ("yes", "true", "no", "false"):
        code, _, err = cli(spec, "--dry-run", "--set", f"steps.metadata.resolve_names={value}")
        assert code == 0, err
    code, _, err = cli(spec, "--dry-run", "--set", "steps.metadata.resolve_names=maybe")
    assert code == 2 and "not one of 'yes', 'no'" in err


@pytest.mark.parametrize("name", ["amalgkit_template.yaml", "amalgkit_test.yaml"])
def test_real_amalgkit_configs_get_through_but_for_missing_data(cli, workdir: Path,
                                                                 name: str) -> None:
    """Every key is honoured or accepted; what stops them is the transcriptome FASTA they do
    not have here, reported in their own file (given: the dry-run plans). The data placed
    where they point: tests/rna/test_metainformant_configs.py."""
    spec = str(CHECKOUT / "specs" / "rna" / "amalgkit.yaml")
    code, _, err = cli(spec, "--dry-run", "-c", str(CONFIGS / name))
    assert code == 2 and err.count("error:") == 1, err
    assert err.startswith(str(CONFIGS / name)) and "is not written by any step" in err
    fasta = workdir / "tx.fa"
    fasta.write_text((CHECKOUT / "examples" / "rna" / "fasta" / "Demo_alpha.fa").read_text())
    code, out, err = cli(spec, "--dry-run", "-c", str(CONFIGS / name), "--set",
                         f"transcriptome_fasta={fasta}")
    assert code == 0, err
    assert "accepted, not used: steps.config" in out
    assert "warning" not in err


def test_a_key_repeated_in_a_config_file_warns_and_the_later_wins(cli, spec_file,
                                                                  workdir: Path) -> None:
    spec = spec_file(SPEC)
    (workdir / "c.yaml").write_text("n: 2\nn: 3\n")
    code, out, err = cli(str(spec), "--dry-run", "--json", "-c", "c.yaml")
    assert code == 0
    assert "c.yaml:2:1: warning: duplicate key 'n' (the later value wins, as in PyYAML)" in err
    assert "echo 3 > out/a.txt" in out
    spec.write_text(SPEC.replace("config: {n: 1}", "config: {n: 1}\nconfig: {n: 2}"))
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 2 and "duplicate key 'config'" in err  # in a spec it stays an error
