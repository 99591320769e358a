"""A step's `force` setting (and a spec's `setting_aliases`): the step runs every time, as
with --force STEP, for configs that say so (amalgkit's `redo: yes`)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.running import cli, dry, ran, write_spec

SPEC = """
name: forcing
config: {again: false}
setting_aliases: {redo: force}
steps:
  - name: make
    run: "echo made > {{ outputs.o }}; echo make >> ran.log"
    outputs: {o: made.txt}
  - name: use
    run: "cat {{ inputs.i }} > {{ outputs.o }}; echo use >> ran.log"
    inputs: {i: "{{ steps.make.outputs.o }}"}
    outputs: {o: used.txt}
    force: "{{ again }}"
"""


def test_force_reruns_the_step_every_time_and_only_it(work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml", "-q")[0] == 0
    assert ran(work) == ["make", "use"]
    assert dry("wf.yaml")["use"] == ("skip", ["up to date"])
    assert dry("wf.yaml", "--set", "again=true")["use"] == ("run", ["forced"])
    assert cli("wf.yaml", "-q", "--set", "again=true")[0] == 0
    assert ran(work) == ["use"]  # make stays up to date
    assert cli("wf.yaml", "-q", "--set", "steps.make.force=yes")[0] == 0
    assert ran(work) == ["make"]  # use: upstream output unchanged, so up to date


def test_an_aliased_config_key_forces_the_step(work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml", "-q")[0] == 0
    ran(work)
    (work / "c.yaml").write_text("steps:\n  make:\n    redo: yes\n  use:\n    redo: no\n")
    plan = dry("wf.yaml", "--config", "c.yaml")
    assert plan["make"] == ("run", ["forced"]) and plan["use"][0] == "run"  # upstream reran
    code, _, err = cli("wf.yaml", "--dry-run", "--config", "c.yaml")
    assert code == 0 and "unknown" not in err  # redo is a setting here, not an unknown key


def test_a_bad_force_value_is_located(work: Path) -> None:
    write_spec(work, SPEC)
    code, _, err = cli("wf.yaml", "--dry-run", "--set", "steps.use.force=maybe")
    assert code == 2 and "'force' must be true or false, got 'maybe'" in err
    assert err.startswith("--set steps.use.force=maybe: error:")
