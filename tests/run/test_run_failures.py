"""Failures: stop or keep going, what the summary says, partial outputs, resume, retries,
timeouts."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psutil
import pytest

from engine.errors import SpecError
from engine.model import Status
from engine.running.state import StateStore
from tests.helpers.running import cli, completed, dry, logs_of, mi, ran, run, write_spec

# With -j 1, 'first' then 'bad' go before 'indep': they head the longest path.
SPEC = """
name: fails
steps:
  - name: indep
    run: "echo indep > {{ outputs.o }}; echo indep >> ran.log"
    outputs: {o: out/indep.txt}
  - name: first
    run: "echo first > {{ outputs.o }}; echo first >> ran.log"
    outputs: {o: out/first.txt}
  - name: bad
    run: |
      echo partial > {{ outputs.o }}; echo 'diagnostic line'
      echo 'the real problem is here' >&2; test -f fixed.flag; echo bad >> ran.log
    inputs: {f: "{{ steps.first.outputs.o }}"}
    outputs: {o: out/bad.txt}
  - name: child
    run: "cp {{ inputs.b }} {{ outputs.o }}; echo child >> ran.log"
    inputs: {b: "{{ steps.bad.outputs.o }}"}
    outputs: {o: out/child.txt}
  - name: grandchild
    run: "cp {{ inputs.c }} {{ outputs.o }}; echo grandchild >> ran.log"
    inputs: {c: "{{ steps.child.outputs.o }}"}
    outputs: {o: out/grandchild.txt}
"""


@pytest.fixture
def flow(work: Path) -> Path:
    write_spec(work, SPEC)
    return work


def test_failure_stops_the_run_and_explains(flow: Path) -> None:
    proc = mi(flow, "wf.yaml", "-j", "1")
    assert proc.returncode == 1, proc.stderr
    assert ran(flow) == ["first"]  # bad failed; neither its dependents nor indep started
    assert not (flow / "out/bad.txt").exists()  # its declared output was removed
    for name in ("child", "grandchild", "indep"):
        assert not (flow / f"out/{name}.txt").exists()
    err = proc.stderr
    assert "FAILED bad" in err
    assert "exit status 1" in err
    [log] = logs_of(Path("."), "bad")  # .mi/logs/bad/bad.RUN-ID.1.log
    assert f"log: {log}" in err
    assert (flow / log).is_file()
    assert "the real problem is here" in err.split("last lines of the log:")[1]
    assert "resume with: mi-run wf.yaml" in err
    assert "1 completed" in err and "1 failed" in err and "3 not started" in err


def test_keep_incomplete_keeps_the_partial_output(flow: Path) -> None:
    result = run(jobs=1, keep_incomplete=True)
    assert [f.id for f in result.failed] == ["bad"]
    assert (flow / "out/bad.txt").read_text() == "partial\n"


def test_keep_going_finishes_every_independent_branch(flow: Path) -> None:
    result = run(jobs=1, keep_going=True)
    assert not result.ok
    assert sorted(ran(flow)) == ["first", "indep"]
    assert result.statuses["bad"] is Status.FAILED
    assert result.statuses["child"] is Status.NOT_STARTED
    assert result.statuses["grandchild"] is Status.NOT_STARTED
    assert completed(result) == {"first", "indep"}
    assert (flow / "out/indep.txt").is_file()


def test_keep_going_exit_code_and_summary(flow: Path) -> None:
    code, _, err = cli("wf.yaml", "-j", "2", "--keep-going", "--backend", "threads")
    assert code == 1
    assert "2 completed" in err and "1 failed" in err and "2 not started" in err
    assert "FAILED bad" in err


def test_resume_after_fixing_runs_only_what_is_left(flow: Path) -> None:
    first = run(jobs=1)
    assert not first.ok
    assert ran(flow) == ["first"]
    (flow / "fixed.flag").write_text("")
    plan = dry()
    assert plan["first"] == ("skip", ["up to date"])
    assert plan["bad"][0] == "run"
    assert plan["bad"][1][0].startswith("failed last time: command failed (exit status 1)")
    assert plan["indep"] == ("run", ["never run"])
    result = run(jobs=1)
    assert result.ok
    assert sorted(ran(flow)) == ["bad", "child", "grandchild", "indep"]
    assert (flow / "out/grandchild.txt").read_text() == "partial\n"
    assert completed(run()) == set()


def test_a_failed_fanout_item_does_not_stop_its_siblings_with_keep_going(work: Path) -> None:
    write_spec(work, """
        name: items
        steps:
          - name: per
            foreach: [a, b, c, d]
            run: "test {{ item }} != c; echo {{ item }} > {{ outputs.o }}"
            outputs: {o: "per/{{ item }}.txt"}
          - name: gather
            run: "cat {{ inputs.parts }} > {{ outputs.o }}"
            inputs: {parts: "{{ steps.per.outputs.o }}"}
            outputs: {o: all.txt}
    """)
    result = run(keep_going=True)
    assert [f.id for f in result.failed] == ["per[c]"]
    assert completed(result) == {"per[a]", "per[b]", "per[d]"}
    assert result.statuses["gather"] is Status.NOT_STARTED


RETRY = """
name: retry
steps:
  - name: flaky
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
      if [ $n -lt 2 ]; then echo 'transient failure'; exit 1; fi; echo ok > {{ outputs.o }}
    outputs: {o: flaky.txt}
    retries: RETRIES
