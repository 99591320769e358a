"""The serial executor: runs one attempt at a time in the calling thread, inside ``wait()``.

For debugging (``pdb`` breakpoints and tracebacks in the engine process) and for environments
where extra processes are unwelcome. Python-step timeouts are enforced with SIGALRM when
``wait()`` is called from the main thread.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque

from engine.executors.base import Executor
from engine.executors.worker import execute
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Outcome, StepInstance


class SerialExecutor(Executor):
    name = "serial"

    def __init__(self, tmp_root: str | None = None, hash_limit: int | None = DEFAULT_HASH_LIMIT,
                 run_token: str | None = None, run_id: str | None = None):
        self._tmp_root = tmp_root
        self._run_id = run_id
        self._hash_limit = hash_limit
        self._run_token = run_token
        self._queue: deque[tuple[StepInstance, int, str]] = deque()
        self._tmp = ""

    def start(self, slots: int) -> None:
        self._tmp = tempfile.mkdtemp(prefix="mi-run-", dir=self._tmp_root)

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        self._queue.append((instance, attempt, log_path))

    def wait(self, timeout: float | None) -> list[Outcome]:
        """Runs the oldest submitted attempt to completion (``timeout`` cannot cut it short)."""
        if not self._queue:
            return []
        instance, attempt, log_path = self._queue.popleft()
        return [execute(instance, attempt, log_path, self._tmp, hash_limit=self._hash_limit,
                        run_token=self._run_token, run_id=self._run_id)]

    def running(self) -> int:
        return len(self._queue)

    def cancel_all(self) -> None:
        # Nothing runs between calls; a step interrupted inside wait() has its group killed by
        # the runner before KeyboardInterrupt propagates.
        self._queue.clear()

    def shutdown(self) -> None:
        self._queue.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = ""
