"""Step logs (issue #12): one file per instance attempt, never appended across runs, a header,
the step's own output, one outcome line; the last few runs' logs kept per instance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.running.logfiles import KEEP_RUNS
from engine.running.state import StateStore
from tests.helpers.running import cli, logs_of, mi, run, write_spec

FAILS = """
name: oops
steps:
  - name: bad
    run: "echo oops >&2; exit 2"
"""


def _run_ids() -> list[str]:
    with StateStore(".mi") as store:
        return [r.run_id for r in reversed(store.runs())]


@pytest.mark.parametrize("backend", ["processes", "loky", "threads", "serial"])
def test_two_runs_give_two_logs_each_saying_the_failure_once(work: Path, backend: str) -> None:
    write_spec(work, FAILS)
    for _ in range(2):
        code, _, _ = cli("wf.yaml", "--backend", backend, "-q")
        assert code == 1
    first, second = logs_of(work, "bad")
    for log, run_id in zip((first, second), _run_ids(), strict=True):
        assert log.name == f"bad.{run_id}.1.log"
        lines = log.read_text().splitlines()
        assert lines[0] == "[mi-run] instance bad, attempt 1 of 1"
        assert lines[1].startswith(f"[mi-run] run {run_id}, started ")
        assert lines[2:4] == ["[mi-run] $ echo oops >&2; exit 2", "oops"]
        assert re.fullmatch(r"\[mi-run\] failed after \d+\.\d s: command failed \(exit status 2\)",
                            lines[4])
        assert len(lines) == 5


def test_old_runs_logs_are_removed_beyond_the_last_few(work: Path) -> None:
    write_spec(work, FAILS)
    older = work / ".mi/logs/bad/bad.log"  # an older version's appended log: left alone
    older.parent.mkdir(parents=True)
    older.write_text("from before\n")
    for _ in range(KEEP_RUNS + 2):
        assert not run().ok
    kept = logs_of(work, "bad")
    assert [p.name for p in kept] == [f"bad.{r}.1.log" for r in _run_ids()[-KEEP_RUNS:]]
    assert older.read_text() == "from before\n"


def test_a_completed_python_step_log(work: Path) -> None:
    write_spec(work, """
        name: py
        steps:
          - name: join
            foreach: [x, y]
            uses: core.concat
            inputs: {parts: ["{{ item }}.txt"]}
            outputs: {out: "out/{{ item }}.txt"}
    """)
    for name in ("x", "y"):
        (work / f"{name}.txt").write_text(f"{name}\n")
    proc = mi(work, "wf.yaml", "-q")
    assert proc.returncode == 0, proc.stderr
    [log] = logs_of(work, "join", "x")
    lines = log.read_text().splitlines()
    assert lines[0] == "[mi-run] instance join[x], attempt 1 of 1"
    assert lines[2] == "[mi-run] uses core.concat"
    assert lines[3].startswith("[mi-run] params {") and lines[-1].startswith("[mi-run] completed")
