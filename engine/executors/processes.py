"""The default local backend: shell steps spawned by the engine, Python steps in loky workers.

A ``run:`` step is already its own process (``bash`` in its own process group, killed with its
children on timeout or interrupt), so routing it through a Python worker only adds a pickle
round trip and a second process hop per step. Shell steps are therefore spawned directly by
the engine (:mod:`engine.executors.spawn`), at the process-spawn cost that ``make`` pays;
registered Python steps run in joblib's loky worker processes (imported only when a Python
step is submitted), so a step that crashes its worker, leaks memory or hangs cannot take the
engine down and can be killed.
"""

from __future__ import annotations

import time

from engine.executors.base import Executor
from engine.executors.spawn import ShellSpawner
from engine.model import Outcome, StepInstance

_SLICE = 0.02  # seconds: how long to wait on one pool while the other also has work


class ProcessesExecutor(Executor):
    name = "processes"

    def __init__(self, **options: object):
        shell_options = {k: v for k, v in options.items()
                         if k in ("tmp_root", "hash_limit", "orphan_dir", "run_token", "run_id")}
        self._shells = ShellSpawner(**shell_options)  # type: ignore[arg-type]
        self._python_options = {k: v for k, v in options.items() if k != "orphan_dir"}
        self._python: Executor = _Idle()
        self._slots = 1
        self._python_started = False

    def start(self, slots: int) -> None:
        self._slots = max(1, slots)
        self._shells.start(self._slots)

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        if instance.command is not None:
            self._shells.submit(instance, attempt, log_path)
            return
        if not self._python_started:  # joblib + workers only for workflows with Python steps
            from engine.executors.loky import LokyExecutor

            self._python = LokyExecutor(**self._python_options)  # type: ignore[arg-type]
            self._python.start(self._slots)
            self._python_started = True
        self._python.submit(instance, attempt, log_path)

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            shells, python = self._shells.running(), self._python.running()
            if not shells and not python:
                return []
            left = None if end is None else max(0.0, end - time.monotonic())
            if not python:
                return self._shells.wait(left)
            if not shells:
                return self._python.wait(left)
            step = _SLICE if left is None else min(_SLICE, left)
            done = self._shells.wait(step) + self._python.wait(0)
            if done or (end is not None and time.monotonic() >= end):
                return done

    def running(self) -> int:
        return self._shells.running() + self._python.running()

    def cancel_all(self) -> None:
        self._shells.cancel_all()
        self._python.cancel_all()

    def shutdown(self) -> None:
        self._shells.shutdown()
        if self._python_started:
            self._python.shutdown()


class _Idle(Executor):
    """Stands in for the Python-step pool until the first Python step arrives."""

    def start(self, slots: int) -> None:
        pass

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        raise AssertionError("not started")

    def wait(self, timeout: float | None) -> list[Outcome]:
        return []

    def running(self) -> int:
        return 0

    def cancel_all(self) -> None:
        pass

    def shutdown(self) -> None:
        pass
