"""What the state directory's lock file says about the run holding it.

A run holds ``<state_dir>/lock`` (flock) and writes one line into it: its pid, its start time
(``/proc/PID/stat`` field 22, so a pid reused by another process is told apart) and, once the
run row exists, the run id: ``"4242 81234567 20240501-101500-ab12cd"``. A run that ends
empties the file; one that was killed leaves its line behind, naming a process that is gone.

``status`` and ``--dry-run`` read it without taking the lock (:func:`live_run`): the
instances the live run has marked running (``status = 'running'`` rows of its run id, written
in the store's batches) are running now, not "incomplete (interrupted)".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

NAME = "lock"


@dataclass(frozen=True)
class Holder:
    pid: int
    started: str  # the process's start time in clock ticks since boot, "-" when unknown
    run_id: str | None


def holder_line(run_id: str | None = None) -> bytes:
    """The line this process writes into the lock it holds."""
    pid = os.getpid()
    return f"{pid} {process_start(pid) or '-'}{' ' + run_id if run_id else ''}\n".encode()


def parse(text: str) -> Holder | None:
    fields = text.split()
    if not fields or not fields[0].isdigit():
        return None
    started = fields[1] if len(fields) > 1 else "-"
    return Holder(int(fields[0]), started, fields[2] if len(fields) > 2 else None)


def live_run(state_dir: str) -> Holder | None:
    """The run holding ``state_dir``'s lock, if its process is still alive (the same process:
    same pid and start time, not a zombie); None when no run holds it or its holder died."""
    try:
        with open(os.path.join(state_dir, NAME), encoding="utf-8") as handle:
            holder = parse(handle.read(256))
    except OSError:
        return None
    if holder is None:
        return None
    stat = _stat(holder.pid)
    if stat is None:  # no /proc (not Linux): whether the pid exists at all
        return holder if holder.started == "-" and _exists(holder.pid) else None
    state, started = stat
    if state in ("Z", "X") or (holder.started != "-" and started != holder.started):
        return None  # dead, or the pid now names another process
    return holder


def process_start(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), None when unknown."""
    stat = _stat(pid)
    return None if stat is None else stat[1]


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) from ``/proc/PID/stat``; None when there is no such file."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True
