"""The threads executor: attempts run in a thread pool inside the engine process.

Cheap to start and fine for shell steps (each still runs in its own process group, and shell
timeouts are enforced). Limits: Python steps share the engine's interpreter (the GIL), their
timeouts can only be *reported* after they return (a thread cannot be interrupted), and
``cancel_all`` kills shell process groups but cannot stop Python code already running (the
pool's threads are abandoned and finish in the background). Peak memory of Python steps is
process-wide.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import tempfile
import time

from engine.executors.attemptlog import failed_attempt
from engine.executors.base import Executor
from engine.executors.markers import read_marker
from engine.executors.shell import kill_group
from engine.executors.worker import execute
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Outcome, StepInstance


class ThreadExecutor(Executor):
    name = "threads"

    def __init__(self, tmp_root: str | None = None, hash_limit: int | None = DEFAULT_HASH_LIMIT,
                 run_token: str | None = None, run_id: str | None = None):
        self._tmp_root = tmp_root
        self._run_id = run_id
        self._hash_limit = hash_limit
        self._run_token = run_token
        self._slots = 1
        self._pool: cf.ThreadPoolExecutor | None = None
        self._inflight: dict[cf.Future[Outcome], tuple[StepInstance, int, str, str]] = {}
        self._tmp = ""
        self._seq = 0

    def start(self, slots: int) -> None:
        self._slots = max(1, slots)
        self._tmp = tempfile.mkdtemp(prefix="mi-run-", dir=self._tmp_root)

    def _get_pool(self) -> cf.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(self._slots, thread_name_prefix="mi-step")
        return self._pool

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        self._seq += 1
        marker = os.path.join(self._tmp, f"{self._seq}.run")
        future = self._get_pool().submit(
            execute, instance, attempt, log_path, self._tmp, marker=marker,
            hash_limit=self._hash_limit, run_token=self._run_token, run_id=self._run_id,
        )  # fmt: skip
        self._inflight[future] = (instance, attempt, log_path, marker)

    def wait(self, timeout: float | None) -> list[Outcome]:
        if not self._inflight:
            return []
        done, _ = cf.wait(list(self._inflight), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        outcomes: list[Outcome] = []
        for future in done:
            instance, attempt, log_path, _ = self._inflight.pop(future)
            try:
                outcomes.append(future.result())
            except Exception as exc:  # a bug in the runner itself: still one outcome per attempt
                now = time.time()
                outcomes.append(failed_attempt(instance, attempt, log_path,
                                               f"executor error: {exc!r}", started=now,
                                               ended=now, run_id=self._run_id))
        return outcomes

    def running(self) -> int:
        return len(self._inflight)

    def cancel_all(self) -> None:
        for _, _, _, marker in self._inflight.values():
            info = read_marker(marker)
            if info is not None and info.pgid is not None:
                kill_group(info.pgid)
        self._inflight.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = ""
