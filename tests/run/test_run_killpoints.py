"""``kill -9`` of the engine: what it leaves running is stopped by the next run, on every local
backend, before that run looks at or writes anything."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers.executors import EXEC_STEPS
from tests.helpers.running import mi, mi_popen, wait_for, write_spec

ORPHANS = """
name: orphans
config: {nap: 600}
steps:
  - name: shell
    foreach: [a, b]
    run: |
      echo $$ > {{ item }}.pid; echo "{{ item }} 1" > {{ outputs.o }}
      if [ ! -f fast.flag ]; then sleep {{ nap }}; fi; echo "{{ item }} 2" >> {{ outputs.o }}
    outputs: {o: "out/{{ item }}.txt"}
"""
PYTHON_STEP = """
  - name: python
    uses: testexec.sleep
    params: {seconds: "{{ nap }}"}
"""


def _kill_9(engine: subprocess.Popen[str]) -> None:
    """SIGKILL the engine; its leftovers may hold its stdout and stderr open: don't read them."""
    engine.kill()
    engine.wait(timeout=30)
    for stream in (engine.stdout, engine.stderr):
        if stream is not None:
            stream.close()


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in processes:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _wait_dead(processes: list[psutil.Process], limit: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + limit
    while (alive := _alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "loky", "threads", "serial"])
def test_kill_9_leftovers_are_stopped_by_the_next_run(work: Path, backend: str) -> None:
    """Shell steps (own sessions) and loky workers with their Python steps outlive a
    SIGKILLed engine; the next run stops every one of them before it runs anything."""
    python = backend in ("processes", "loky")  # the backends with worker processes
    write_spec(work, ORPHANS + (PYTHON_STEP if python else ""))
    steps = {"MI_STEP_MODULES": EXEC_STEPS}
    engine = mi_popen(work, "wf.yaml", "-j", "3", "--backend", backend, extra_env=steps)
    try:
        wait_for(work / "a.pid", engine)
        if backend != "serial":
            wait_for(work / "b.pid", engine)
        time.sleep(0.5)  # the Python step reaches its worker
        left = psutil.Process(engine.pid).children(recursive=True)
    finally:
        _kill_9(engine)
    try:
        assert _alive(left) != []  # what kill -9 leaves behind
        (work / "fast.flag").write_text("")
        resume = mi(work, "wf.yaml", "-j", "3", "--backend", backend, "--set", "nap=0",
                    extra_env=steps)
        assert resume.returncode == 0, resume.stderr
        assert "still running from an interrupted run" in resume.stderr
        assert "shell[a]" in resume.stderr or backend != "processes"  # named by its pid line
        assert _wait_dead(left) == []
        assert (work / "out/a.txt").read_text() == "a 1\na 2\n"
    finally:
        for proc in _alive(left):
            proc.kill()


def test_a_leftover_step_not_yet_noted_by_pid_is_stopped_too(work: Path) -> None:
    """The engine is killed between spawning a step and noting its pid: the run's token in the
    step's environment still finds it. A process of another run's token is left alone."""
    write_spec(work, "name: late\nsteps:\n  - name: a\n    run: 'echo fresh > {{ outputs.o }}'\n"
                     "    outputs: {o: out/a.txt}\n")
    (work / "out").mkdir()
    (work / ".mi/running").mkdir(parents=True)
    (work / ".mi/running/4194304.pids").write_text("token t0k3n\n")  # its engine is gone
    loop = "while true; do echo late >> out/a.txt; sleep 0.02; done"
    orphan = subprocess.Popen(["bash", "-c", loop], cwd=work, start_new_session=True,
                              env=dict(os.environ, MI_RUN_TOKEN="t0k3n"))
    other = subprocess.Popen(["sleep", "600"], start_new_session=True,
                             env=dict(os.environ, MI_RUN_TOKEN="another-run"))
    try:
        wait_for(work / "out/a.txt", orphan)
        proc = mi(work, "wf.yaml")
        assert proc.returncode == 0, proc.stderr
        assert f"stopped process {orphan.pid} (bash)" in proc.stderr
        assert orphan.wait(timeout=10) == -signal.SIGTERM
        assert other.poll() is None
        time.sleep(0.1)
        assert (work / "out/a.txt").read_text() == "fresh\n"
        assert list((work / ".mi/running").iterdir()) == []
    finally:
        for leftover in (orphan, other):
            if leftover.poll() is None:
                leftover.kill()
                leftover.wait()
