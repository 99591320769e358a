"""The mechanisms that keep the dask backend's per-step overhead down (bench/dask.md).

No timings are asserted: each test checks that a mechanism is in place and that outcomes stay
the same with and without it. One LocalCluster (2 workers x 1 thread) serves the module.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from engine.executors.attemptlog import attempt_mark
from engine.executors.dask import DaskExecutor
from engine.model import Status
from tests.helpers.executors import local_dask, make_instance, run_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskExecutor]:
    with local_dask(tmp_path_factory.mktemp("dask-tmp")) as made:
        assert isinstance(made, DaskExecutor)
        yield made


def _shell_steps(work: Path, count: int) -> list[Any]:
    return [make_instance(work, f"touch[{i}]", command=f"echo {i} > out{i}.txt",
                          outputs={"o": f"out{i}.txt"}) for i in range(count)]


def _spy_fallback(executor: DaskExecutor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keys whose outcome came from the task's result (or error), not from an event."""
    used: list[str] = []
    original = executor._from_future

    def spy(future: Any, task: Any) -> Any:
        used.append(future.key)
        return original(future, task)

    monkeypatch.setattr(executor, "_from_future", spy)
    return used


def _check_completed(outcomes: dict[str, Any], work: Path, logs: Path) -> None:
    for iid, outcome in outcomes.items():
        assert outcome.status is Status.COMPLETED, outcome.error
        assert outcome.log_path == str(logs / f"{iid}.log")
        number = iid.split("[")[1].rstrip("]")
        assert (work / f"out{number}.txt").read_text() == f"{number}\n"
        log = Path(outcome.log_path).read_text()
        assert log.count(attempt_mark(iid, 1)) == 1
        assert log.splitlines()[-1].startswith("[mi-run] completed")  # one verdict, last


def test_outcomes_arrive_as_worker_events(
    executor: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert executor._events, "the scheduler's event store could not be bounded"
    fallback = _spy_fallback(executor, monkeypatch)
    logs = tmp_path / "logs"
    outcomes = run_all(executor, _shell_steps(tmp_path, 6), logs)
    _check_completed(outcomes, tmp_path, logs)
    assert fallback == []  # every outcome came with its event, ahead of its future


def test_without_events_the_task_result_is_used(
    executor: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _spy_fallback(executor, monkeypatch)
    monkeypatch.setattr(executor, "_events", False)  # work() then publishes nothing
    logs = tmp_path / "logs"
    outcomes = run_all(executor, _shell_steps(tmp_path, 3), logs)
    _check_completed(outcomes, tmp_path, logs)
    assert len(fallback) == 3


def test_the_scheduler_keeps_only_the_last_outcome_event(executor: DaskExecutor) -> None:
    def maxlen(topic: str, dask_scheduler: Any = None) -> int | None:
        return dask_scheduler._broker._topics[topic].events.maxlen  # type: ignore[no-any-return]

    assert executor.client.run_on_scheduler(maxlen, executor._topic) == 1


def test_finished_tasks_are_released(executor: DaskExecutor, tmp_path: Path) -> None:
    steps = _shell_steps(tmp_path, 4)
    run_all(executor, steps, tmp_path / "logs")
    deadline = time.monotonic() + 30.0  # a bound against hanging, not a timing check
    while _held(executor) and time.monotonic() < deadline:
        executor.wait(0.0)  # each call releases the futures that finished meanwhile
        time.sleep(0.05)
    assert _held(executor) == []


def _held(executor: DaskExecutor) -> list[str]:
    return [str(key) for key in executor.client.futures if str(key).startswith("mi-")]


def test_workers_run_without_the_profiler_and_with_a_slow_tick(executor: DaskExecutor) -> None:
    def settings() -> tuple[Any, Any]:
        import dask

        return (dask.config.get("distributed.worker.profile.enabled"),
                dask.config.get("distributed.admin.tick.interval"))

    answers = executor.client.run(settings)
    assert len(answers) == 2
    assert set(answers.values()) == {(False, "1s")}
