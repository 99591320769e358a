"""What every executor backend implements, and the :class:`Outcome` it reports per attempt.

The scheduling loop decides *what* to start (dependencies, ``-j`` slots, threads, resources);
an executor just runs whatever it is given, concurrently, and reports outcomes::

    ex = make_executor("processes")
    ex.start(slots=2)
    ex.submit(instance, attempt=1, log_path="...")      # never blocks
    for outcome in ex.wait(timeout=0.5): ...           # finished since the last call
    ex.shutdown()

Executors see only resolved, picklable :class:`StepInstance` values and report
:class:`engine.model.Outcome` values; they never read the plan, the state store or the CLI.
A new backend (e.g. Dask) subclasses :class:`Executor` and adds its name to
:func:`engine.executors.make_executor`; the loop and the contract tests
(``tests/engine_exec``) need no change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine.model import Outcome, StepInstance


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


def worker_module(instance: StepInstance) -> str | None:
    """The module that registered ``instance.uses`` in this process, for a worker process to
    import by name (None for shell steps and steps defined in ``__main__``)."""
    if instance.uses is None:
        return None
    from engine.registry import module_of  # Python steps only: shell-only runs never load it

    return module_of(instance.uses)
