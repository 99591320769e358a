"""The executor contract (tests/helpers/contract.py) run against ``--backend dask`` on a real LocalCluster.

Two worker processes of one thread each, talking TCP on 127.0.0.1. One cluster serves the whole
module (starting one takes ~3 s); ``cancel_all`` and worker deaths must leave it usable, which
the tests below check as they go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from engine.executors import Executor
from engine.model import Status
from tests.helpers.contract import ExecutorContract
from tests.helpers.executors import (
    group_alive,
    local_dask,
    make_instance,
    run_all,
    wait_file,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask_executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    with local_dask(tmp_path_factory.mktemp("dask-tmp"), kill_grace=0.3) as executor:
        yield executor


class TestDaskContract(ExecutorContract):
    """Every contract test, with ``backend`` = the shared dask executor."""

    backend_name = "dask"

    @pytest.fixture
    def backend(self, dask_executor: Executor) -> Iterator[Executor]:
        assert dask_executor.running() == 0
        _both_workers(dask_executor)
        yield dask_executor
        dask_executor.cancel_all()  # leave the shared cluster idle for the next test


class TestDaskOnly:
    @pytest.fixture(autouse=True)
    def _both_up(self, dask_executor: Executor) -> None:
        _both_workers(dask_executor)  # a worker killed by the previous test is back

    def test_workers_are_separate_processes_on_loopback(
        self, dask_executor: Executor, tmp_path: Path
    ) -> None:
        client = dask_executor.client
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
        steps = [make_instance(tmp_path, f"w{i}", uses="testexec.write",
                               outputs={"out": f"w{i}.txt"}) for i in range(4)]  # fmt: skip
        got = run_all(dask_executor, steps, tmp_path / "logs")
        pids = {o.output["pid"] for o in got.values()}
        assert os.getpid() not in pids and 1 <= len(pids) <= 2

    @pytest.mark.parametrize("uses", ["testexec.exit", "testexec.segfault"])
    def test_dead_worker_fails_its_step_not_the_run(
        self, dask_executor: Executor, tmp_path: Path, uses: str
    ) -> None:
        logs = tmp_path / "logs"
        crash = make_instance(tmp_path, "crash", uses=uses)
        innocent = make_instance(tmp_path, "innocent", command="sleep 0.5; echo ok > inn.txt",
                                 outputs={"o": "inn.txt"})  # fmt: skip
        got = run_all(dask_executor, [innocent, crash], logs)
        assert got["crash"].status is Status.FAILED
        assert got["crash"].error is not None and "worker died" in got["crash"].error
        lines = Path(got["crash"].log_path).read_text().splitlines()  # made up by the executor
        assert lines[0] == "[mi-run] instance crash, attempt 1 of 1"
        failed = [line for line in lines if line.startswith("[mi-run] failed after ")]
        assert len(failed) == 1 and "worker died" in failed[0]
        assert got["innocent"].status is Status.COMPLETED, got["innocent"].error
        nxt = make_instance(tmp_path, "next", uses="testexec.write", outputs={"out": "n.txt"})
        assert run_all(dask_executor, [nxt], logs)["next"].status is Status.COMPLETED

    def test_orphaned_shell_group_of_a_dead_worker_is_killed(
        self, dask_executor: Executor, tmp_path: Path
    ) -> None:
        """SIGKILL the worker under a shell step: its outcome is FAILED, its group dies."""
        import signal

        inst = make_instance(tmp_path, "orphan", command="echo $$ > g.pid; sleep 1000")
        dask_executor.submit(inst, 1, str(tmp_path / "orphan.log"))
        pgid = int(wait_file(tmp_path / "g.pid"))
        worker_pid = os.getpgid(pgid) and _parent_worker(pgid)
        os.kill(worker_pid, signal.SIGKILL)
        got = []
        for _ in range(60):
            got += dask_executor.wait(1.0)
            if got:
                break
        assert [o.instance_id for o in got] == ["orphan"]
        assert got[0].status is Status.FAILED and "worker died" in (got[0].error or "")
        deadline = time.monotonic() + 30  # reaped once a worker runs on the node again
        while group_alive(pgid) and time.monotonic() < deadline:
            assert dask_executor.wait(0.2) == []
        assert group_alive(pgid) == []

    def test_workers_that_cannot_import_a_step_library_are_refused(
        self, dask_executor: Executor, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from engine import registry
        from engine.errors import UsageError

        info = registry.StepInfo(name="labx.align", function=print, params_schema={},
                                 description="", version="1", module="labx_private_steps")
        monkeypatch.setitem(registry.REGISTRY._steps, "labx.align", info)
        assert len(dask_executor.client.scheduler_info()["workers"]) == 2
        with pytest.raises(UsageError) as error:
            dask_executor.check_workers()
        text = str(error.value)
        assert text.count("cannot import labx_private_steps: ModuleNotFoundError") == 2
        assert "tcp://127.0.0.1:" in text and "labx_private_steps" in text
        assert error.value.hint is not None and "PYTHONPATH" in error.value.hint
        monkeypatch.delitem(registry.REGISTRY._steps, "labx.align")
        dask_executor.check_workers()

    def test_resource_larger_than_any_worker_fails_at_once(self, tmp_path: Path) -> None:
        from engine.executors.dask import DaskExecutor

        ex = DaskExecutor()
        ex._conn.limits = {"slots": 4.0, "mem_mb": 8000.0}
        inst = make_instance(tmp_path, "big", command="true", threads=16,
                             resources={"mem_mb": 64000, "gpu": 1})  # fmt: skip
        _, refusal = ex._resources_for(inst)
        assert refusal is not None and "mem_mb=64000" in refusal[0] and "8000" in refusal[0]
        small = make_instance(tmp_path, "s", command="true", threads=16, resources={"gpu": 1})
        assert ex._resources_for(small) == ({"slots": 4.0}, None)  # capped; gpu not advertised


def _both_workers(executor: Executor) -> None:
    executor.client.wait_for_workers(2, timeout=60)


def _parent_worker(pgid: int) -> int:
    """PID of the Dask worker process that started the shell step (bash's parent)."""
    import psutil

    parent = psutil.Process(pgid).parent()
    assert parent is not None
    return parent.pid
