"""The executor contract (tests/helpers/contract.py) on each local backend, and what only the
processes backend must survive.

A new backend adds one ``ExecutorContract`` subclass naming it in ``backend_name``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.executors import Executor
from engine.model import Status
from tests.helpers.contract import ExecutorContract
from tests.helpers.executors import make_instance, run_all, started_executor


class TestProcessesContract(ExecutorContract):
    backend_name = "processes"


class TestLokyContract(ExecutorContract):
    backend_name = "loky"


class TestThreadsContract(ExecutorContract):
    backend_name = "threads"


class TestSerialContract(ExecutorContract):
    backend_name = "serial"


@pytest.fixture(scope="module")
def procs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    executor = started_executor("processes", tmp_path_factory.mktemp("procs"))
    yield executor
    executor.shutdown()


class TestProcessesOnly:
    """Crashes that would take the engine down with threads/serial must not hang or stop runs."""

    @pytest.mark.parametrize(
        ("uses", "how"), [("testexec.exit", "exit status 3"), ("testexec.segfault", "SIGSEGV")]
    )
    def test_dead_worker_fails_only_its_step(self, procs: Executor, tmp_path: Path, uses: str,
                                             how: str) -> None:  # fmt: skip
        logs = tmp_path / "logs"
        crash = make_instance(tmp_path, "crash", uses=uses)
        innocent = make_instance(tmp_path, "innocent", command="sleep 0.5; echo ok > inn.txt",
                                 outputs={"o": "inn.txt"})  # fmt: skip
        got = run_all(procs, [innocent, crash], logs)
        assert got["crash"].status is Status.FAILED
        assert got["crash"].error is not None and "worker process died" in got["crash"].error
        assert how in got["crash"].error
        lines = Path(got["crash"].log_path).read_text().splitlines()  # made up by the executor
        assert lines[0] == "[mi-run] instance crash, attempt 1 of 1"
        failed = [line for line in lines if line.startswith("[mi-run] failed after ")]
        assert len(failed) == 1 and how in failed[0]
        assert got["innocent"].status is Status.COMPLETED, got["innocent"].error
        nxt = make_instance(tmp_path, "next", uses="testexec.write", outputs={"out": "n.txt"})
        assert run_all(procs, [nxt], logs)["next"].status is Status.COMPLETED

    def test_sigkilled_worker_is_attributed_to_its_step(self, procs: Executor, tmp_path: Path) -> None:
        """SIGKILL (OOM killer) looks like loky killing the other workers: suspects rerun alone."""
        oom = make_instance(tmp_path, "oom", uses="testexec.sigkill")
        other = make_instance(
            tmp_path, "other", command="sleep 0.6; echo ok > other.txt", outputs={"o": "other.txt"}
        )
        got = run_all(procs, [other, oom], tmp_path / "logs")
        assert got["oom"].status is Status.FAILED
        assert got["oom"].error is not None and "SIGKILL" in got["oom"].error
        assert got["other"].status is Status.COMPLETED, got["other"].error

    @pytest.mark.slow
    def test_hung_python_step_worker_is_killed(self, procs: Executor, tmp_path: Path) -> None:
        hung = make_instance(tmp_path, "hung", uses="testexec.hang", timeout=0.3)
        out = run_all(procs, [hung], tmp_path / "logs")["hung"]
        assert out.status is Status.FAILED
        assert out.error is not None and "timed out after 0.3 s" in out.error
        assert "worker process was killed" in out.error
        nxt = make_instance(tmp_path, "next", command="echo ok")
        assert run_all(procs, [nxt], tmp_path / "logs")["next"].status is Status.COMPLETED
