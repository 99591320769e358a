"""Fixtures for the execution-layer tests (plain helpers: tests/helpers/executors.py).

Worker processes (processes, loky) import the test steps by module name: the checkout is put
on PYTHONPATH and ``tests.helpers.exec_steps`` named in ``MI_STEP_MODULES`` before any pool
starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.executors import Executor
from tests.helpers.executors import started_executor, worker_env


@pytest.fixture(scope="module", autouse=True)
def _worker_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in worker_env().items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="class")
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    """The executor named by the test class's ``backend_name``, started once and shared by the
    class's tests (pool start-up is slow)."""
    name = request.cls.backend_name
    executor = started_executor(name, tmp_path_factory.mktemp(name))
    yield executor
    executor.cancel_all()
    executor.shutdown()
