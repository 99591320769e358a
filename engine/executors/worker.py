"""Run one attempt of one :class:`StepInstance` inside a worker and describe it as an Outcome.

:func:`execute` never raises for a step failure (non-zero exit, exception, StepError, timeout,
missing declared output): those become ``Outcome(status=FAILED, error=..., hint=...)`` with the
details (traceback, command output) in the step's log file. Only ``KeyboardInterrupt`` passes
through (after killing the step's process group), so an interrupt stops the run.

The attempt's log is written as :mod:`engine.executors.attemptlog` says: created with its
header, then the step's output, then one outcome line. Shell steps run as
:mod:`engine.executors.shell` says, in ``work_dir`` with stdout and stderr going to the log and
``TMPDIR`` set to the attempt's private tmp dir.

Python steps get ``(dict(params), inputs=..., outputs=..., context=StepContext)``; relative
paths are resolved against ``work_dir`` (the process working directory is never changed: that
would race in the threads executor). A timeout is enforced with ``SIGALRM`` when the step runs
in the main thread (processes and serial executors); in other threads (threads executor) it can
only be *reported* after the step returns. The processes executor additionally kills a worker
that ignores the alarm (e.g. stuck in C code) after a grace period.

Peak memory (``peak_mem_mb``, also in ``metadata``) is measured as
:mod:`engine.executors.memory` describes.
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.context import StepContext
from engine.errors import StepError, UnknownStepError
from engine.executors.attemptlog import (
    end_log,
    error_lines_logged,
    header,
    host_name,
    outcome_line,
    start_log,
)
from engine.executors.markers import write_marker
from engine.executors.memory import CpuClock, PeakMemory, reset_hwm
from engine.executors.scratch import private_tmp, release_tmp, shell_env
from engine.executors.shell import (
    ShellRun,
    exit_failure,
    missing_outputs_failure,
    output_fingerprints,
    timeout_failure,
)
from engine.fingerprint import DEFAULT_HASH_LIMIT, Fingerprint
from engine.model import Outcome, PathValue, Status, StepInstance

_STATUS_WORDS = {"completed": Status.COMPLETED, "failed": Status.FAILED, "skipped": Status.SKIPPED}


class _StepTimeout(BaseException):
    """Raised by SIGALRM inside a Python step (BaseException: ``except Exception`` can't eat it)."""


class _Result:
    """Mutable scratch record of one attempt, frozen into an :class:`Outcome` at the end."""

    __slots__ = ("cpu_time", "error", "exit_code", "hint", "metadata", "output", "peak_mb",
                 "reason", "status", "warnings")

    def __init__(self) -> None:
        self.status = Status.COMPLETED
        self.error: str | None = None
        self.hint: str | None = None
        self.peak_mb: float | None = None
        self.output: dict[str, Any] = {}
        self.warnings: tuple[str, ...] = ()
        self.metadata: dict[str, Any] = {}
        self.cpu_time: float | None = None  # user + system seconds
        self.exit_code: int | None = None  # of a shell command
        self.reason: str | None = None  # of a step that returned "skipped"

    def fail(self, error: str, hint: str | None = None) -> None:
        self.status = Status.FAILED
        self.error = error
        self.hint = hint


def execute(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    state_tmp: str,
    *,
    marker: str | None = None,
    step_module: str | None = None,
    hash_limit: int | None = DEFAULT_HASH_LIMIT,
    run_token: str | None = None,
    run_id: str | None = None,
) -> Outcome:
    """Run ``instance`` once and return its :class:`Outcome` (see the module docstring).

    ``state_tmp``: directory under which the attempt's private tmp dir is made (and removed).
    ``marker``: if given, a file written while the step runs holding ``worker_pid start_time
    process_group|- tmp_dir`` -- the processes executor reads it to attribute a dead worker, to
    kill a hung one, and to kill orphaned process groups. ``step_module``: module to import if
    ``instance.uses`` is not registered in this process (the parent knows where it came from).
    ``hash_limit``: passed to :func:`engine.fingerprint.fingerprint` for ``output_fps``.
    ``run_token``: put in a shell step's environment (see :mod:`engine.executors.orphans`).
    ``run_id``: the run's id, for the log's header.
    """
    started = time.time()
    clock = time.perf_counter()
    work_dir = Path(instance.work_dir)
    result = _Result()
    tmp_dir = ""
    try:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        start_log(log_path, header(instance, attempt, started, run_id, host_name()))
        for out in instance.output_paths():
            os.makedirs((work_dir / out).parent, exist_ok=True)
        tmp_dir = private_tmp(state_tmp)
        if instance.command is not None:
            _run_shell(instance, log_path, tmp_dir, marker, started, result, run_token)
        elif instance.uses is not None:
            write_marker(marker, started, tmp_dir, None)
            _run_function(instance, attempt, log_path, tmp_dir, step_module, result)
        else:
            result.fail(f"instance {instance.id} has neither a command nor a step function")
    except OSError as exc:  # log/tmp/output dirs could not be created, bash missing, ...
        result.fail(f"could not start the step: {exc}")
    finally:
        if tmp_dir:
            release_tmp(tmp_dir)
        if marker is not None:
            try:
                os.unlink(marker)
            except FileNotFoundError:
                pass
    output_fps: dict[str, Fingerprint] = {}
    if result.status is Status.COMPLETED:
        output_fps = _check_outputs(instance, hash_limit, result)
    elapsed = time.perf_counter() - clock
    end_log(log_path, outcome_line(result.status, elapsed, result.error, result.hint,
                                   error_lines_logged(result.error, log_path)))
    metadata = dict(result.metadata)
    metadata["execution_time"] = elapsed
    metadata["peak_mem_mb"] = result.peak_mb
    return Outcome(
        instance_id=instance.id,
        attempt=attempt,
        status=result.status,
        started=started,
        ended=started + elapsed,
        peak_mem_mb=result.peak_mb,
        log_path=log_path,
        error=result.error,
        hint=result.hint,
        output=result.output,
        warnings=result.warnings,
        metadata=metadata,
        output_fps=output_fps,
        cpu_time=result.cpu_time, exit_code=result.exit_code, reason=result.reason,
    )


# -- shell steps -------------------------------------------------------------------------------


def _run_shell(
    instance: StepInstance,
    log_path: str,
    tmp_dir: str,
    marker: str | None,
    started: float,
    result: _Result,
    run_token: str | None = None,
) -> None:
    command = instance.command or ""
    run = ShellRun(command, instance.work_dir, shell_env(tmp_dir, run_token),
                   os.path.join(tmp_dir, "command.sh"))
    with open(log_path, "ab", buffering=0) as log:
        reset_hwm()  # bash inherits this process's high-water mark at exec (see module doc)
        pid = run.start(log)
    write_marker(marker, started, tmp_dir, pid)
    run.wait(instance.timeout)
    result.peak_mb = run.peak_mb
    result.cpu_time, result.exit_code = run.cpu_time, run.code
    if run.timed_out:
        result.fail(*timeout_failure(instance))
    elif run.code != 0:
        result.fail(*exit_failure(run.code))


# -- Python steps ------------------------------------------------------------------------------


def _run_function(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    tmp_dir: str,
    step_module: str | None,
    result: _Result,
) -> None:
    logger = logging.Logger(f"mi-run.{instance.id}", logging.INFO)  # unregistered: no leak
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        _call_step(instance, attempt, log_path, tmp_dir, step_module, logger, result)
        for warning in result.warnings:
            logger.warning("%s", warning)
        if result.reason is not None:
            logger.info("skipped: %s", result.reason)
    finally:
        handler.close()


def _call_step(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    tmp_dir: str,
    step_module: str | None,
    logger: logging.Logger,
    result: _Result,
) -> None:
    try:
        function = _lookup(instance.uses or "", step_module)
    except Exception as exc:
        result.fail(f"cannot load step function '{instance.uses}': {exc}")
        return
    work_dir = Path(instance.work_dir)
    ctx = StepContext(
        instance_id=instance.id,
        step=instance.step,
        threads=instance.threads,
        work_dir=work_dir,
        tmp_dir=Path(tmp_dir),
        log_path=Path(log_path),
        log=logger,
        item=instance.item,
        index=instance.index,
        resources=dict(instance.resources),
        attempt=attempt,
    )
    inputs = _resolve(instance.inputs, work_dir)
    outputs = _resolve(instance.outputs, work_dir)
    timeout = instance.timeout
    use_alarm = bool(timeout) and threading.current_thread() is threading.main_thread()
    memory = PeakMemory()
    cpu = CpuClock()
    clock = time.perf_counter()
    returned: Any = None
    cwd = os.getcwd()  # a step that chdir()s must not move the next step of this worker
    try:
        previous = signal.signal(signal.SIGALRM, _raise_timeout) if use_alarm else None
        try:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, float(timeout or 0))
            config = copy.deepcopy(dict(instance.params))  # threads/serial share the plan
            returned = function(config, inputs=inputs, outputs=outputs, context=ctx)
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            if os.getcwd() != cwd:
                os.chdir(cwd)
    except _StepTimeout:
        result.fail(*timeout_failure(instance, killed=False))
        return
    except StepError as exc:  # a clean message: the outcome line says it, with the hint
        result.fail(str(exc), exc.hint)
        return
    except (Exception, SystemExit) as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc))
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        logger.error("step raised %s\n%s", type(exc).__name__,  # its last line: the outcome's
                     trace.removesuffix(detail).rstrip())
        result.fail(detail.strip())
        return
    finally:
        result.peak_mb = memory.peak_mb()
        result.cpu_time = cpu.seconds()
    elapsed = time.perf_counter() - clock
    _apply_return(returned, result)
    if timeout and not use_alarm and elapsed > timeout and result.status is not Status.FAILED:
        result.fail(
            f"timed out: ran {elapsed:.1f} s, more than timeout {timeout:g} s (Python steps "
            "cannot be interrupted in the threads executor, so it ran to completion)",
            timeout_failure(instance)[1],
        )


