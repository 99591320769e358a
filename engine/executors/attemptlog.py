"""The log of one attempt of one instance: a header, the step's own output, one outcome line.

Every backend writes an attempt's log file the same way, whoever runs the attempt::

    [mi-run] instance quant[s1], attempt 1 of 2
    [mi-run] run 20261205-161043-ab12cd, started 2026-12-05 16:10:43 +0100 on node7
    [mi-run] $ kallisto quant -i idx -o out/s1 s1_1.fq s1_2.fq
    ... what the command (or the step function) wrote ...
    [mi-run] failed after 2.1 s: command failed (exit status 1)

A Python step's header names the function and its params (``[mi-run] uses rna.quant`` and
``[mi-run] params {...}``) instead of the command. The outcome line is the only place the
failure text is written: a verdict never quotes the log it ends (the lines of a multi-line
error that the log already holds are left out of it), and a traceback is logged without its
last line, which the outcome line says. Each attempt has its own file (the recorder names
it), created afresh, so nothing is ever appended across attempts or runs.

Whoever produces an attempt's :class:`~engine.model.Outcome` writes its outcome line: the
worker body (:mod:`engine.executors.worker`) and the shell spawner
(:mod:`engine.executors.spawn`) for the attempts they ran, an executor for the failures it
makes up itself (a dead worker, a lost scheduler) through :func:`failed_attempt`.
"""

from __future__ import annotations

import _thread
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from engine.logtail import tail_of
from engine.model import Outcome, Status, StepInstance, failed_outcome

MARK = "[mi-run]"
"""What starts every line the engine writes into a step's log."""

_SHOWN = 2000  # characters of a command or of params written into a header
_host: str | None = None


def host_name() -> str:
    """This machine's name (as ``uname -n`` says; read once)."""
    global _host
    if _host is None:
        _host = os.uname().nodename
    return _host


def shown_command(command: str) -> str:
    """A command as a log line shows it: long ones are cut and say how long they were."""
    if len(command) <= _SHOWN:
        return command
    return command[:_SHOWN] + f" ... ({len(command)} chars)"


def attempt_mark(instance_id: str, attempt: int) -> str:
    """The text that starts every attempt's first log line (the Dask backend looks for it
    to tell whether an attempt started)."""
    return f"{MARK} instance {instance_id}, attempt {attempt} of "


def header(instance: StepInstance, attempt: int, started: float, run_id: str | None = None,
           host: str | None = None) -> str:
    """The first lines of an attempt's log. ``host`` None: not known (the attempt never
    started on a known machine)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    run = f"run {run_id}, " if run_id else ""
    where = f" on {host}" if host else ""
    lines = [f"{attempt_mark(instance.id, attempt)}{instance.retries + 1}",
             f"{MARK} {run}started {when}{where}"]
    if instance.command is not None:
        first, *rest = shown_command(instance.command).splitlines() or [""]
        lines.append(f"{MARK} $ {first}")
        lines.extend(f"{MARK}   {line}" for line in rest)
    else:
        lines.append(f"{MARK} uses {instance.uses}")
        lines.append(f"{MARK} params {shown_command(_params_json(instance))}")
    return "\n".join(lines) + "\n"


def _params_json(instance: StepInstance) -> str:
    try:
        return json.dumps(dict(instance.params), sort_keys=True, default=str)
    except (TypeError, ValueError):  # keys that are not strings
        return repr(dict(instance.params))


def outcome_line(status: Status, seconds: float, error: str | None = None,
                 hint: str | None = None, logged: str = "") -> str:
    """The last line(s) of an attempt's log. ``logged``: the end of the log so far, whose
    lines a multi-line ``error`` does not repeat."""
    if status is Status.COMPLETED:
        return f"{MARK} completed in {seconds:.1f} s\n"
    if status is Status.SKIPPED:
        return f"{MARK} skipped by the step after {seconds:.1f} s\n"
    first, *rest = (error or "failed").splitlines() or ["failed"]
    already = set(logged.splitlines())
    text = f"{MARK} failed after {seconds:.1f} s: {first}\n"
    text += "".join(f"{MARK}   {line}\n" for line in rest if line.strip() and line not in already)
    if hint:
        text += f"{MARK} hint: {hint}\n"
    return text


def interrupted_line() -> str:
    """The last line of the log of an attempt that the run's interruption stopped."""
    return f"{MARK} interrupted: the run was stopped (Ctrl-C, SIGTERM or SIGHUP)\n"


