"""Plain helpers for the execution-layer tests (tests/engine_exec, tests/dask).

Importing this module registers the ``testexec.*`` steps (tests.helpers.exec_steps) in this
process. Worker processes import them by module name: a fixture puts the checkout (``ROOT``)
on PYTHONPATH and names ``EXEC_STEPS`` in ``MI_STEP_MODULES`` before any pool starts; see
``worker_env``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.executors import Executor, Outcome, make_executor
from engine.model import Status, StepInstance
from tests.helpers import exec_steps  # noqa: F401  (registers the testexec.* steps here)

ROOT = Path(__file__).resolve().parents[2]
EXEC_STEPS = "tests.helpers.exec_steps"
RUN_ID = "20261205-101500-c0ffee"  # the run id the test executors write in log headers


def worker_env() -> dict[str, str]:
    """The variables spawned workers must inherit to import the ``testexec.*`` steps."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path.rstrip(os.pathsep), "MI_STEP_MODULES": EXEC_STEPS}


def make_instance(work_dir: Path, iid: str, **fields: Any) -> StepInstance:
    base: dict[str, Any] = {
        "id": iid,
        "step": iid.split("[")[0],
        "uses": None,
        "command": None,
        "params": {},
        "inputs": {},
        "outputs": {},
        "work_dir": str(work_dir),
    }
    base.update(fields)
    return StepInstance(**base)


def started_executor(name: str, tmp_path: Path, slots: int = 2) -> Executor:
    options: dict[str, Any] = {"tmp_root": str(tmp_path), "run_id": RUN_ID}
    if name in ("processes", "loky"):
        options["kill_grace"] = 0.5
    executor = make_executor(name, **options)
    executor.start(slots)
    return executor


@contextlib.contextmanager
def local_dask(tmp_root: Path, **config: Any) -> Iterator[Executor]:
    """A started dask executor on its own LocalCluster (2 workers), for a test module to
    share; the spawned workers inherit :func:`worker_env`. Stopped on exit."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in worker_env().items():
            mp.setenv(name, value)
        executor = make_executor("dask", tmp_root=str(tmp_root), run_id=RUN_ID,
                                 **({"config": config} if config else {}))
        executor.start(2)
        try:
            yield executor
        finally:
            executor.cancel_all()
            executor.shutdown()


def run_all(
    executor: Executor, instances: Iterable[StepInstance], logs: Path, limit: float = 60.0,
    attempt: int = 1,
) -> dict[str, Outcome]:
    """Submit everything, collect one outcome per instance; fail (never hang) after ``limit``."""
    wanted = list(instances)
    for inst in wanted:
        executor.submit(inst, attempt, str(logs / f"{inst.id}.log"))
    outcomes: dict[str, Outcome] = {}
    deadline = time.monotonic() + limit
    while len(outcomes) < len(wanted):
        assert time.monotonic() < deadline, f"executor hung; got {sorted(outcomes)}"
        for outcome in executor.wait(1.0):
            assert outcome.instance_id not in outcomes, "two outcomes for one attempt"
            outcomes[outcome.instance_id] = outcome
    assert executor.running() == 0
    return outcomes


def outcome_for_child(iid: str) -> Outcome:
    """A COMPLETED outcome (used by a child process in the kill -9 durability test)."""
    return Outcome(iid, 1, Status.COMPLETED, 1.0, 2.0, None, f"/logs/{iid}.log")


def group_alive(pgid: int) -> list[psutil.Process]:
    """The live (non-zombie) processes of process group ``pgid``."""
    alive = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return alive


def wait_gone(pgid: int, limit: float = 5.0) -> list[psutil.Process]:
    deadline = time.monotonic() + limit
    while (alive := group_alive(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def wait_file(path: Path, limit: float = 20.0) -> str:
    deadline = time.monotonic() + limit
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return path.read_text().strip()


def signals_of(mask: str) -> set[int]:
    """The signal numbers set in a ``/proc/PID/status`` mask such as ``0000000000001000``."""
    bits = int(mask, 16)
    return {n for n in range(1, 65) if bits & (1 << (n - 1))}
