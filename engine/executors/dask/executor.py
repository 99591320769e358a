"""The Dask backend's executor: submits attempts as Dask tasks and reports their outcomes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import queue
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.executors.attemptlog import attempt_mark, failed_attempt, interrupting
from engine.executors.base import Executor, worker_module
from engine.executors.dask.cluster import Connection, check_settings, require
from engine.executors.dask.remote import (
    TIMEOUT_NOTE,
    close_topic,
    kill_groups,
    open_topic,
    reap_orphans,
    work,
)
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Outcome, StepInstance
from engine.version import __version__

_REAP_WINDOW = 10.0  # seconds during which a node that lost a worker is checked for orphans


@dataclass(eq=False)
class _Task:
    instance: StepInstance
    attempt: int
    log_path: str
    key: str  # the Dask task key
    submitted: float = field(default_factory=time.time)
    requeued: int = 0  # times resubmitted because its worker died before it started


class DaskExecutor(Executor):
    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        cluster: str | None = None,
        config: Mapping[str, Any] | None = None,
        tmp_root: str | None = None,
        hash_limit: int | None = DEFAULT_HASH_LIMIT,
        kill_grace: float | None = None,
        run_id: str | None = None,
    ):
        require("distributed")
        self._run_id = run_id
        settings = check_settings(scheduler, cluster, config)
        self._tmp_root = settings.get("tmp_dir", tmp_root)
        self._hash_limit = hash_limit
        self._kill_grace = float(settings.get("kill_grace", kill_grace or 1.0))
        self._conn = Connection(scheduler, cluster, settings,
                                int(settings.get("allowed_failures", 0)))
        self._token = uuid.uuid4().hex[:12]
        self._inflight: dict[str, tuple[Any, _Task]] = {}  # dask key -> (future, task)
        self._completed: Any = None  # distributed.as_completed, made in start()
        self._ready: list[Outcome] = []
        self._reap_hosts: dict[str, float] = {}  # node where a worker died -> reap until
        self._seq = 0
        self._topic = f"mi-run-outcomes-{self._token}"
        self._events = False  # outcomes come as worker events (else: as task results)
        self._finished: list[Any] = []  # futures done with, released by the next wait()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (None before :meth:`start` and after :meth:`shutdown`)."""
        return self._conn.client

    def check_workers(self) -> None:
        """Refuse workers that run another engine version or miss a step module in use."""
        self._conn.check_workers()

    def start(self, slots: int) -> None:
        from distributed import as_completed

        try:
            self._conn.open(max(1, slots))
            # Finished futures, and (as tuples) outcome events, arrive on this one queue in
            # the order the scheduler sent them: an attempt's event comes before its future.
            self._completed = as_completed([], loop=self._conn.client.loop, with_results=False,
                                           raise_errors=False)
            self._subscribe()
        except BaseException:
            self.shutdown()
            raise

    def _subscribe(self) -> None:
        """Receive outcomes as worker events (see :func:`remote.publish`), if the scheduler
        can be told to keep only the last one."""
        client = self._conn.client
        if not client.run_on_scheduler(open_topic, self._topic):
            return
        events = self._completed.queue
        client.subscribe_topic(self._topic, lambda event: events.put(tuple(event[1])))
        self._events = True

    # -- submit / wait -------------------------------------------------------------------------

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        self._seq += 1
        task = _Task(instance, attempt, log_path, f"mi-{self._token}-{self._seq}-{instance.id}")
        self._launch(task)

    def _launch(self, task: _Task) -> None:
        instance, attempt, log_path = task.instance, task.attempt, task.log_path
        resources, refusal = self._resources_for(instance)
        if refusal is not None:
            self._ready.append(self._fail(task, refusal[0], refusal[1]))
            return
        if not self._conn.running():
            self._ready.append(self._fail(task, self._lost_text(), self._lost_hint()))
            return
        future = self._conn.client.submit(
            work, instance, attempt, os.path.abspath(log_path), self._token, self._tmp_root,
            task.key, worker_module(instance), self._hash_limit, self._kill_grace, __version__,
            self._run_id, self._topic if self._events else None,
            key=task.key, pure=False, retries=0, resources=resources or None,
        )  # fmt: skip
        self._inflight[task.key] = (future, task)
        self._completed.add(future)

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        self._collect(self._drain([]))  # futures done after their events were handled
        self._release_finished()
        self._reap()
        while not self._ready and self._inflight:
            left = None if end is None else max(0.0, end - time.monotonic())
            if self._reap_hosts:
                left = 0.5 if left is None else min(left, 0.5)
            try:
                done = [self._completed.queue.get(timeout=left)]
            except queue.Empty:
                self._reap()
                if end is None or time.monotonic() < end:
                    continue
                break
            self._collect(self._drain(done))  # with everything else that finished meanwhile
        ready, self._ready = self._ready, []
        return ready

    def running(self) -> int:
        return len(self._inflight) + len(self._ready)

    def _drain(self, done: list[Any]) -> list[Any]:
        while self._completed is not None:
            try:
                done.append(self._completed.queue.get_nowait())
            except queue.Empty:
                break
        return done

    def _collect(self, done: list[Any]) -> None:
        """Outcome events ``(key, pickled outcome)`` and finished futures from the queue."""
        for item in done:
            if isinstance(item, tuple):
                key, blob = item
                entry = self._inflight.pop(key, None)
                if entry is not None:  # else: cancelled, or its future was handled first
                    self._ready.append(_as_given(pickle.loads(blob), entry[1]))
                continue
            entry = self._inflight.pop(item.key, None)
            if entry is not None:
                outcome = self._from_future(item, entry[1])
                if outcome is not None:
                    self._ready.append(outcome)
            self._finished.append(item)

    def _from_future(self, future: Any, task: _Task) -> Outcome | None:
        """The outcome of a future that finished with no event seen: its result (fetched from
        the worker), or what its error means."""
        if future.status == "finished":
            try:
                result = future.result(timeout=30)
            except Exception:
                result = None
            if isinstance(result, Outcome):
                return _as_given(result, task)
        return self._failure(future, task)

    def _release_finished(self) -> None:
        """Let Dask forget finished tasks. Done here, after the loop submitted what their
        outcomes made ready: a release sent just before a submit would hold the submit back
        for the client's batching window."""
        finished, self._finished = self._finished, []
        for future in finished:
            future.release()

    def _failure(self, future: Any, task: _Task) -> Outcome | None:
        """The FAILED outcome of an errored or cancelled future (never a step failure), or None
        when the attempt was resubmitted because its worker died before starting it."""
        from distributed import KilledWorker

        if future.status == "cancelled" or not self._conn.running():
            return self._fail(task, self._lost_text(), self._lost_hint())
        try:
            exc = future.exception(timeout=5)
        except Exception as err:  # cancelled between the callback and now
            exc = err
        if isinstance(exc, KilledWorker):
            worker = getattr(exc.last_worker, "address", "?")
            self._reap_hosts[_host(worker)] = time.monotonic() + _REAP_WINDOW
            self._reap()
            if task.requeued < 3 and not _log_has(task.log_path,
                                                  attempt_mark(task.instance.id, task.attempt)):
                task.requeued += 1  # it never started (nothing ran): not the step's fault
                self._seq += 1
                task.key = f"mi-{self._token}-{self._seq}-{task.instance.id}"
                self._launch(task)
                return None
            if task.instance.timeout and _log_has(task.log_path, TIMEOUT_NOTE):
                return self._fail(
                    task, f"timed out after {task.instance.timeout:g} s (Python steps cannot be "
                    f"interrupted in a Dask worker thread: its worker {worker} was killed)",
                    f"raise 'timeout:' for step '{task.instance.step}' if it needs longer",
                )  # fmt: skip
            return self._fail(
                task, f"worker died: the Dask worker {worker} running this step was lost "
                "(killed, out of memory, crashed, or its node went away)",
                "the kernel's OOM killer or the batch system may have killed it (check the "
                "worker's log and 'dmesg'); 'retries:' reruns such steps",
            )  # fmt: skip
        if isinstance(exc, (ImportError, AttributeError)):
            return self._fail(task, f"a Dask worker could not load the engine: {exc!r}",
                              "workers need the project on PYTHONPATH; see docs/cluster.md")
        return self._fail(task, f"executor error: {exc!r}")

    # -- cancel / shutdown -----------------------------------------------------------------------

    def cancel_all(self) -> None:
        entries = list(self._inflight.values())
        self._inflight.clear()
        self._ready.clear()
        client = self._conn.client
        if not entries or not self._conn.running():
            return
        # First every worker stops writing verdicts into the interrupted attempts' logs (the
        # engine writes the interruption's), and only then are the commands killed: a node's
        # workers share its markers, so one worker's kill_groups kills the others' steps too,
        # and a worker that saw its command die first would log it as a failure.
        logs = [os.path.abspath(t.log_path) for _, t in entries]
        with contextlib.suppress(Exception):
            client.run(interrupting, logs, on_error="ignore", callback_timeout=10)
        with contextlib.suppress(Exception):  # shell steps: kill their process groups
            client.run(kill_groups, self._token, self._tmp_root, True, on_error="ignore",
                       callback_timeout=10)
        with contextlib.suppress(Exception):
            client.cancel([f for f, _ in entries], force=True)
        python_running = any(t.instance.command is None for _, t in entries)
        if python_running and self._conn.cluster is not None:
            # A worker thread cannot be interrupted: restart our own workers (a shared
            # scheduler's workers are left alone; their Python steps run to the end).
            with contextlib.suppress(Exception):
                client.restart(timeout=30, wait_for_workers=False)

    def shutdown(self) -> None:
        self._inflight.clear()
        self._finished.clear()
        if self._conn.running() and self._events:
            with contextlib.suppress(Exception):  # a shared scheduler keeps no empty topic
                self._conn.client.unsubscribe_topic(self._topic)
                self._conn.client.run_on_scheduler(close_topic, self._topic)
        if self._conn.running():
            # Every attempt has ended, so a marker left is an orphan of a dead worker: kill
            # its group; remove this run's node-local directories.
            with contextlib.suppress(Exception):
                self._conn.client.run(kill_groups, self._token, self._tmp_root, True,
                                      on_error="ignore", callback_timeout=10)
        self._conn.close()

    # -- helpers -----------------------------------------------------------------------------

    def _resources_for(
        self, instance: StepInstance
    ) -> tuple[dict[str, float], tuple[str, str] | None]:
        wanted: dict[str, float] = {}
        if "slots" in self._conn.limits:
            wanted["slots"] = min(float(max(instance.threads, 1)), self._conn.limits["slots"])
        for name, amount in instance.resources.items():
            if name == "slots" or name not in self._conn.limits:
                continue
            if amount > self._conn.limits[name]:
                return {}, (f"needs {name}={amount} but the largest Dask worker offers "
                            f"{self._conn.limits[name]:g}",
                            f"start workers with more {name} (--resources {name}=N) or lower "
                            "the step's resources")
            wanted[name] = float(amount)
        return wanted, None

    def _reap(self) -> None:
        """After a worker death: kill the process groups whose worker process is gone, on every
        node that lost a worker, as soon as a worker runs there again (the dead one's nanny
        restarts it): a shell step outlives its worker otherwise."""
        if not self._reap_hosts or not self._conn.running():
            return
        try:
            workers = self._conn.client.scheduler_info().get("workers", {})
            targets = [w for w in workers if _host(w) in self._reap_hosts]
            if targets:
                answers = self._conn.client.run(reap_orphans, self._token, self._tmp_root,
                                           workers=targets, on_error="return",
                                           callback_timeout=10)
                now = time.monotonic()
                for worker, answer in answers.items():
                    host = _host(worker)
                    # Found the orphan (or gave it time to turn into a zombie): done there.
                    if not isinstance(answer, BaseException) and (
                        answer or now > self._reap_hosts.get(host, 0.0)
                    ):
                        self._reap_hosts.pop(host, None)
        except Exception:
            pass  # tried again on the next wait()

    def _lost_text(self) -> str:
        return f"lost the connection to the Dask scheduler at {self._conn.address or '?'}"

    def _lost_hint(self) -> str:
        return ("the scheduler process stopped or the network failed; the step may still have "
                "run: run the same command again to resume")

    def _fail(self, task: _Task, error: str, hint: str | None = None) -> Outcome:
        return failed_attempt(task.instance, task.attempt, task.log_path, error,
                              started=task.submitted, ended=time.time(), hint=hint,
                              run_id=self._run_id)


def _as_given(outcome: Outcome, task: _Task) -> Outcome:
    """The worker got an absolute log path (its cwd differs); report the one the loop gave."""
    if outcome.log_path == task.log_path:
        return outcome
    return dataclasses.replace(outcome, log_path=task.log_path)


def _host(address: str) -> str:
    """``tcp://10.0.0.5:4001`` -> ``10.0.0.5``."""
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def _log_has(path: str, text: str) -> bool:
    """Whether ``text`` was written to the attempt's log ``path``."""
    try:
        with open(path, "rb") as handle:
            return text.encode() in handle.read()
    except OSError:
        return False
