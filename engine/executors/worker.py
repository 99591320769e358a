"""Run one attempt of one :class:`StepInstance` inside a worker and describe it as an Outcome.

:func:`execute` never raises for a step failure (non-zero exit, exception, StepError, timeout,
missing declared output): those become ``Outcome(status=FAILED, error=..., hint=...)`` with the
details (traceback, command output) in the step's log file. Only ``KeyboardInterrupt`` passes
through (after killing the step's process group), so an interrupt stops the run.

Shell steps run as ``bash -euo pipefail -c COMMAND`` in ``work_dir`` with stdout and stderr
appended to the log, ``TMPDIR`` set to the attempt's private tmp dir, in a new session (own
process group): a timeout sends SIGTERM to the whole group, then SIGKILL after
:data:`KILL_GRACE` seconds, so children such as ``sleep 1000 &`` die too.

Python steps get ``(dict(params), inputs=..., outputs=..., context=StepContext)``; relative
paths are resolved against ``work_dir`` (the process working directory is never changed: that
would race in the threads executor). A timeout is enforced with ``SIGALRM`` when the step runs
in the main thread (processes and serial executors); in other threads (threads executor) it can
only be *reported* after the step returns. The processes executor additionally kills a worker
that ignores the alarm (e.g. stuck in C code) after a grace period.

Peak memory (``peak_mem_mb``, also in ``metadata``):

* shell steps: ``ru_maxrss`` from ``os.wait4`` of the bash process, which Linux defines as the
  largest RSS of that process and of every descendant it waited for -- i.e. the biggest single
  process of the step's tree (not the sum of processes running side by side). Linux also
  carries the spawning process's RSS high-water mark into the child at ``exec``, so the worker's
  mark is reset just before spawning and the figure has a floor of the worker's current RSS
  (~40 MB in a loky worker; the engine's RSS in the threads/serial executors): values at that
  floor mean "small", values above it are the tool's real peak;
* Python steps: the worker's peak RSS during the step, measured by resetting the kernel's
  high-water mark (``echo 5 > /proc/self/clear_refs``) before the call and reading ``VmHWM``
  after it, so it includes the interpreter's baseline (~30-80 MB); tools the step ran are
  covered by ``RUSAGE_CHILDREN`` when their peak exceeds every earlier child of the worker. In
  the threads executor the figure is process-wide (concurrent steps share it).
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from engine.context import StepContext, tail_of
from engine.errors import StepError, UnknownStepError
from engine.fingerprint import DEFAULT_HASH_LIMIT, Fingerprint, fingerprint
from engine.model import Outcome, PathValue, Status, StepInstance

KILL_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL for the process group of a timed-out shell step."""

_STATUS_WORDS = {"completed": Status.COMPLETED, "failed": Status.FAILED, "skipped": Status.SKIPPED}


class _StepTimeout(BaseException):
    """Raised by SIGALRM inside a Python step (BaseException: ``except Exception`` can't eat it)."""


class _Result:
    """Mutable scratch record of one attempt, frozen into an :class:`Outcome` at the end."""

    __slots__ = ("error", "hint", "metadata", "output", "peak_mb", "status", "warnings")

    def __init__(self) -> None:
        self.status = Status.COMPLETED
        self.error: str | None = None
        self.hint: str | None = None
        self.peak_mb: float | None = None
        self.output: dict[str, Any] = {}
        self.warnings: tuple[str, ...] = ()
        self.metadata: dict[str, Any] = {}

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
) -> Outcome:
    """Run ``instance`` once and return its :class:`Outcome` (see the module docstring).

    ``state_tmp``: directory under which the attempt's private tmp dir is made (and removed).
    ``marker``: if given, a file written while the step runs holding ``worker_pid start_time
    process_group|- tmp_dir`` -- the processes executor reads it to attribute a dead worker, to
    kill a hung one, and to kill orphaned process groups. ``step_module``: module to import if
    ``instance.uses`` is not registered in this process (the parent knows where it came from).
    ``hash_limit``: passed to :func:`engine.fingerprint.fingerprint` for ``output_fps``.
    """
    started = time.time()
    clock = time.perf_counter()
    work_dir = Path(instance.work_dir)
    result = _Result()
    tmp_dir = ""
    try:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        for out in instance.output_paths():
            os.makedirs((work_dir / out).parent, exist_ok=True)
        tmp_dir = _private_tmp(state_tmp)
        if instance.command is not None:
            _run_shell(instance, attempt, log_path, tmp_dir, marker, started, result)
        elif instance.uses is not None:
            _write_marker(marker, started, tmp_dir, None)
            _run_function(instance, attempt, log_path, tmp_dir, step_module, result)
        else:
            result.fail(f"instance {instance.id} has neither a command nor a step function")
    except OSError as exc:  # log/tmp/output dirs could not be created, bash missing, ...
        result.fail(f"could not start the step: {exc}")
    finally:
        if tmp_dir:
            _release_tmp(tmp_dir)
        if marker is not None:
            try:
                os.unlink(marker)
            except FileNotFoundError:
                pass
    output_fps: dict[str, Fingerprint] = {}
    if result.status is Status.COMPLETED:
        output_fps = _check_outputs(instance, work_dir, hash_limit, result)
    elapsed = time.perf_counter() - clock
    if result.status is Status.FAILED:
        append_log(log_path, f"[mi-run] {instance.id} failed: {result.error}\n")
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
    )


