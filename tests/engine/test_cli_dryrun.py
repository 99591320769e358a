"""The command line around planning: --dry-run (text, JSON, verbose), validate, schema, steps,
--version, --help, and how errors become exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.planning import CHECKOUT, PYTHON, dry_run_json, rows_by_id, subprocess_env, write

SPEC = """\
name: demo
description: a small demo
config:
  out: results
  samples: [S1, S2]
steps:
  - name: count
    foreach: "{{ samples }}"
    run: echo {{ item }} > {{ outputs.n }}
    outputs: {n: "{{ out }}/{{ item }}.n"}
  - name: join
    uses: core.concat
    inputs: {parts: "{{ steps.count.outputs.n }}"}
    outputs: {out: "{{ out }}/all.n"}
  - name: idle
    enabled: false
    run: echo off
"""


@pytest.fixture
def spec(spec_file) -> Path:
    return spec_file(SPEC)


def test_dry_run_json_shape(cli, spec: Path) -> None:
    doc = dry_run_json(cli, spec)
    assert set(doc) == {"workflow", "steps", "accepted_unused"} and doc["workflow"] == "demo"
    assert doc["accepted_unused"] == []
    keys = {"id", "step", "action", "reasons", "inputs", "outputs", "depends_on", "command", "uses"}
    assert all(set(row) == keys for row in doc["steps"])
    rows = rows_by_id(doc)
    assert list(rows) == ["count[S1]", "count[S2]", "idle", "join"]
    assert rows["count[S1]"] == {"id": "count[S1]", "step": "count", "action": "run",
                                 "reasons": ["never run"], "inputs": {},
                                 "outputs": {"n": "results/S1.n"}, "depends_on": [],
                                 "command": "echo S1 > results/S1.n", "uses": None}
    assert (rows["join"]["command"], rows["join"]["uses"]) == (None, "core.concat")
    assert rows["join"]["inputs"] == {"parts": ["results/S1.n", "results/S2.n"]}
    assert sorted(rows["join"]["depends_on"]) == ["count[S1]", "count[S2]"]
    assert rows["idle"]["action"] == "disabled"
    assert rows["idle"]["reasons"] == ["enabled: false in the spec"]


def test_dry_run_json_with_overrides(cli, spec: Path) -> None:
    rows = rows_by_id(dry_run_json(cli, spec, "--set", "samples=[X]", "--set", "out=o",
                                   "--set", "steps.idle.enabled=true"))
    assert list(rows) == ["count[X]", "idle", "join"]
    assert rows["join"]["outputs"] == {"out": "o/all.n"}
    assert rows["idle"]["action"] == "run"


def test_dry_run_text(cli, spec: Path) -> None:
    code, out, err = cli(str(spec), "--dry-run")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"workflow demo ({spec})"
    assert lines[1].split() == ["count", "×2", "run", "2", "never", "run", "(2)"]
    assert lines[2].split()[:3] == ["join", "run", "never"]
    assert lines[3].split()[:2] == ["idle", "disabled"]
    assert lines[-1] == "summary: 3 to run, 0 up to date, 1 disabled, 0 pending expansion"


def test_dry_run_verbose_lists_every_instance_and_the_config(cli, spec: Path) -> None:
    code, out, _ = cli(str(spec), "--dry-run", "-v", "--set", "out=elsewhere")
    assert code == 0
    assert any(line.split()[:2] == ["count[S1]", "run"] for line in out.splitlines())
    assert any(line.split()[:2] == ["count[S2]", "run"] for line in out.splitlines())
    assert "out = 'elsewhere'  <- set --set out=elsewhere" in out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["count[S1]"])
    assert lines[at + 1].strip() == "$ echo S1 > elsewhere/S1.n"  # the command, as -np shows it
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["join"])
    assert lines[at + 1].strip() == "uses core.concat"
    assert f"samples = ['S1', 'S2']  <- spec {spec}:5:3" in out


def test_dry_run_creates_nothing(cli, spec: Path, workdir: Path) -> None:
    before = sorted(p.name for p in workdir.iterdir())
    assert cli(str(spec), "--dry-run")[0] == 0
    assert cli(str(spec), "--dry-run", "--json")[0] == 0
    assert cli(str(spec), "--graph")[0] == 0
    assert sorted(p.name for p in workdir.iterdir()) == before == ["workflow.yaml"]


def test_large_plans_print_compact_json(cli, spec_file) -> None:
    code, out, _ = cli(str(spec_file("""\
    name: big
    steps:
      - {name: a, foreach: "{{ range(300) | list }}", run: "echo {{ item }}"}
    """)), "--dry-run", "--json")
    assert code == 0 and out.count("\n") == 1
    assert len(json.loads(out)["steps"]) == 300


def test_validate(cli, spec: Path) -> None:
    code, out, _ = cli("validate", str(spec))
    assert code == 0
    assert out.strip() == f"{spec}: ok — workflow 'demo', 3 steps, 4 instances"


def test_validate_reports_errors(cli, spec_file) -> None:
    bad = spec_file("name: bad\nsteps:\n  - name: a\n    run: echo {{ nope }}\n")
    code, out, err = cli("validate", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}:4:18: error: step 'a': in 'run': 'nope' is not defined" in err


def test_schema_is_draft_2020_12_json(cli) -> None:
    code, out, _ = cli("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"name", "steps"}
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"name": "x", "steps": [{"name": "a", "run": "echo"}]})
    assert not validator.is_valid({"name": "x", "steps": [{"name": "a"}]})


def test_the_shipped_specs_validate_against_the_printed_schema(cli) -> None:
    import jsonschema
    import yaml

    schema = json.loads(cli("schema")[1])
    specs = sorted((CHECKOUT / "examples").glob("*/*.yaml"))
    workflows = [p for p in specs if "steps" in (yaml.safe_load(p.read_text()) or {})]
    assert workflows, "no example workflows found"
    for path in workflows:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_steps_listing(cli) -> None:
    code, out, _ = cli("steps")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert "core.concat" in names and names == sorted(names)
    concat = next(line for line in out.splitlines() if line.startswith("core.concat "))
    assert "Concatenate the input files" in concat


def test_steps_one(cli) -> None:
    code, out, _ = cli("steps", "core.concat")
    assert code == 0
    assert out.startswith("core.concat  (stepslib.core.files)")
    assert "params:\n  header: boolean (default: false)" in out
    assert "(other params are passed through)" not in out  # a closed params schema


def test_steps_json(cli) -> None:
    code, out, _ = cli("steps", "core.concat", "--json")
    info = json.loads(out)
    assert code == 0 and info["name"] == "core.concat"
    assert info["params"]["properties"]["header"]["default"] is False
    assert info["params"]["additionalProperties"] is False
    everything = json.loads(cli("steps", "--json")[1])
    assert "core.concat" in everything and "params" in everything["core.concat"]


def test_steps_unknown_name(cli) -> None:
    code, _, err = cli("steps", "core.concatt")
    assert code == 2 and "unknown step function 'core.concatt'" in err


def test_steps_unknown_name_suggests(cli) -> None:
    _, _, err = cli("steps", "core.concatt")
    assert "did you mean 'core.concat'" in err


def test_version_and_help(cli, capsys) -> None:
    from engine import __version__

    with pytest.raises(SystemExit) as info:
        cli("--version")
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mi-run {__version__}"
    with pytest.raises(SystemExit) as info:
        cli("--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mi-run") and "--dry-run" in out and "validate SPEC" in out


def test_usage_errors(cli, workdir: Path, capsys) -> None:
    code, _, err = cli("missing.yaml", "--dry-run")
    assert code == 2 and err.strip() == "error: spec file not found: missing.yaml"
    with pytest.raises(SystemExit) as info:
        cli("--dry-run")  # no spec: argparse's own exit status 2
    assert info.value.code == 2
    capsys.readouterr()


def test_bad_set_argument(cli, spec: Path) -> None:
    code, _, err = cli(str(spec), "--dry-run", "--set", "novalue")
    assert code == 2 and "--set expects KEY=VALUE, got 'novalue'" in err


def test_a_config_file_that_does_not_exist(cli, spec: Path) -> None:
    code, _, err = cli(str(spec), "--dry-run", "--config", "nowhere.yaml")
    assert code == 2 and "file not found: nowhere.yaml" in err


def test_the_installed_entry_point_module(workdir: Path) -> None:
    """``python -m engine.cli`` works from any directory (the way mi-run is run)."""
    spec = write(workdir / "s.yaml", SPEC)
    proc = subprocess.run([PYTHON, "-m", "engine.cli", str(spec), "--dry-run", "--json"],
                          cwd=workdir, env=subprocess_env(), capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["workflow"] == "demo"
