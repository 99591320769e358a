"""Interrupting the engine (SIGINT, kill -9), resuming, and the state-dir lock. These run
``python -m engine.cli`` as a real process with the default (processes) backend."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.errors import Interrupted
from engine.executors.threads import ThreadExecutor
from engine.running.reporter import Reporter
from engine.running.state import StateStore
from tests.helpers.running import (
    dry,
    logs_of,
    mi,
    mi_popen,
    run,
    still_there,
    wait_for,
    write_spec,
)

SPEC = """
name: sig
steps:
  - name: quick
    run: "echo q > {{ outputs.o }}"
    outputs: {o: out/quick.txt}
  - name: slow
    run: |
      echo started > slow.started; if [ ! -f fast.flag ]; then sleep TAG; fi
      cat {{ inputs.q }} > {{ outputs.o }}; echo done >> {{ outputs.o }}
    inputs: {q: "{{ steps.quick.outputs.o }}"}
    outputs: {o: out/slow.txt}
  - name: last
    run: "cat {{ inputs.s }} > {{ outputs.o }}"
    inputs: {s: "{{ steps.slow.outputs.o }}"}
    outputs: {o: out/last.txt}
"""


def sleepers(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if cmdline[:1] == ["sleep"] and tag in cmdline:
            found.append(proc)
    return found


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def flow(work: Path):
    tag = f"900.{uuid.uuid4().int % 10**6}"
    write_spec(work, SPEC.replace("TAG", tag))
    yield work, tag
    for proc in sleepers(tag):  # whatever a failed test left behind
        proc.kill()


def resume_and_check(folder: Path) -> None:
    (folder / "fast.flag").write_text("")
    plan = dry()
    assert plan["quick"] == ("skip", ["up to date"])
    assert plan["slow"] == ("run", ["incomplete (interrupted)"])
    proc = mi(folder, "wf.yaml", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "out/last.txt").read_text() == "q\ndone\n"
    assert mi(folder, "wf.yaml").returncode == 0
    assert dry() == {n: ("skip", ["up to date"]) for n in ("quick", "slow", "last")}


@pytest.mark.slow
def test_sigint_stops_cleanly_and_resume_completes(flow: tuple[Path, str]) -> None:
    folder, tag = flow
    engine = mi_popen(folder, "wf.yaml", "-j", "2")
    try:
        wait_for(folder / "slow.started", engine)
        time.sleep(0.3)
        # a second run on the same state dir is refused while this one holds the lock
        second = mi(folder, "wf.yaml")
        assert second.returncode == 2
        assert "locked" in second.stderr and f"pid {engine.pid}" in second.stderr
        engine.send_signal(signal.SIGINT)
        _, err = engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert still_there(lambda: sleepers(tag)) == []
    assert not (folder / "out/slow.txt").exists()
    [log] = logs_of(folder, "slow")  # header, what it said, and that it was stopped
    lines = log.read_text().splitlines()
    assert lines[0] == "[mi-run] instance slow, attempt 1 of 1"
    assert lines[-1] == "[mi-run] interrupted: the run was stopped (Ctrl-C, SIGTERM or SIGHUP)"
    resume_and_check(folder)


def kill_9(folder: Path) -> list[psutil.Process]:
    """Start a run, SIGKILL the engine while 'slow' runs; returns the engine's children."""
    engine = mi_popen(folder, "wf.yaml", "-j", "2")
    wait_for(folder / "slow.started", engine)
    time.sleep(1.0)  # let the loop commit the 'running' mark (batched every 0.2 s)
    children = psutil.Process(engine.pid).children(recursive=True)
    engine.kill()
    engine.wait(timeout=30)
    engine.stdout.close()  # type: ignore[union-attr]
    engine.stderr.close()  # type: ignore[union-attr]
    return children


def stop(processes: list[psutil.Process]) -> None:
    for proc in processes:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                proc.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.slow
def test_kill_9_then_resume_reruns_the_interrupted_instance(flow: tuple[Path, str]) -> None:
    folder, tag = flow
    orphans = kill_9(folder)
    # a SIGKILLed engine cleans up nothing: its loky workers and the step's process group
    # (own session) live on; stop them so the resume is checked on its own
    stop(orphans + sleepers(tag))
    assert not (folder / "out/last.txt").exists()
    resume_and_check(folder)