# -- shell steps -------------------------------------------------------------------------------


_MAX_ARG = 100_000  # below MAX_ARG_STRLEN (131072 bytes), leaving room for multi-byte text


def _run_shell(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    tmp_dir: str,
    marker: str | None,
    started: float,
    result: _Result,
) -> None:
    command = instance.command or ""
    env = _shell_env(tmp_dir)
    with open(log_path, "ab", buffering=0) as log:
        shown = command if len(command) <= 2000 else command[:2000] + f" ... ({len(command)} chars)"
        log.write(f"[mi-run] {instance.id} attempt {attempt}: $ {shown}\n".encode())
        _reset_hwm()  # bash inherits this process's high-water mark at exec (see module doc)
        argv = ["bash", "-euo", "pipefail", "-c", command]
        if len(command) > _MAX_ARG:  # Linux caps one argv string at 128 KiB: use a script
            script = os.path.join(tmp_dir, "command.sh")
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(command + "\n")
            argv = ["bash", "-euo", "pipefail", script]
        proc = subprocess.Popen(
            argv,
            cwd=instance.work_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _write_marker(marker, started, tmp_dir, proc.pid)
    exited = threading.Event()
    timed_out = threading.Event()
    killer: threading.Thread | None = None
    if instance.timeout:
        killer = threading.Thread(
            target=_kill_group_after,
            args=(proc.pid, instance.timeout, exited, timed_out),
            daemon=True,
        )
        killer.start()
    try:
        _, wait_status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # KeyboardInterrupt in the serial executor: take the group down too
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    exited.set()
    proc.returncode = code = os.waitstatus_to_exitcode(wait_status)
    if killer is not None:
        killer.join()
    result.peak_mb = usage.ru_maxrss / 1024.0
    if timed_out.is_set():
        result.fail(
            f"timed out after {instance.timeout:g} s (process group killed)",
            f"raise 'timeout:' for step '{instance.step}' if it needs longer; log: {log_path}",
        )
    elif code != 0:
        what = f"killed by signal {_signal_name(-code)}" if code < 0 else f"exit status {code}"
        tail = tail_of(Path(log_path), 6)
        result.fail(f"command failed ({what})\n{tail}".rstrip(), f"see the full log: {log_path}")


def _kill_group_after(pgid: int, timeout: float, exited: threading.Event, timed_out: threading.Event) -> None:
    if exited.wait(timeout):
        return
    timed_out.set()
    kill_group(pgid, signal.SIGTERM)
    exited.wait(KILL_GRACE)
    kill_group(pgid, signal.SIGKILL)  # stragglers that ignored SIGTERM or outlived bash


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a step's process group; a group that is already gone is not an error."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


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
        logger.info("[mi-run] %s attempt %d: %s", instance.id, attempt, instance.uses)
        _call_step(instance, attempt, log_path, tmp_dir, step_module, logger, result)
        for warning in result.warnings:
            logger.warning("%s", warning)
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
    memory = _PeakMemory()
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
        result.fail(f"timed out after {timeout:g} s", _timeout_hint(instance, log_path))
        return
    except StepError as exc:
        logger.error("error: %s%s", exc, f"\n  hint: {exc.hint}" if exc.hint else "")
        result.fail(str(exc), exc.hint)
        return
    except (Exception, SystemExit) as exc:
        logger.error("step raised %s", type(exc).__name__, exc_info=True)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result.fail(detail, f"traceback in the step log: {log_path}")
        return
    finally:
        result.peak_mb = memory.peak_mb()
    elapsed = time.perf_counter() - clock
    _apply_return(returned, result)
    if timeout and not use_alarm and elapsed > timeout and result.status is not Status.FAILED:
        result.fail(
            f"timed out: ran {elapsed:.1f} s, more than timeout {timeout:g} s (Python steps "
            "cannot be interrupted in the threads executor, so it ran to completion)",
            _timeout_hint(instance, log_path),
        )


def _raise_timeout(signum: int, frame: Any) -> None:
    raise _StepTimeout()


def _timeout_hint(instance: StepInstance, log_path: str) -> str:
    return f"raise 'timeout:' for step '{instance.step}' if it needs longer; log: {log_path}"


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
    """Interpret the step contract: None, or {"status", "output", "errors", "warnings", ...}."""
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


class _PeakMemory:
    """Peak RSS of this process (and of its children) from construction to :meth:`peak_mb`."""

    def __init__(self) -> None:
        self.reset = _reset_hwm()
        self.self_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    def peak_mb(self) -> float:
        own = _read_hwm_kb() if self.reset else None
        if own is None:  # no /proc: the high-water mark since process start is all we have
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child_peak = children if children > self.children_before else 0
        return max(own, child_peak) / 1024.0


_clear_refs: tuple[int, int] | None = None  # (pid, fd): kept open, one write per reset


def _reset_hwm() -> bool:
    """Reset this process's peak-RSS mark (Linux >= 4.0); False when not possible."""
    global _clear_refs
    try:
        if _clear_refs is None or _clear_refs[0] != os.getpid():
            _clear_refs = (os.getpid(), os.open("/proc/self/clear_refs", os.O_WRONLY))
        os.write(_clear_refs[1], b"5")
        return True
    except OSError:
        return False


def _read_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


# -- shared ------------------------------------------------------------------------------------


def _check_outputs(
    instance: StepInstance, work_dir: Path, hash_limit: int | None, result: _Result
) -> dict[str, Fingerprint]:
    """Fingerprints of every declared output, or FAILED naming the outputs that are missing."""
    fps: dict[str, Fingerprint] = {}
    missing: list[str] = []
    for out in instance.output_paths():
        try:
            fps[out] = fingerprint(work_dir / out, hash_limit)
        except FileNotFoundError:
            missing.append(out)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        result.fail(
            f"declared output {missing[0]} was not created{more}",
            "the step must write every path listed under 'outputs:'",
        )
        return {}
    return fps


_local = threading.local()


def _private_tmp(state_tmp: str) -> str:
    """An empty directory private to this attempt.

    Creating and removing a directory costs ~0.5 ms on some file systems (more than the rest of
    the bookkeeping of a trivial step), so each worker thread reuses its directory as long as
    the previous attempt left it empty; a non-empty one is removed (see :func:`_release_tmp`).
    """
    cached: str | None = getattr(_local, "tmp_dir", None)
    if cached is not None and os.path.dirname(cached) == state_tmp and os.path.isdir(cached):
        return cached
    os.makedirs(state_tmp, exist_ok=True)
    _local.tmp_dir = tempfile.mkdtemp(prefix="step.", dir=state_tmp)
    _local.env = None
    return str(_local.tmp_dir)


def _release_tmp(tmp_dir: str) -> None:
    try:
        with os.scandir(tmp_dir) as entries:
            if next(entries, None) is None:
                return  # empty: keep it for the next attempt of this thread
    except OSError:
        pass
    shutil.rmtree(tmp_dir, ignore_errors=True)
    _local.tmp_dir = None


def _shell_env(tmp_dir: str) -> dict[str, str]:
    """The environment of shell steps: the worker's, with ``TMPDIR`` = the private tmp dir.

    Built once per worker thread and tmp dir (copying ``os.environ`` decodes every variable),
    so environment changes made in the worker after its first step are not seen.
    """
    env: dict[str, str] | None = getattr(_local, "env", None)
    if env is None or env.get("TMPDIR") != tmp_dir:
        env = dict(os.environ)
        env["TMPDIR"] = tmp_dir
        _local.env = env
    return env


def _write_marker(marker: str | None, started: float, tmp_dir: str, pgid: int | None) -> None:
    if marker is None:
        return
    text = f"{os.getpid()} {started!r} {pgid if pgid is not None else '-'} {tmp_dir}"
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def append_log(log_path: str, text: str) -> None:
    """Append to a step log, ignoring a log that cannot be written (the outcome still says it)."""
    try:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class MarkerInfo(NamedTuple):
    """Contents of a running attempt's marker file (see :func:`execute`)."""

    pid: int
    started: float
    pgid: int | None
    tmp_dir: str


def read_marker(marker: str) -> MarkerInfo | None:
    """The marker's contents, or None when the attempt has not started or already finished."""
    try:
        with open(marker, encoding="utf-8") as handle:
            pid, started, pgid, tmp_dir = handle.read().split(" ", 3)
        return MarkerInfo(int(pid), float(started), None if pgid == "-" else int(pgid), tmp_dir)
    except (OSError, ValueError):
        return None
