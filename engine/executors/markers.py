"""Marker files: what a worker writes while an attempt runs, so that the engine can act on it.

A marker holds ``worker_pid start_time process_group|- tmp_dir``. The pool backends (loky,
threads, Dask) read it to attribute a dead worker to its step, to kill a hung step's process
group, and to kill groups left behind when a worker died.
"""

from __future__ import annotations

import os
from typing import NamedTuple


def write_marker(marker: str | None, started: float, tmp_dir: str, pgid: int | None) -> None:
    """Write (or overwrite) the marker of the running attempt; nothing when ``marker`` is None."""
    if marker is None:
        return
    text = f"{os.getpid()} {started!r} {pgid if pgid is not None else '-'} {tmp_dir}"
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class MarkerInfo(NamedTuple):
    """Contents of a running attempt's marker file."""

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
