"""Records per configuration (issue #10, part 1): switching a config back and forth in one
directory reruns nothing whose outputs still match their record."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.running import cli, dry, ran, to_run, write_spec

SPEC = """
name: labels
config: {label: run1, min_score: 1}
steps:
  - name: filter
    run: "echo {{ label }} {{ min_score }} > {{ outputs.o }}; echo filter >> ran.log"
    outputs: {o: "out/{{ label }}/filtered.tsv"}
  - name: report
    run: "cat {{ inputs.f }} > {{ outputs.o }}; echo report >> ran.log"
    inputs: {f: "{{ steps.filter.outputs.o }}"}
    outputs: {o: "out/{{ label }}/report.txt"}
"""


def test_switching_a_configuration_back_runs_nothing(work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml", "--set", "label=run1")[0] == 0
    assert ran(work) == ["filter", "report"]
    assert cli("wf.yaml", "--set", "label=run2")[0] == 0
    assert ran(work) == ["filter", "report"]
    plan = dry("wf.yaml", "--set", "label=run1")
    assert plan == {"filter": ("skip", ["up to date"]), "report": ("skip", ["up to date"])}
    assert cli("wf.yaml", "--set", "label=run1")[0] == 0
    assert ran(work) == []
    assert to_run(dry("wf.yaml", "--set", "label=run2")) == set()
    assert cli("wf.yaml", "--set", "label=run2")[0] == 0
    assert ran(work) == []


def test_a_switched_back_configuration_whose_output_changed_reruns_truthfully(work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml", "--set", "label=run1")[0] == 0
    assert cli("wf.yaml", "--set", "label=run2")[0] == 0
    ran(work)
    (work / "out" / "run1" / "report.txt").unlink()
    plan = dry("wf.yaml", "--set", "label=run1")
    assert plan["filter"] == ("skip", ["up to date"])
    assert plan["report"] == ("run", ["output missing: out/run1/report.txt"])
    (work / "out" / "run1" / "filtered.tsv").write_text("edited by hand\n")
    plan = dry("wf.yaml", "--set", "label=run1")
    assert plan["filter"] == ("run", ["output changed: out/run1/filtered.tsv"])


def test_same_outputs_other_config_reruns_saying_another_configuration_wrote_them(
        work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml")[0] == 0  # A: min_score 1
    assert cli("wf.yaml", "--set", "min_score=2")[0] == 0  # B: same paths, other command
    ran(work)
    plan = dry("wf.yaml")  # back to A
    assert plan["filter"] == ("run", [
        "output changed: out/run1/filtered.tsv (written by another configuration)"])
    assert all("missing" not in r for _, reasons in plan.values() for r in reasons)
    assert cli("wf.yaml")[0] == 0
    assert ran(work) == ["filter", "report"]
    assert (work / "out" / "run1" / "filtered.tsv").read_text() == "run1 1\n"
    plan = dry("wf.yaml", "--set", "min_score=2")  # and to B again
    assert plan["filter"] == ("run", [
        "output changed: out/run1/filtered.tsv (written by another configuration)"])


def test_clean_records_forgets_only_configurations_whose_outputs_are_gone(work: Path) -> None:
    import shutil

    write_spec(work, SPEC)
    for label in ("run1", "run2", "run3"):
        assert cli("wf.yaml", "--set", f"label={label}")[0] == 0
    ran(work)
    shutil.rmtree(work / "out" / "run2")
    code, _, err = cli("clean", "wf.yaml", "--records")
    assert code == 0, err
    assert "forgot 2 record(s) whose outputs no longer exist; 4 kept" in err
    for label in ("run1", "run3"):  # still found, still up to date
        assert to_run(dry("wf.yaml", "--set", f"label={label}")) == set(), label
    action, reasons = dry("wf.yaml", "--set", "label=run2")["filter"]
    assert action == "run" and "output missing: out/run2/filtered.tsv" in reasons


def test_clean_without_a_target_says_what_it_can_clean(work: Path) -> None:
    write_spec(work, SPEC)
    code, _, err = cli("clean", "wf.yaml")
    assert code == 2 and "say what to clean" in err and "--records" in err


def test_a_dependent_found_up_to_date_after_its_upstream_reran_records_the_new_mtimes(
        work: Path) -> None:
    import os

    from engine.running.state import StateStore

    write_spec(work, """
name: mtimes
steps:
  - name: a
    run: "echo same > {{ outputs.o }}; echo a >> ran.log"
    outputs: {o: out/a.txt}
  - name: b
    run: "cat {{ inputs.a }} > {{ outputs.o }}; echo b >> ran.log"
    inputs: {a: "{{ steps.a.outputs.o }}"}
    outputs: {o: out/b.txt}
""")
    assert cli("wf.yaml")[0] == 0
    old_mtime = os.stat(work / "out" / "a.txt").st_mtime_ns
    os.utime(work / "out" / "a.txt", ns=(old_mtime - 10**9, old_mtime - 10**9))  # an older a
    ran(work)
    assert cli("wf.yaml", "--force", "a")[0] == 0
    assert ran(work) == ["a"]  # a rewrote the same bytes: b stayed up to date
    new_mtime = os.stat(work / "out" / "a.txt").st_mtime_ns
    with StateStore(work / ".mi") as store:
        recorded = store.records("mtimes")["b"].input_fps["out/a.txt"]
    assert recorded.mtime_ns == new_mtime  # so the next no-op run need not hash it again
