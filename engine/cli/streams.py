"""The console's stdout and stderr, kept from ending a run when their reader goes away.

``mi-run SPEC |& head -1``, quitting ``less``, or an ssh session that closed: the next write
to that stream fails (Python ignores SIGPIPE, so a pipe raises BrokenPipeError; a hung-up
terminal raises OSError EIO). Raised inside the scheduling loop, that would stop the run
half-way. :func:`guard_console` (called by the console script only) wraps both streams so a
failed write never raises: the stream is marked lost, its file descriptor is pointed at
``/dev/null`` (so later flushes, and C code writing to it, succeed), and what was written to
it from then on goes to the file named by :func:`divert_lost_output` (a run names
``<state dir>/logs/mi-run.log``), or nowhere. The command goes on and its exit status is its
own: a run's is the steps' result.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO, cast


class GuardedStream:
    """A text stream whose writes never raise OSError (see the module docstring)."""

    def __init__(self, stream: TextIO, name: str):
        self._stream = stream
        self._name = name
        self._unflushed: list[str] = []  # written since the last flush that succeeded
        self.lost = False
        self.divert_path: str | None = None
        self._diverted = False  # the header line is written

    def write(self, text: str) -> int:
        if self.lost:
            self._to_divert(text)
            return len(text)
        try:
            written = self._stream.write(text)
        except OSError:
            self._lose([*self._unflushed, text])
            return len(text)
        self._unflushed.append(text)
        if len(self._unflushed) > 1000:  # flushed by the stream's own buffering long ago
            del self._unflushed[:-100]
        return written

    def flush(self) -> None:
        if self.lost:
            return
        try:
            self._stream.flush()
        except OSError:
            self._lose(self._unflushed)
            return
        self._unflushed = []

    def _lose(self, pending: list[str]) -> None:
        self.lost = True
        try:  # what is still buffered (and later writes by C code) goes nowhere, quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
            self._stream.flush()
        except (OSError, ValueError):
            pass
        self._unflushed = []
        for text in pending:
            self._to_divert(text)

    def _to_divert(self, text: str) -> None:
        if self.divert_path is None or not text:
            return
        header = ""
        if not self._diverted:
            when = time.strftime("%Y-%m-%d %H:%M:%S")
            header = (f"[mi-run] pid {os.getpid()}: {self._name} was closed at {when};"
                      " what followed on it:\n")
        try:  # opened per write: this happens only after a loss, and a few lines at that
            os.makedirs(os.path.dirname(self.divert_path) or ".", exist_ok=True)
            with open(self.divert_path, "a", encoding="utf-8") as handle:
                handle.write(header + text)
        except OSError:
            self.divert_path = None  # nowhere to put it: drop it
            return
        self._diverted = True

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, ...
        return getattr(self._stream, name)


def guard_console() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (the console script's streams)."""
    if sys.stdout is not None and not isinstance(sys.stdout, GuardedStream):
        sys.stdout = cast(TextIO, GuardedStream(sys.stdout, "stdout"))
    if sys.stderr is not None and not isinstance(sys.stderr, GuardedStream):
        sys.stderr = cast(TextIO, GuardedStream(sys.stderr, "stderr"))


def divert_lost_output(path: str) -> None:
    """From now on, what a lost console stream would have shown is appended to ``path``."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, GuardedStream):
            stream.divert_path = path
