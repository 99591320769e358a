"""The processes executor (default): attempts run in a pool of worker processes (joblib's loky).

``max_workers = slots``; each submitted attempt is one future running
:func:`engine.runner.execute` in a worker. Workers are reused, so per-step overhead is one
pickled instance + outcome through loky's queues plus the runner's bookkeeping.

Dead workers. If a worker dies (``os._exit``, segfault, kernel OOM killer), loky marks the whole
pool broken, fails every in-flight future and kills the other workers. Each attempt writes a
marker file while it runs (``worker_pid start process_group tmp_dir``, see
:func:`engine.runner.execute`); from the markers and the workers' exit codes this executor
decides which attempt killed its worker and reports a FAILED outcome for it ("worker process
died (SIGSEGV) ..."), kills orphaned shell process groups, starts a new pool and resubmits the
other attempts (same attempt number: they did nothing wrong). When the culprit cannot be told
apart (several workers ended by SIGKILL, e.g. the OOM killer with ``-j 2``), the suspects are
rerun one at a time, isolated, so the next death names exactly one. A pool that breaks three
times in a row without any attempt having started fails the remaining work instead of looping.

Hung Python steps. The runner enforces a Python step's ``timeout`` with SIGALRM; a step that
does not react (stuck in C code with signals blocked) has its worker killed ``kill_grace``
seconds after the timeout, and is reported as timed out.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool

from engine.envvars import RUN_TOKEN
from engine.executors.attemptlog import failed_attempt, host_name
from engine.executors.base import Executor, worker_module
from engine.executors.markers import MarkerInfo, read_marker
from engine.executors.shell import kill_group
from engine.executors.worker import execute
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Outcome, StepInstance

_MAX_FRUITLESS_BREAKS = 3
_SIGKILL_EXIT = -signal.SIGKILL


@dataclass(eq=False)
class _Task:
    instance: StepInstance
    attempt: int
    log_path: str
    marker: str
    isolated: bool = False  # suspected of killing its worker: run it alone
    killed_reason: str | None = None  # this executor killed the worker (hung past timeout)
    pool: Any = None
    check_at: float | None = None  # monotonic time of the next hung-step check


class LokyExecutor(Executor):
    name = "loky"

    def __init__(
        self,
        tmp_root: str | None = None,
        hash_limit: int | None = DEFAULT_HASH_LIMIT,
        kill_grace: float = 10.0,
        run_token: str | None = None,
        run_id: str | None = None,
    ):
        self._tmp_root = tmp_root
        self._run_id = run_id
        # In the workers' environment from their start (so /proc shows it, and their shell
        # steps inherit it): see engine.executors.orphans.
        self._worker_env = {RUN_TOKEN: run_token} if run_token else None
        self._hash_limit = hash_limit
        self._kill_grace = kill_grace
        self._slots = 1
        self._tmp = ""
        self._pool: Any = None
        self._inflight: dict[cf.Future[Outcome], _Task] = {}
        self._queue: deque[_Task] = deque()
        self._ready: list[Outcome] = []
        self._procs: dict[int, Any] = {}  # worker pid -> loky process (for exit codes)
        self._seq = 0
        self._fruitless_breaks = 0

    # -- interface -----------------------------------------------------------------------------

    def start(self, slots: int) -> None:
        """Create the pool and let its workers start (and import the runner) in the background.

        Spawning loky workers costs ~0.3 s (seconds on a loaded machine); doing it here
        overlaps it with whatever the loop does before its first submit.
        """
        self._slots = max(1, slots)
        self._tmp = tempfile.mkdtemp(prefix="mi-run-", dir=self._tmp_root)
        self._warm_up()

    def _warm_up(self) -> None:
        self._get_pool().submit(_warm)  # loky spawns all max_workers on the first submit

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        self._seq += 1
        marker = os.path.join(self._tmp, f"{self._seq}.run")
        self._queue.append(_Task(instance, attempt, log_path, marker))
        self._pump()

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self._pump()
            if self._ready:
                ready, self._ready = self._ready, []
                return ready
            if not self._inflight:
                return []
            now = time.monotonic()
            limits = [t - now for t in (end, self._next_check()) if t is not None]
            done, _ = cf.wait(
                list(self._inflight),
                timeout=max(0.0, min(limits)) if limits else None,
                return_when=cf.FIRST_COMPLETED,
            )
            self._collect(done)
            self._check_hung()
            if not self._ready and end is not None and time.monotonic() >= end:
                return []

    def running(self) -> int:
        return len(self._inflight) + len(self._queue) + len(self._ready)

    def cancel_all(self) -> None:
        # The workers die first: a worker that outlived its step's command would log the
        # command's death as the attempt's failure, where the run's interruption is the verdict.
        pool, self._pool = self._pool, None
        if pool is not None:
            for pid in list(getattr(pool, "_processes", {})):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for task in self._inflight.values():
            info = read_marker(task.marker)
            if info is not None:
                _kill_group(info)
        if pool is not None:
            pool.shutdown(wait=False, kill_workers=True)
        self._inflight.clear()
        self._queue.clear()
        self._ready.clear()

    def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = ""

    # -- submission ----------------------------------------------------------------------------

    def _pump(self) -> None:
        """Launch queued tasks; an isolated (suspect) task only runs alone."""
        while self._queue:
            head = self._queue[0]
            if any(t.isolated for t in self._inflight.values()):
                return
            if head.isolated and self._inflight:
                return
            self._queue.popleft()
            self._launch(head)

    def _launch(self, task: _Task) -> None:
        for _ in range(2):
            pool = self._get_pool()
            try:
                future = pool.submit(
                    execute,
                    task.instance,
                    task.attempt,
                    task.log_path,
                    self._tmp,
                    marker=task.marker,
                    step_module=worker_module(task.instance),
                    hash_limit=self._hash_limit,
                    run_id=self._run_id,
                )
                break
            except (BrokenProcessPool, RuntimeError):  # broke since the last wait(): replace it
                self._retire(pool)
        else:
            raise RuntimeError("could not start a worker pool")
        task.pool = pool
        task.check_at = None
        if task.instance.timeout and task.instance.command is None:
            task.check_at = time.monotonic() + task.instance.timeout + self._kill_grace
        self._inflight[future] = task
        self._procs.update(getattr(pool, "_processes", {}))

    def _get_pool(self) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._slots, env=self._worker_env)
        return self._pool

    def _retire(self, pool: Any) -> None:
        if pool is self._pool:
            self._pool = None
        try:
            pool.shutdown(wait=False, kill_workers=True)
        except Exception:
            pass

    # -- results and failures ------------------------------------------------------------------

    def _collect(self, done: set[cf.Future[Outcome]]) -> None:
        broken: list[_Task] = []
        error = ""
        for future in done:
            task = self._inflight.pop(future)
            exc = future.exception()
            if exc is None:
                self._ready.append(future.result())
                self._fruitless_breaks = 0
            elif isinstance(exc, BrokenProcessPool):
                broken.append(task)
                error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            else:  # e.g. an unpicklable result: still exactly one outcome per attempt
                self._ready.append(self._fail(task, None, f"executor error: {exc!r}"))
        if not broken:
            return
        # Every other future of the broken pool fails too (loky sets them all): gather them.
        pools = {id(t.pool) for t in broken}
        rest = {f: t for f, t in self._inflight.items() if id(t.pool) in pools}
        cf.wait(list(rest), timeout=10.0)
        for future, task in rest.items():
            del self._inflight[future]
            if future.done() and future.exception() is None:
                self._ready.append(future.result())
            else:
                broken.append(task)
        for task in broken:
            self._retire(task.pool)
        self._recover(broken, error)

    def _recover(self, broken: list[_Task], error: str) -> None:
        """Fail the attempt(s) that killed a worker; requeue the others (see module doc)."""
        started: list[tuple[_Task, MarkerInfo]] = []
        requeue: list[_Task] = []
        for task in broken:
            info = read_marker(task.marker)
            if info is None:
                requeue.append(task)  # never started (queued in the pool)
                continue
            _kill_group(info)
            shutil.rmtree(info.tmp_dir, ignore_errors=True)
            try:
                os.unlink(task.marker)
            except FileNotFoundError:
                pass
            started.append((task, info))
        if not started:
            self._fruitless_breaks += 1
            if self._fruitless_breaks >= _MAX_FRUITLESS_BREAKS:
                for task in requeue:
                    msg = f"the worker pool keeps dying before running anything: {error}"
                    self._ready.append(self._fail(task, None, msg))
                return
        codes = {id(t): self._exit_code(info.pid) for t, info in started}
        culprits = [(t, i) for t, i in started if t.killed_reason is not None]
        if not culprits:  # died on its own with an unusual code: crash, os._exit, ...
            culprits = [(t, i) for t, i in started if codes[id(t)] not in (None, _SIGKILL_EXIT)]
        if not culprits:  # exactly one worker is already dead (or only one was busy)
            dead = [(t, i) for t, i in started if codes[id(t)] is not None]
            if len(started) == 1:
                culprits = started
            elif len(dead) == 1:
                culprits = dead
        suspects_isolated = not culprits and len(started) > 1
        for task, info in started:
            if any(task is c for c, _ in culprits):
                reason = task.killed_reason or self._death_text(codes[id(task)], error)
                self._ready.append(self._fail(task, info, reason, hint=_death_hint(task)))
            else:
                task.isolated = suspects_isolated
                requeue.append(task)
        # Suspects and innocents first, in their original order, before newer submissions.
        for task in reversed(requeue):
            task.killed_reason = None
            self._queue.appendleft(task)

    def _exit_code(self, pid: int) -> int | None:
        process = self._procs.get(pid)
        if process is None:
            return _SIGKILL_EXIT  # unknown worker: treat like an unexplained kill
        for _ in range(20):  # give the kernel/loky a moment to reap it
            code = process.exitcode
            if code is not None:
                return int(code)
            time.sleep(0.005)
        return None

    @staticmethod
    def _death_text(code: int | None, error: str) -> str:
        if code is None:
            how = "unknown cause"
        elif code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit status {code}"
        return f"worker process died ({how}) while running this step"

    def _fail(self, task: _Task, info: MarkerInfo | None, error: str, **kw: Any) -> Outcome:
        now = time.time()
        return failed_attempt(task.instance, task.attempt, task.log_path, error,
                              started=info.started if info is not None else now, ended=now,
                              run_id=self._run_id, host=host_name(), **kw)

    # -- hung Python steps ---------------------------------------------------------------------

    def _next_check(self) -> float | None:
        times = [t.check_at for t in self._inflight.values() if t.check_at is not None]
        return min(times) if times else None

    def _check_hung(self) -> None:
        now = time.monotonic()
        for task in self._inflight.values():
            if task.check_at is None or task.check_at > now:
                continue
            timeout = task.instance.timeout or 0.0
            info = read_marker(task.marker)
            if info is None:  # not started yet (or just finished): look again later
                task.check_at = now + 0.5
                continue
            overdue = time.time() - (info.started + timeout + self._kill_grace)
            if overdue < 0:
                task.check_at = now - overdue
                continue
            task.check_at = None
            task.killed_reason = (
                f"timed out after {timeout:g} s (the step did not react to the timeout; its "
                f"worker process was killed {self._kill_grace:g} s later)"
            )
            _kill_group(info)
            try:
                os.kill(info.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _warm() -> None:
    """Runs once per worker at start: importing :mod:`engine.runner` is the point."""


def _kill_group(info: MarkerInfo) -> None:
    if info.pgid is not None:
        kill_group(info.pgid)


def _death_hint(task: _Task) -> str:
    if task.killed_reason is not None:
        return f"raise 'timeout:' for step '{task.instance.step}' if it needs longer"
    return (
        "the worker crashed (segfault) or was killed (the kernel's OOM killer sends SIGKILL:"
        f" check 'dmesg'); see the step log: {task.log_path}"
    )
