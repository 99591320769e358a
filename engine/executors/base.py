"""What every executor backend implements, and the :class:`Outcome` it reports per attempt.

The scheduling loop decides *what* to start (dependencies, ``-j`` slots, threads, resources);
an executor just runs whatever it is given, concurrently, and reports outcomes::

    ex = make_executor("processes")
    ex.start(slots=2)
    ex.submit(instance, attempt=1, log_path="...")      # never blocks
    for outcome in ex.wait(timeout=0.5): ...           # finished since the last call
    ex.shutdown()

A new backend (e.g. Dask) subclasses :class:`Executor` and adds its name to
:func:`engine.executors.make_executor`; the loop and the contract tests
(``tests/engine_exec``) need no change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.fingerprint import Fingerprint
from engine.model import Status, StepInstance


@dataclass(frozen=True)
class Outcome:
    """What happened to one attempt of one instance (picklable; produced in the worker).

    ``status`` is COMPLETED, FAILED or SKIPPED. ``error``/``hint`` explain a failure in one or a
    few lines (the traceback, if any, is in ``log_path``). ``started``/``ended`` are epoch
    seconds. ``output``, ``warnings`` and ``metadata`` come from the step's result dict;
    ``metadata`` always has ``execution_time`` (s) and ``peak_mem_mb``. ``output_fps`` holds the
    fingerprints of the declared outputs of a completed step, computed in the worker so content
    hashing runs in parallel (empty when not completed).
    """

    instance_id: str
    attempt: int
    status: Status
    started: float
    ended: float
    peak_mem_mb: float | None
    log_path: str
    error: str | None = None
    hint: str | None = None
    output: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    output_fps: Mapping[str, Fingerprint] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.ended - self.started


class Executor(ABC):
    """A backend that runs :class:`StepInstance` attempts concurrently."""

    name: str = "abstract"

    @abstractmethod
    def start(self, slots: int) -> None:
        """Prepare to run up to ``slots`` instances at once (``-j``)."""

    @abstractmethod
    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        """Start ``instance`` (non-blocking); its :class:`Outcome` comes from :meth:`wait`."""

    @abstractmethod
    def wait(self, timeout: float | None) -> list[Outcome]:
        """Outcomes finished since the last call; blocks until at least one is ready or
        ``timeout`` seconds passed (then ``[]``). Returns ``[]`` at once when nothing runs."""

    @abstractmethod
    def running(self) -> int:
        """Submitted attempts whose outcome has not been returned by :meth:`wait` yet."""

    @abstractmethod
    def cancel_all(self) -> None:
        """Interrupt: kill all running work (process groups included); outcomes are dropped."""

    @abstractmethod
    def shutdown(self) -> None:
        """Release workers and temporary files (after the last :meth:`wait`)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def failed_outcome(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    error: str,
    *,
    started: float,
    ended: float,
    hint: str | None = None,
) -> Outcome:
    """A FAILED outcome produced outside the worker (dead worker, timeout kill, ...)."""
    return Outcome(
        instance_id=instance.id,
        attempt=attempt,
        status=Status.FAILED,
        started=started,
        ended=ended,
        peak_mem_mb=None,
        log_path=log_path,
        error=error,
        hint=hint,
        metadata={"execution_time": ended - started, "peak_mem_mb": None},
    )