"""


def test_retry_succeeds_on_second_attempt(work: Path) -> None:
    write_spec(work, RETRY.replace("RETRIES", "1"))
    result = run()
    assert result.ok and completed(result) == {"flaky"}
    assert (work / "count").read_text() == "2\n"
    assert (work / "flaky.txt").read_text() == "ok\n"
    with StateStore(".mi") as store:
        record = store.records("retry")["flaky"]
    assert record.status == "completed" and record.attempts == 2
    first, second = logs_of(work, "flaky")  # one log per attempt
    assert record.log_path == str(second)
    assert first.name.endswith(".1.log") and second.name.endswith(".2.log")
    one, two = first.read_text().splitlines(), second.read_text().splitlines()
    assert one[0].endswith("attempt 1 of 2") and "transient failure" in one
    assert one[-1].startswith("[mi-run] failed after")
    assert two[0].endswith("attempt 2 of 2") and "transient failure" not in two
    assert two[-1].startswith("[mi-run] completed in")


def test_without_retries_the_first_failure_is_final(work: Path) -> None:
    write_spec(work, RETRY.replace("RETRIES", "0"))
    result = run()
    assert [f.id for f in result.failed] == ["flaky"]
    assert (work / "count").read_text() == "1\n"


def _sleepers(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if cmdline[:1] == ["sleep"] and tag in cmdline:
            found.append(proc)
    return found


def _timeout_spec(folder: Path) -> str:
    tag = f"1000.{uuid.uuid4().int % 10**6}"  # a unique argument to find our sleep by
    write_spec(folder, f"""
        name: slow
        steps:
          - name: hang
            run: "echo going; sleep {tag}; echo never > {{{{ outputs.o }}}}"
            outputs: {{o: hang.txt}}
            timeout: 1
          - name: after
            run: "cp {{{{ inputs.h }}}} {{{{ outputs.o }}}}"
            inputs: {{h: hang.txt}}
            outputs: {{o: after.txt}}
    """)
    return tag


def test_timeout_kills_the_step_and_its_children(work: Path) -> None:
    tag = _timeout_spec(work)
    clock = time.monotonic()
    result = run()
    took = time.monotonic() - clock
    assert [f.id for f in result.failed] == ["hang"]
    assert "timed out after 1 s" in result.failed[0].error
    assert result.statuses["after"] is Status.NOT_STARTED
    assert took < 30  # not the 1000 s of the sleep
    assert _sleepers(tag) == []


def test_timeout_with_processes_backend_as_a_process(work: Path) -> None:
    tag = _timeout_spec(work)
    proc = mi(work, "wf.yaml", "-j", "2", timeout=60)
    assert proc.returncode == 1
    assert "FAILED hang" in proc.stderr and "timed out" in proc.stderr
    assert _sleepers(tag) == []


def test_resource_bigger_than_the_limit_is_refused_before_running(work: Path) -> None:
    write_spec(work, """
        name: big
        steps:
          - name: huge
            run: "echo x > {{ outputs.o }}"
            outputs: {o: x.txt}
            resources: {mem_mb: 500}
    """)
    with pytest.raises(SpecError, match="needs mem_mb=500 but the run allows mem_mb=100"):
        run(resources=["mem_mb=100"])
    assert not (work / "x.txt").exists()


def test_resource_of_an_instance_expanded_mid_run_fails_that_instance(work: Path) -> None:
    """A fan-out over a table written during the run is expanded then: an instance that needs
    more than --resources allows fails with a hint, and the others run."""
    write_spec(work, """
        name: big
        steps:
          - name: sizes
            run: "printf 'id\\tmem\\na\\t50\\nb\\t500\\n' > {{ outputs.t }}"
            outputs: {t: sizes.tsv}
          - name: job
            foreach: {table: "{{ steps.sizes.outputs.t }}", key: id}
            run: "echo {{ item.id }} > {{ outputs.o }}"
            outputs: {o: "{{ item.id }}.txt"}
            resources: {mem_mb: "{{ item.mem }}"}
    """)
    result = run(resources=["mem_mb=100"], keep_going=True)
    assert [f.id for f in result.failed] == ["job[b]"]
    assert "mem_mb=500" in result.failed[0].error
    assert "--resources mem_mb=500" in (result.failed[0].hint or "")
    assert (work / "a.txt").exists() and not (work / "b.txt").exists()
