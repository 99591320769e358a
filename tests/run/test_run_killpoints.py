"""``kill -9`` of the engine: what it leaves running is stopped by the next run, on every local
backend, before that run looks at or writes anything; and, killed at any moment of a run with
a dynamic fan-out and a gather, the next run ends with exactly the right outputs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from engine.model import Status
from engine.running.state import read_records
from tests.helpers.executors import EXEC_STEPS
from tests.helpers.running import completed, dry, mi, mi_popen, run, wait_for, write_spec

# Hypothesis keeps caches in ./.hypothesis even without an example database: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mi-run-tests-hypothesis")

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


# kill points ------------------------------------------------------------------------------

SAMPLES = [f"s{i}" for i in range(10)]
KILLPOINTS = """
name: killpoints
steps:
  - name: sheet
    run: |
      printf 'sample\\n' > {{ outputs.table }}
      for s in SAMPLES; do sleep 0.004; echo $s >> {{ outputs.table }}; done
    outputs: {table: out/sheet.tsv}
  - name: part
    foreach: {table: "{{ steps.sheet.outputs.table }}", column: sample}
    run: |
      echo "{{ item }} 1" > {{ outputs.o }}
      for i in 2 3 4; do sleep 0.01; echo "{{ item }} $i" >> {{ outputs.o }}; done
    outputs: {o: "out/part/{{ item }}.txt"}
  - name: gather
    run: |
      for f in {{ inputs.parts }}; do cat $f; sleep 0.004; done > {{ outputs.o }}
    inputs: {parts: "{{ steps.part.outputs.o }}"}
    outputs: {o: out/all.txt}
""".replace("SAMPLES", " ".join(SAMPLES))
PARTS = {s: "".join(f"{s} {i}\n" for i in (1, 2, 3, 4)) for s in SAMPLES}
EXPECTED = {"out/sheet.tsv": "sample\n" + "".join(f"{s}\n" for s in SAMPLES),
            "out/all.txt": "".join(PARTS.values()),
            **{f"out/part/{s}.txt": text for s, text in PARTS.items()}}


@pytest.mark.slow
@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(delay=st.floats(min_value=0.0, max_value=0.8),
       backend=st.sampled_from(["processes", "threads"]))
def test_kill_9_at_any_moment_then_rerun_gives_exact_outputs(tmp_path: Path, delay: float,
                                                             backend: str) -> None:
    """Partial files exist at most kill points (the sheet, each part and the gather write in
    chunks); whatever was cut short reruns, what completed is kept, and nothing the killed
    engine left running writes on (the rerun is in this process, to keep the test quick)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    write_spec(folder, KILLPOINTS)
    engine = mi_popen(folder, "wf.yaml", "-j", "2", "--backend", backend)
    time.sleep(delay)
    left = _alive(psutil.Process(engine.pid).children(recursive=True))
    _kill_9(engine)
    # What the killed run recorded as completed is whole (a step is recorded once it ended)...
    records = read_records(str(folder / ".mi"), "killpoints")
    kept = {n for n, r in records.items() if r.status is Status.COMPLETED}
    for node in kept:
        assert all((folder / p).read_text() == EXPECTED[p] for p in records[node].outputs), node
    with _inside(folder):
        result = run(backend="processes", jobs=2)
        assert result.ok, result.failed
        assert completed(result).isdisjoint(kept)  # ...and is not redone; the rest is
        assert _wait_dead(left) == []
        found = {path: (folder / path).read_text() for path in EXPECTED}
        assert found == EXPECTED
        after = dry()
        assert len(after) == 12 and all(d == ("skip", ["up to date"]) for d in after.values())


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
