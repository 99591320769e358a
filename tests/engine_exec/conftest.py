"""Shared helpers for the execution-layer tests.

Worker processes (processes executor) import the test steps by module name: this directory is
put on PYTHONPATH and ``steps_fixture`` named in ``MI_STEP_MODULES`` before any pool starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import steps_fixture  # noqa: F401  (registers the testexec.* steps in this process)

from engine.executors import Executor, Outcome, make_executor
from engine.model import StepInstance

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BACKENDS = ("processes", "loky", "threads", "serial")


@pytest.fixture(scope="module", autouse=True)
def _worker_env() -> Iterator[None]:
    path = os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", path.rstrip(os.pathsep))
        patch.setenv("MI_STEP_MODULES", "steps_fixture")
        yield


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
    options: dict[str, Any] = {"tmp_root": str(tmp_path)}
    if name in ("processes", "loky"):
        options["kill_grace"] = 0.5
    executor = make_executor(name, **options)
    executor.start(slots)
    return executor


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    """One started executor per backend, shared by a module's tests (pool start-up is slow)."""
    executor = started_executor(request.param, tmp_path_factory.mktemp(request.param))
    yield executor
    executor.cancel_all()
    executor.shutdown()


def run_all(
    executor: Executor, instances: Iterable[StepInstance], logs: Path, limit: float = 60.0
) -> dict[str, Outcome]:
    """Submit everything, collect one outcome per instance; fail (never hang) after ``limit``."""
    wanted = list(instances)
    for inst in wanted:
        executor.submit(inst, 1, str(logs / f"{inst.id}.log"))
    outcomes: dict[str, Outcome] = {}
    deadline = time.monotonic() + limit
    while len(outcomes) < len(wanted):
        assert time.monotonic() < deadline, f"executor hung; got {sorted(outcomes)}"
        for outcome in executor.wait(1.0):
            assert outcome.instance_id not in outcomes, "two outcomes for one attempt"
            outcomes[outcome.instance_id] = outcome
    assert executor.running() == 0
    return outcomes


def _outcome_for_child(iid: str) -> Outcome:
    """A COMPLETED outcome (used by a child process in the kill -9 durability test)."""
    from engine.model import Status

    return Outcome(iid, 1, Status.COMPLETED, 1.0, 2.0, None, f"/logs/{iid}.log")
