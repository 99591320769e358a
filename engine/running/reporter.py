"""Everything a run tells the user while it runs goes through one :class:`Reporter`.

The scheduling loop calls one method per event, in causal order (an instance is reported
started before it is reported done; a dependency done before its dependents start), the way
doit's reporters receive task events. Every event updates a
:class:`~engine.running.progress.RunProgress`.

This reporter is the one for logs, CI and pipes: one timestamped line per event for small
runs, and for big ones a progress line every few seconds (with an ETA) plus every failure.
``-q`` leaves failures only; ``-v`` adds each started instance's command. On a terminal the
command line uses :class:`engine.render.live.LiveReporter`, which draws the same progress
with ``rich``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from engine.model import Outcome, RerunReason
from engine.running.progress import Failure, RunProgress

CHATTY_UP_TO = 200  # instances: above this, a progress line instead of a line per event
PROGRESS_EVERY = 5.0  # seconds between progress lines of a big run


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class Reporter:
    """``verbose``: every event and each started instance's command; ``quiet``: failures
    only (the CLI prints the final line)."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False, quiet: bool = False):
        self._stream = stream
        self._verbose = verbose and not quiet
        self._quiet = quiet
        self._chatty = not quiet
        self._last_progress = 0.0
        self._started = time.monotonic()
        self.progress_state = RunProgress()

    # the run -----------------------------------------------------------------------------
    def run_started(self, instances: int, to_run: Sequence[str] = (),
                    expected: Mapping[str, float] | None = None, jobs: int = 1) -> None:
        """``instances`` in the plan, of which ``to_run`` will run (unless found up to date
        on the way); ``expected``: earlier runs' durations, for the ETA."""
        self._started = self._last_progress = time.monotonic()
        self.progress_state = RunProgress(up_to_date_before=instances - len(to_run))
        self.progress_state.plan(len(to_run), list(to_run), expected or {}, jobs)
        self._chatty = not self._quiet and (self._verbose or instances <= CHATTY_UP_TO)

    def run_finished(self) -> None:
        """The loop ended (normally, on a failure or interrupted)."""

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def orphan_stopped(self, what: str) -> None:
        """``what`` (an instance id, or ``process PID (NAME)``) was left running by an engine
        that was killed, and has been stopped."""
        self._say(f"stopped {what}, still running from an interrupted run",
                  always=not self._quiet)

    def note(self, text: str) -> None:
        """Something the user should know about the run as a whole (always shown)."""
        self._say(text, always=True)

    def fanout_expanded(self, new_instances: int, to_run: Sequence[str] = ()) -> None:
        state = self.progress_state
        state.grew(state.total + len(to_run), list(to_run))
        self._say(f"expanded    {new_instances} new instances")

    def progress(self, finished: int, total: int, running: int, failed: int) -> None:
        """Called after every batch of outcomes; prints at most every few seconds."""
        if self._chatty or self._quiet:
            return
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        state = self.progress_state
        self._say(f"progress    {state.finished}/{state.total} finished, {len(state.running)} "
                  f"running, {state.failed} failed, {clock(self.elapsed())} elapsed, "
                  f"ETA {clock(state.eta())}", always=True)

    # instances ---------------------------------------------------------------------------
    def started(self, node: str, attempt: int, reasons: Sequence[RerunReason],
                command: str | None = None) -> None:
        self.progress_state.start(node)
        again = f" (attempt {attempt})" if attempt > 1 else ""
        self._say(f"start       {node}{again}  [{'; '.join(str(r) for r in reasons)}]")
        if self._verbose and command is not None:
            self._say(f"            $ {command}")

    def still_up_to_date(self, node: str) -> None:
        self.progress_state.found_up_to_date(node)
        self._say(f"up to date  {node} (upstream outputs unchanged)")

    def retrying(self, node: str, outcome: Outcome) -> None:
        self.progress_state.running.pop(node, None)
        self._say(f"retry       {node}: {outcome.error}")

    def done(self, node: str, outcome: Outcome) -> None:
        self.progress_state.finish(node, outcome.duration, ok=True)
        if outcome.reason is not None:  # the step returned the seed's "skipped"
            self._say(f"skipped     {node}: {outcome.reason}")
        else:
            self._say(f"done        {node} ({outcome.duration:.1f} s)")

    def failed(self, node: str, outcome: Outcome) -> None:
        self._note_failure(node, outcome)
        first = outcome.error.splitlines()[0] if outcome.error else ""
        self._say(f"FAILED      {node}: {first}", always=True)

    def _note_failure(self, node: str, outcome: Outcome) -> None:
        self.progress_state.finish(node, outcome.duration, ok=False)
        self.progress_state.failures.append(Failure(node, outcome.error or "failed",
                                                    outcome.log_path))

    def _say(self, text: str, always: bool = False) -> None:
        if always or self._chatty:
            stamp = time.strftime("%H:%M:%S")
            print(f"{stamp} {text}", file=self._stream or sys.stderr, flush=True)