def _raise_timeout(signum: int, frame: Any) -> None:
    raise _StepTimeout()


def _lookup(name: str, step_module: str | None) -> Any:
    from engine.registry import get_step

    try:
        return get_step(name).function
    except UnknownStepError:
        if step_module is None:
            raise
        importlib.import_module(step_module)
        return get_step(name).function


def _resolve(mapping: Mapping[str, PathValue], work_dir: Path) -> dict[str, Any]:
    def one(value: str) -> Path:
        return work_dir / value  # an absolute value stays as it is

    return {
        key: one(value) if isinstance(value, str) else [one(v) for v in value]
        for key, value in mapping.items()
    }


def _apply_return(returned: Any, result: _Result) -> None:
    """Interpret the step contract: None, or {"status", "output", "errors", "warnings",
    "reason" (of a skip), ...}."""
    if returned is None:
        return
    if not isinstance(returned, Mapping):
        result.fail(
            f"step function returned {type(returned).__name__}; expected None or a dict",
            "return None on success or a dict with 'status' (completed|failed|skipped)",
        )
        return
    word = returned.get("status", "completed")
    status = _STATUS_WORDS.get(str(word))
    result.output = dict(returned.get("output") or {})
    result.warnings = tuple(str(w) for w in returned.get("warnings") or ())
    result.metadata = dict(returned.get("metadata") or {})
    errors = [str(e) for e in returned.get("errors") or ()]
    if status is None:
        result.fail(f"step returned unknown status {word!r}", "use completed, failed or skipped")
    elif status is Status.FAILED:
        result.fail("; ".join(errors) or "the step reported failure without an error message")
    else:
        result.status = status
        if status is Status.SKIPPED:  # the seed's conditional skip: {"status", "reason"}
            result.reason = str(returned.get("reason") or "the step gave no reason")


# -- shared ------------------------------------------------------------------------------------


def _check_outputs(
    instance: StepInstance, hash_limit: int | None, result: _Result
) -> dict[str, Fingerprint]:
    """Fingerprints of every declared output, or FAILED naming the outputs that are missing."""
    fps, missing = output_fingerprints(instance, hash_limit)
    if missing:
        result.fail(*missing_outputs_failure(missing))
        return {}
    return fps
