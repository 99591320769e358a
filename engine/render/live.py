"""The live display of a run on a terminal, drawn with ``rich``.

Events only update a :class:`~engine.running.progress.RunProgress` (a few dict operations);
``rich.live.Live`` redraws from it four times a second in its own thread, so the display costs
the same whether a run has ten steps or ten thousand. Failures are printed above the live area
as they happen, with their log path, and stay on screen when the display ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from engine.model import Outcome, RerunReason
from engine.running.reporter import Reporter, clock

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.text import Text

RUNNING_SHOWN = 6  # the longest-running instances listed under the bar


class LiveReporter(Reporter):
    """A :class:`Reporter` that draws a live panel instead of printing every event."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False,
                 console: Console | None = None):
        super().__init__(stream, verbose=verbose)
        from rich.console import Console

        self._console = console or Console(file=stream, stderr=stream is None)
        self._live: Live | None = None

    # the run -----------------------------------------------------------------------------
    def run_started(self, instances: int, to_run: Sequence[str] = (),
                    expected: Mapping[str, float] | None = None, jobs: int = 1) -> None:
        super().run_started(instances, to_run, expected, jobs)
        from rich.live import Live

        self._live = Live(console=self._console, refresh_per_second=4, transient=True,
                          get_renderable=self._draw, redirect_stdout=False,
                          redirect_stderr=False)
        self._live.start()

    def run_finished(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # events: only the progress is updated, and failures are printed ------------------------
    def started(self, node: str, attempt: int, reasons: Sequence[RerunReason],
                command: str | None = None) -> None:
        self.progress_state.start(node)
        if self._verbose:
            self._print(f"start {node}  [{'; '.join(str(r) for r in reasons)}]"
                        + (f"\n  $ {command}" if command else ""))

    def failed(self, node: str, outcome: Outcome) -> None:
        self._note_failure(node, outcome)
        first = outcome.error.splitlines()[0] if outcome.error else "failed"
        log = f"\n  log: {outcome.log_path}" if outcome.log_path else ""
        from rich.text import Text

        # a Text, not markup: instance ids ("quant[SRR1]") and errors hold square brackets
        self._print(Text.assemble(("FAILED", "bold red"), f" {node}: {first}{log}"))

    def _say(self, text: str, always: bool = False) -> None:
        if self._verbose or (always and self._live is None):
            self._print(text)

    def _print(self, text: str | Text) -> None:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)

    # drawing (in rich's refresh thread) ---------------------------------------------------
    def _draw(self) -> RenderableType:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        state = self.progress_state
        finished, total = state.finished, max(state.total, 1)
        elapsed = self.elapsed()
        head = Table.grid(padding=(0, 1))
        head.add_row(ProgressBar(total=total, completed=finished, width=40),
                     Text(f"{finished}/{state.total}", style="bold"),
                     Text(f"{clock(elapsed)} elapsed, ETA {clock(state.eta())}", style="dim"))
        counts = Text.assemble(
            (f"{state.done} done", "green"), "  ", (f"{len(state.running)} running", "cyan"),
            "  ", (f"{state.failed} failed", "red" if state.failed else "dim"), "  ",
            (f"{state.up_to_date + state.up_to_date_before} up to date", "dim"), "  ",
            (f"{state.to_go} to go", "dim"))
        parts: list[Any] = [head, counts]
        for node, seconds in state.longest_running(RUNNING_SHOWN):
            parts.append(Text(f"  {clock(seconds)}  {node}", style="cyan"))
        hidden = len(state.running) - RUNNING_SHOWN
        if hidden > 0:
            parts.append(Text(f"  ... and {hidden} more running", style="dim"))
        return Group(*parts)


def reporter_for(verbose: bool, quiet: bool, stream: TextIO | None = None) -> Reporter:
    """The live display on a terminal (unless ``-q``, or ``TERM=dumb``); otherwise one line
    per event."""
    import os
    import sys

    target = stream or sys.stderr
    interactive = (hasattr(target, "isatty") and target.isatty()
                   and os.environ.get("TERM", "") != "dumb")
    if interactive and not quiet:
        return LiveReporter(stream, verbose=verbose)
    return Reporter(stream, verbose=verbose, quiet=quiet)
