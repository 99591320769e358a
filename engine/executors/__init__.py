"""Executor backends: where step instances run. See :mod:`engine.executors.base`.

``processes`` (default) spawns shell steps straight from the engine (:mod:`.spawn`) and runs
Python steps in a pool of worker processes; ``loky`` runs every attempt in that pool;
``threads`` in a thread pool of the engine process; ``serial`` one at a time in the calling
thread (for debugging: breakpoints and tracebacks work); ``dask`` on a Dask cluster. Every
backend runs shell commands as :mod:`.shell` says. Backends are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.executors.base import Executor
    from engine.model import Outcome
else:

    def __getattr__(name: str) -> Any:
        # The command line needs only EXECUTORS to parse --backend; the base class (and the
        # registry it imports) is loaded when an executor is made, not on every start-up.
        if name == "Executor":
            from engine.executors.base import Executor

            return Executor
        if name == "Outcome":
            from engine.model import Outcome

            return Outcome
        raise AttributeError(f"module 'engine.executors' has no attribute {name!r}")

EXECUTORS = ("processes", "loky", "threads", "serial", "dask")

__all__ = ["EXECUTORS", "Executor", "Outcome", "make_executor"]


def make_executor(name: str, **options: Any) -> Executor:
    """A new, not yet started executor ``name``.

    ``options`` (all backends): ``tmp_root`` -- directory for per-attempt tmp dirs and markers
    (default: the system temp dir), ``hash_limit`` -- see :mod:`engine.fingerprint`,
    ``run_id`` -- the run's id, written in the header of every attempt's log. The
    processes backend also takes ``kill_grace`` (seconds past a Python step's timeout before its
    worker is killed) and ``orphan_dir``; the local backends (all but dask) take ``run_token``,
    put in the environment of every process they start (see :mod:`.orphans`).
    """
    if name == "processes":  # shell steps from the engine, Python steps in loky workers
        from engine.executors.processes import ProcessesExecutor

        return ProcessesExecutor(**options)
    if name == "loky":  # every step in a loky worker (the contract tests cover it directly)
        from engine.executors.loky import LokyExecutor

        return LokyExecutor(**options)
    if name == "threads":
        from engine.executors.threads import ThreadExecutor

        return ThreadExecutor(**options)
    if name == "serial":
        from engine.executors.serial import SerialExecutor

        return SerialExecutor(**options)
    if name == "dask":
        from engine.executors.dask import DaskExecutor

        return DaskExecutor(**options)
    raise UsageError(f"unknown backend '{name}'", f"choose from {', '.join(EXECUTORS)}")
