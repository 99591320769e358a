"""The end summary (issue #12): counts and wall time, the critical path, the slowest steps,
each failure once with its log and the log's last lines, the command that resumes; short with
many failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import Outcome, Status
from engine.plan.workflow import load
from engine.render.summary import summary
from engine.running.result import FailedStep, RunResult
from tests.helpers.running import cli, run, write_spec

SPEC = """
name: sum
config: {work_dir: out}
steps:
  - name: fetch
    foreach: [a, b]
    run: "echo {{ item }} > {{ outputs.o }}"
    outputs: {o: "out/{{ item }}.txt"}
  - name: quant
    foreach: [a, b]
    run: "cat {{ inputs.i }} > {{ outputs.o }}"
    inputs: {i: "out/{{ item }}.txt"}
    outputs: {o: "out/{{ item }}.q"}
  - name: merge
    run: "cat {{ inputs.q }} > {{ outputs.o }}"
    inputs: {q: "{{ steps.quant.outputs.o }}"}
    outputs: {o: out/all.q}
"""

RUN = "20261205-101500-c0ffee"


def _log(folder: Path, name: str, *output: str, error: str = "command failed (exit status 1)"
         ) -> str:
    """A log as an attempt writes it: header, the step's own lines, the outcome line."""
    path = folder / ".mi/logs" / f"{name}.{RUN}.1.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([f"[mi-run] instance {name}, attempt 1 of 1",
                               f"[mi-run] run {RUN}, started 2026-12-05 10:15:00 +0000 on vm",
                               "[mi-run] $ some command", *output,
                               f"[mi-run] failed after 1.0 s: {error.splitlines()[0]}"]) + "\n")
    return str(path)


def _outcome(node: str, seconds: float, status: Status = Status.COMPLETED) -> Outcome:
    return Outcome(node, 1, status, 1000.0, 1000.0 + seconds, None, "")


def _result(failed: list[FailedStep], timings: dict[str, float], path: tuple[str, ...] = (),
            elapsed: float = 12.34) -> RunResult:
    statuses = {n: Status.COMPLETED for n in timings}
    statuses.update({f.id: Status.FAILED for f in failed})
    outcomes = {n: _outcome(n, s) for n, s in timings.items()}
    outcomes.update({f.id: _outcome(f.id, 0.5, Status.FAILED) for f in failed})
    return RunResult(RUN, "sum", statuses, tuple(failed), elapsed, outcomes, path)


def test_the_summary_shape(work: Path) -> None:
    write_spec(work, SPEC)
    workflow = load("wf.yaml")
    bad = FailedStep("quant[b]", "command failed (exit status 1)", None,
                     _log(work, "quant[b]", "reading out/b.txt", "oops: no reads"))
    tool = FailedStep("merge", "command failed with exit status 4: sh -c x\ntool-said",
                      f"see the full log: {work}/.mi/logs/merge.{RUN}.1.log",
                      _log(work, "merge", "$ sh -c x", "tool-said",
                           error="command failed with exit status 4: sh -c x"))
    result = _result([bad, tool], {"fetch[a]": 1.0, "fetch[b]": 2.0, "quant[a]": 4.0},
                     ("fetch[a]", "quant[a]"))
    text = summary(result, workflow, ["mi-run", "wf.yaml", "-k"])
    assert text == f"""\
mi-run: sum: 3 completed, 0 up to date, 2 failed in 12.3 s
critical path 5.0 s: fetch[a] 1.0 s → quant[a] 4.0 s
slowest steps: quant 4.5 s (×2, longest quant[a] 4.0 s), fetch 3.0 s (×2, longest fetch[b] 2.0 s), merge 0.5 s

FAILED quant[b]: command failed (exit status 1)
  log: .mi/logs/quant[b].{RUN}.1.log
  last lines of the log:
    reading out/b.txt
    oops: no reads

FAILED merge: command failed with exit status 4: sh -c x
  log: .mi/logs/merge.{RUN}.1.log
  last lines of the log:
    $ sh -c x
    tool-said

fix the problem, then resume with: mi-run wf.yaml -k
(steps that completed will not run again)
results are in: out"""
    quiet = summary(result, workflow, ["mi-run", "wf.yaml"], quiet=True).splitlines()
    assert quiet[0].startswith("mi-run: sum: 3 completed") and quiet[2] == "FAILED quant[b]: " \
        "command failed (exit status 1)"
    assert not any(line.startswith(("critical path", "slowest", "results")) for line in quiet)


