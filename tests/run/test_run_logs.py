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


RETRIED = """
name: retried
steps:
  - name: flaky
    foreach: [a, b]
    run: |
      n=$(cat count.{{ item }} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count.{{ item }}
      echo "try $n"; if [ $n -lt 2 ]; then exit 1; fi; echo ok > {{ outputs.o }}
    outputs: {o: "flaky/{{ item }}.txt"}
    retries: 1
  - name: later
    inputs: {f: "{{ steps.flaky.outputs.o }}"}
    run: "cat {{ inputs.f }} > {{ outputs.o }}"
    outputs: {o: later.txt}
"""


@pytest.fixture
def retried(work: Path) -> Path:
    write_spec(work, RETRIED)
    return work


def test_log_prints_the_latest_attempt_or_the_one_asked_for(retried: Path) -> None:
    assert run(until=["flaky"]).ok
    code, out, err = cli("log", "wf.yaml", "flaky[a]")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "[mi-run] instance flaky[a], attempt 2 of 2"
    assert "try 2" in lines and lines[-1].startswith("[mi-run] completed in ")
    code, out, _ = cli("log", "wf.yaml", "flaky[a]", "--attempt", "1")
    assert code == 0 and out.splitlines()[0].endswith("attempt 1 of 2") and "try 1" in out
    code, out, _ = cli("log", "wf.yaml", "flaky[a]", "--all")
    first, second = logs_of(retried, "flaky", "a")
    assert code == 0
    assert out == (f"==> {first.relative_to(retried)} <==\n{first.read_text()}\n"
                   f"==> {second.relative_to(retried)} <==\n{second.read_text()}")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["flaky[c]"], 2, "unknown instance 'flaky[c]' in workflow 'retried'\n  hint: did you mean "
                      "'flaky[b]' or 'flaky[a]'?"),
    (["laetr"], 2, "unknown instance 'laetr' in workflow 'retried'\n  hint: did you mean 'later'?"),
    (["flaky"], 2, "'flaky' is a step with 2 instances: name one\n  hint: for example: "
                   "flaky[a], flaky[b]"),
    (["later"], 1, "mi-run: later has not run yet: no log"),
    (["flaky[a]", "--attempt", "3"], 2, "flaky[a] has no attempt 3 in its latest run"),
    (["flaky[a]", "--attempt", "1", "--all"], 2, "--attempt and --all cannot be used together"),
])
def test_log_refuses_what_it_cannot_show(retried: Path, args: list[str], code: int,
                                         message: str) -> None:
    assert run(until=["flaky"]).ok
    got, out, err = cli("log", "wf.yaml", *args)
    assert (got, out) == (code, "")
    assert message in err


def test_log_of_a_removed_log_file_says_so(retried: Path) -> None:
    assert run(until=["flaky"]).ok
    for log in logs_of(retried, "flaky", "b"):
        log.unlink()
    code, _, err = cli("log", "wf.yaml", "flaky[b]")
    assert code == 1 and "no longer exists" in err


def test_status_logs_adds_each_instance_latest_log(retried: Path) -> None:
    assert run(until=["flaky"]).ok
    code, out, _ = cli("status", "wf.yaml", "--logs")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["instance", "last", "run", "duration", "log", "state"]
    by_id = {row.split()[0]: row for row in rows}
    latest = logs_of(retried, "flaky", "a")[-1].relative_to(retried)
    assert f"  {latest}  up to date" in by_id["flaky[a]"]
    assert by_id["later"].split()[1:3] == ["-", "-"] and " - " in by_id["later"]
    code, plain, _ = cli("status", "wf.yaml")
    assert "log" not in plain.splitlines()[0] and str(latest) not in plain


FANNED = """
name: fanned
config: {items: [a, b, c]}
steps:
  - name: bad
    foreach: "{{ items }}"
    run: "echo {{ item }} >&2; exit 2"
"""


def test_clean_logs_keeps_each_current_instance_latest_run_only(work: Path) -> None:
    write_spec(work, FANNED)
    for _ in range(2):
        assert cli("wf.yaml", "-q", "-k")[0] == 1
    (work / "other.yaml").write_text(FAILS)  # another workflow, same state dir, same step name
    assert cli("other.yaml", "-q")[0] == 1
    folder = work / ".mi/logs/bad"
    other_log = logs_of(work, "bad")
    assert len(other_log) == 1 and len(list(folder.iterdir())) == 7
    code, _, err = cli("clean", "wf.yaml", "--logs", "--set", "items=[a, b]")
    assert code == 0, err
    assert re.search(r"removed 4 log\(s\) \(\d+\.\d MB\)", err)  # c: both runs; a, b: the 1st
    latest = _run_ids()[1]  # the second run of 'fanned'
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([f"a.{latest}.1.log", f"b.{latest}.1.log", other_log[0].name])
    code, out, _ = cli("log", "wf.yaml", "bad[a]")
    assert code == 0 and "a\n" in out  # what `mi-run log` shows is still there