@pytest.mark.slow
def test_resume_after_kill_9_stops_the_orphaned_step(flow: tuple[Path, str]) -> None:
    folder, tag = flow
    orphans = kill_9(folder)
    try:
        assert sleepers(tag) != []  # the orphan is there before the resume
        (folder / "fast.flag").write_text("")
        assert mi(folder, "wf.yaml", "-j", "2").returncode == 0
        assert still_there(lambda: sleepers(tag)) == []
    finally:
        stop(orphans)


def test_lock_refuses_a_second_run_and_names_the_holder(work: Path) -> None:
    write_spec(work, SPEC.replace("TAG", "1"))
    with StateStore(".mi") as store, store.lock():
        proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    assert "locked by another mi-run" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert not (work / "out").exists()
    assert mi(work, "wf.yaml", "--state-dir", "other").returncode == 0  # another dir is free
    assert (work / "other/state.db").is_file()


TWO_SLOW = """
name: two
steps:
  - name: slow
    foreach: [a, b]
    run: "echo begin {{ item }} > {{ item }}.started; echo begin {{ item }}; sleep TAG"
    outputs: {o: "out/{{ item }}.txt"}
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["threads", "serial", "processes", "loky", "dask"])
def test_an_interrupted_attempt_log_ends_with_one_verdict(work: Path, backend: str) -> None:
    tag = f"900.{uuid.uuid4().int % 10**6}"
    write_spec(work, TWO_SLOW.replace("TAG", tag))
    engine = mi_popen(work, "wf.yaml", "-j", "2", "--backend", backend)
    try:
        wait_for(work / "a.started", engine)
        if backend != "serial":  # both run at once (a busy machine may start b later)
            wait_for(work / "b.started", engine)
        time.sleep(0.5)  # serial: time in which b must not start; others: both sleeping
        engine.send_signal(signal.SIGTERM)
        engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
        stop(sleepers(tag))
    assert engine.returncode == 130
    started = [item for item in "ab" if (work / f"{item}.started").exists()]
    assert started == (["a"] if backend == "serial" else ["a", "b"])
    for item in "ab":
        logs = logs_of(work, "slow", item)
        if item not in started:  # queued, never started: no log made up for it
            assert logs == []
            continue
        [log] = logs
        verdicts = [line for line in log.read_text().splitlines()
                    if line.startswith(("[mi-run] interrupted", "[mi-run] failed", "[mi-run] completed"))]
        both = "\n".join(p.read_text() for i in "ab" for p in logs_of(work, "slow", i))
        assert verdicts == ["[mi-run] interrupted: the run was stopped (Ctrl-C, SIGTERM or SIGHUP)"], both


class _InterruptWhenStarted(Reporter):
    """Stops the run (as Ctrl-C would) once both steps have started."""

    def __init__(self, folder: Path):
        super().__init__(quiet=True)
        self._folder = folder

    def progress(self, *args: Any, **kwargs: Any) -> None:
        if all((self._folder / f"{item}.started").exists() for item in "ab"):
            raise KeyboardInterrupt


def test_a_command_killed_by_the_interruption_is_not_logged_as_failed(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The threads backend's worker threads see their commands die when the run kills them;
    here each is made to write its verdict before the engine ends the logs (the order that
    the timing of a real run only sometimes gives). The interruption is still the verdict."""
    cancel_all = ThreadExecutor.cancel_all

    def cancel_then_let_workers_finish(self: ThreadExecutor) -> None:
        futures = list(self._inflight)
        cancel_all(self)
        cf.wait(futures, timeout=30)  # every worker has written what it saw

    monkeypatch.setattr(ThreadExecutor, "cancel_all", cancel_then_let_workers_finish)
    tag = f"900.{uuid.uuid4().int % 10**6}"
    write_spec(work, TWO_SLOW.replace("TAG", tag))
    try:
        with pytest.raises(Interrupted):
            run(reporter=_InterruptWhenStarted(work))
    finally:
        stop(sleepers(tag))
    for item in "ab":
        [log] = logs_of(work, "slow", item)
        verdicts = [line for line in log.read_text().splitlines()
                    if line.startswith(("[mi-run] interrupted", "[mi-run] failed",
                                        "[mi-run] completed"))]
        assert verdicts == ["[mi-run] interrupted: the run was stopped (Ctrl-C, SIGTERM or SIGHUP)"]