def test_a_hint_and_an_error_the_log_does_not_hold_are_shown(work: Path) -> None:
    write_spec(work, SPEC)
    failed = FailedStep("merge", "sheet has no 'run' column\nrows read: 0",
                        "add a 'run' column", _log(work, "merge", "Traceback (most recent call "
                                                   "last):", '  File "x.py", line 1'))
    text = summary(_result([failed], {}), load("wf.yaml"), ["mi-run", "wf.yaml"])
    assert text.split("\n\n")[1] == f"""\
FAILED merge: sheet has no 'run' column
  rows read: 0
  hint: add a 'run' column
  log: .mi/logs/merge.{RUN}.1.log
  last lines of the log:
    Traceback (most recent call last):
      File "x.py", line 1"""


@pytest.mark.parametrize(("count", "listed", "more"), [(5, 0, None), (10, 7, None), (30, 20, 7)])
def test_many_failures_stay_short(work: Path, count: int, listed: int, more: int | None) -> None:
    write_spec(work, SPEC)
    failed = [FailedStep(f"fetch[{i}]", f"command failed (exit status {i})", None,
                         _log(work, f"fetch[{i}]", f"problem {i}")) for i in range(count)]
    text = summary(_result(failed, {}), load("wf.yaml"), ["mi-run", "wf.yaml", "-k"])
    full = count if count <= 5 else 3
    assert text.count("\nFAILED ") == full and text.count("last lines of the log:") == full
    lines = text.splitlines()
    if listed:
        start = lines.index(f"and {count - full} more failed instances:")
        assert lines[start + 1:start + 1 + listed] == [
            f"  fetch[{i}]: command failed (exit status {i}) (log: .mi/logs/fetch[{i}].{RUN}.1.log)"
            for i in range(full, full + listed)]
    assert (f"  ... and {more} more (mi-run status SPEC lists them)" in lines) is bool(more)
    assert len(lines) == 1 + full * 5 + (2 + listed if listed else 0) + bool(more) + 3


def test_ten_failures_with_keep_going(work: Path) -> None:
    write_spec(work, """
        name: ten
        steps:
          - name: per
            foreach: "{{ range(12) | list }}"
            run: "echo 'problem {{ item }}' >&2; test {{ item }} -lt 2; echo > {{ outputs.o }}"
            outputs: {o: "per/{{ item }}.txt"}
          - name: gather
            run: "cat {{ inputs.p }} > {{ outputs.o }}"
            inputs: {p: "{{ steps.per.outputs.o }}"}
            outputs: {o: all.txt}
    """)
    code, _, err = cli("wf.yaml", "-k", "-q", "--backend", "threads")
    assert code == 1
    text = err[err.index("mi-run: ten:"):]
    lines = text.splitlines()
    assert lines[0].startswith("mi-run: ten: 2 completed, 0 up to date, 10 failed, 1 not started")
    assert len(lines) == 1 + 3 * 5 + 2 + 7 + 3 and lines[17] == "and 7 more failed instances:"
    shown = [line.split()[1].rstrip(":") for line in lines if line.startswith("FAILED ")]
    listed = [line.split(":")[0].strip() for line in lines[18:25]]
    assert sorted(shown + listed) == sorted(f"per[{i}]" for i in range(2, 12))
    for line in lines:
        if line.startswith("    problem "):
            assert text.count(line) == 1  # each failure's stderr line once


def test_a_run_reports_its_critical_path_as_a_chain_of_instances_that_ran(work: Path) -> None:
    write_spec(work, SPEC)
    result = run()
    assert result.ok
    chain = result.critical_path
    assert chain[0].startswith("fetch[") and chain[1].startswith("quant[") and chain[2] == "merge"
    assert chain[0][5:] == chain[1][5:]  # fetch[x] -> quant[x]: an edge of the plan
    assert len(chain) == 3
    code, _, err = cli("wf.yaml", "--force-all", "--backend", "threads")
    assert code == 0
    assert "critical path " in err and "slowest steps: " in err
