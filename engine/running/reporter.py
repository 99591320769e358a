"""Everything a run tells the user while it runs goes through one :class:`Reporter`.

The scheduling loop calls one method per event, in causal order (an instance is reported
started before it is reported done; a failure before the instances it blocks are skipped),
the way doit's reporters receive task events. This reporter writes one line per event to
stderr for small runs and a periodic progress line for big ones; a live display plugs in here
by subclassing it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from engine.model import Outcome, RerunReason

CHATTY_UP_TO = 200  # instances: above this, a progress line instead of a line per event
PROGRESS_EVERY = 2.0  # seconds between progress lines of a big run


class Reporter:
    def __init__(self, stream: TextIO | None = None, verbose: bool = False):
        self._stream = stream
        self._verbose = verbose
        self._chatty = True
        self._last_progress = 0.0

    # the run -----------------------------------------------------------------------------
    def run_started(self, instances: int) -> None:
        self._chatty = self._verbose or instances <= CHATTY_UP_TO

    def orphan_stopped(self, what: str) -> None:
        """``what`` (an instance id, or ``process PID (NAME)``) was left running by an engine
        that was killed, and has been stopped."""
        self._say(f"stopped {what}, still running from an interrupted run", always=True)

    def fanout_expanded(self, new_instances: int) -> None:
        self._say(f"expanded    {new_instances} new instances")

    def progress(self, finished: int, total: int, running: int, failed: int) -> None:
        """Called after every batch of outcomes; prints at most every few seconds."""
        if self._chatty:
            return
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        self._say(f"[{finished}/{total}] finished, {running} running, {failed} failed",
                  always=True)

    # instances ---------------------------------------------------------------------------
    def started(self, node: str, attempt: int, reasons: Sequence[RerunReason]) -> None:
        again = f" (attempt {attempt})" if attempt > 1 else ""
        self._say(f"start       {node}{again}  [{'; '.join(str(r) for r in reasons)}]")

    def still_up_to_date(self, node: str) -> None:
        self._say(f"up to date  {node} (upstream outputs unchanged)")

    def retrying(self, node: str, outcome: Outcome) -> None:
        self._say(f"retry       {node}: {outcome.error}")

    def done(self, node: str, outcome: Outcome) -> None:
        self._say(f"done        {node} ({outcome.duration:.1f} s)")

    def failed(self, node: str, outcome: Outcome) -> None:
        first = outcome.error.splitlines()[0] if outcome.error else ""
        self._say(f"FAILED      {node}: {first}", always=True)

    def _say(self, text: str, always: bool = False) -> None:
        if always or self._chatty:
            print(text, file=self._stream or sys.stderr, flush=True)