# An attempt's log ends with one verdict. When a run is interrupted, the engine says so in the
# logs of the attempts that were running; with the threads and serial backends the step's own
# outcome is written by a thread of this same process. A verdict written before the
# interruption began stands; from then on (see :func:`interrupting`) the interruption's wins,
# so a command killed by the interruption is not logged as "failed ... SIGKILL". All under
# this lock.
_verdict_lock = _thread.allocate_lock()  # threading.Lock, without importing threading
_interrupted: set[str] = set()  # logs given the interruption's verdict in this process
_VERDICTS = (f"{MARK} completed in ", f"{MARK} failed after ", f"{MARK} skipped by the step ")


def end_log(log_path: str, text: str) -> None:
    """Write an attempt's outcome line(s) ``text``, unless the run's interruption ended the
    log already (see :func:`end_interrupted`)."""
    with _verdict_lock:
        if log_path not in _interrupted:
            append_log(log_path, text)


def interrupting(log_paths: Iterable[str]) -> None:
    """The run is being interrupted: from now on this process writes no step verdict into
    these logs; :func:`end_interrupted` ends them once their commands are stopped. Called
    before the commands are killed, so a thread that sees its command die cannot log it as a
    failure first."""
    with _verdict_lock:
        _interrupted.update(log_paths)


def end_interrupted(log_path: str) -> None:
    """End the log of an attempt stopped by the run's interruption, unless its outcome was
    written already or the attempt never started (no log: a queued attempt of the serial
    backend)."""
    with _verdict_lock:
        try:
            with open(log_path, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - 4096))
                last = handle.read().decode("utf-8", "replace")
        except OSError:
            return
        if any(line.startswith(_VERDICTS) for line in last.splitlines()):
            return  # the step's verdict came before the interruption (or from another process)
        _interrupted.add(log_path)
        append_log(log_path, interrupted_line())


def error_lines_logged(error: str | None, log_path: str) -> str:
    """The end of the log, read only when ``error`` has more than one line (see
    :func:`outcome_line`)."""
    if error is None or "\n" not in error:
        return ""
    return tail_of(Path(log_path), 60)


def append_log(log_path: str, text: str) -> None:
    """Append to a step log, ignoring a log that cannot be written (the outcome still says it)."""
    try:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass


def start_log(log_path: str, text: str) -> None:
    """Create (or empty) an attempt's log with its header ``text``."""
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write(text)


def failed_attempt(instance: StepInstance, attempt: int, log_path: str, error: str, *,
                   started: float, ended: float, hint: str | None = None,
                   run_id: str | None = None, host: str | None = None) -> Outcome:
    """A FAILED outcome made outside the step (dead worker, lost scheduler, spawn error...),
    its outcome line written to the attempt's log, after a header if the attempt never got
    to write one."""
    outcome = failed_outcome(instance, attempt, log_path, error, started=started, ended=ended,
                             hint=hint)
    if log_path:
        try:
            empty = os.path.getsize(log_path) == 0
        except OSError:
            empty = True
        text = outcome_line(Status.FAILED, ended - started, error, hint,
                            "" if empty else error_lines_logged(error, log_path))
        if empty:
            try:
                os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
            except OSError:
                pass
            text = header(instance, attempt, started, run_id, host) + text
        end_log(log_path, text)
    return outcome
