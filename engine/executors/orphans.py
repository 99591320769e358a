"""What an engine killed with ``kill -9`` leaves running, found and stopped by the next run.

A SIGKILLed engine cleans up nothing: its shell steps (each in its own session), the loky
worker processes of the processes and loky backends (and the Python steps in them) live on,
writing outputs that the next run is about to write again. So every run carries a random
token: before it starts a backend it registers the token in ``<state_dir>/running/<pid>.pids``
(:func:`registered`), and every process it starts gets ``MI_RUN_TOKEN=<token>`` in its
environment (shell steps on every local backend, loky workers), which their children inherit.
A run that ends, however it ends short of SIGKILL, removes its file.

The next run, holding the state directory's lock, reads the files left behind
(:func:`reap`) and stops every process whose environment carries one of their tokens: the
step's whole process group when it leads one (shell steps run in their own session), else
the process alone (a loky worker shares the killed engine's process group, which may hold
the user's shell pipeline). The environment, not a list of pids, finds them, so a step
started a moment before the engine was killed (before its pid could be noted), or a child
that left its group, is found too, and a pid reused by an unrelated process never is. The
processes backend also appends ``PID TOKEN INSTANCE`` lines for its shell steps, so the
report names the instance stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from engine import envvars

GRACE = 0.2
"""Seconds between SIGTERM and SIGKILL for the orphans found."""


def registry_path(orphan_dir: str, pid: int | None = None) -> str:
    """This process's file in ``orphan_dir`` (the processes backend appends its pids to it)."""
    return os.path.join(orphan_dir, f"{os.getpid() if pid is None else pid}.pids")


@contextlib.contextmanager
def registered(orphan_dir: str) -> Iterator[str]:
    """A new run token, noted in ``orphan_dir`` until the block ends (the backend started
    inside it must be shut down inside it too)."""
    token = os.urandom(16).hex()  # as random as uuid4, without importing uuid (and platform)
    os.makedirs(orphan_dir, exist_ok=True)
    path = registry_path(orphan_dir)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"token {token}\n")
    try:
        yield token
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def reap(orphan_dir: str) -> list[str]:
    """Stop what killed engines left running (see the module docstring); returns what was
    stopped: instance ids, or ``process PID (NAME)`` for the others."""
    try:
        files = [os.path.join(orphan_dir, n) for n in os.listdir(orphan_dir)
                 if n.endswith(".pids")]
    except FileNotFoundError:
        return []
    tokens: set[str] = set()
    names: dict[int, str] = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            first, _, rest = line.partition(" ")
            token, _, instance_id = rest.partition(" ")
            if first == "token" and token:
                tokens.add(token)
            elif first.isdigit() and token:
                tokens.add(token)
                names[int(first)] = instance_id
    found = carrying(tokens) if tokens else []
    stopped = _described(found, names)
    _stop(found)
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return stopped


def carrying(tokens: set[str]) -> list[int]:
    """The processes whose environment holds ``MI_RUN_TOKEN`` = one of ``tokens``."""
    wanted = {f"{envvars.RUN_TOKEN}={t}".encode() for t in tokens}
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or another user's
            continue
        if environ and not wanted.isdisjoint(environ.split(b"\0")):
            found.append(int(entry))
    return found


def _stop(pids: list[int]) -> None:
    if not pids:
        return
    for number in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid:  # a step's own session: all of it
                    os.killpg(pid, number)
                else:
                    os.kill(pid, number)
        if number == signal.SIGTERM:
            time.sleep(GRACE)


def _described(pids: list[int], names: dict[int, str]) -> list[str]:
    shown = []
    for pid in pids:
        if pid in names:
            shown.append(names[pid])
            continue
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            group = 0
        if group != pid and (group in names or group in pids):
            continue  # part of a step's group, which is listed
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
                shown.append(f"process {pid} ({handle.read().strip()})")
        except OSError:
            shown.append(f"process {pid}")
    return shown
