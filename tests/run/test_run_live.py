"""The live display (issue #12): rich on a terminal, timestamped lines elsewhere."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from engine.render.live import LiveReporter, reporter_for
from engine.running.progress import RunProgress
from engine.running.reporter import Reporter
from tests.helpers.running import run, write_spec

SPEC = """
name: live
steps:
  - name: work
    foreach: [a, b, c, d]
    run: "sleep 0.3; echo {{ item }} > {{ outputs.o }}"
    outputs: {o: "out/{{ item }}.txt"}
  - name: bad
    foreach: [x]
    run: "echo oops >&2; exit 2"
"""


def test_the_live_display_draws_counts_running_instances_and_failures(work: Path) -> None:
    write_spec(work, SPEC)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    reporter = LiveReporter(console=console)
    result = run(reporter=reporter, keep_going=True)
    assert not result.ok
    text = screen.getvalue()
    # the instance's name in full: "[x]" is not taken for rich markup
    assert re.search(r"FAILED bad\[x\]: command failed \(exit status 2\)\n  log: \S*/bad/x\.\S+\.1\.log",
                     text)
    assert re.search(r"\d/5 .*elapsed, ETA", text)  # the bar's line was drawn
    assert "running" in text and "to go" in text
    assert re.search(r"  00:0\d  work\[[abcd]\]", text)  # a running instance and its time
    state = reporter.progress_state
    assert (state.done, state.failed, state.total) == (4, 1, 5)


def test_no_terminal_means_timestamped_lines(work: Path) -> None:
    assert type(reporter_for(False, False, io.StringIO())) is Reporter
    write_spec(work, SPEC)
    out = io.StringIO()
    run(reporter=Reporter(out), keep_going=True)
    lines = out.getvalue().splitlines()
    assert lines and all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert any(" done        work[a] (" in line for line in lines)


def test_eta_uses_earlier_durations_then_the_mean_of_this_run() -> None:
    progress = RunProgress()
    progress.plan(4, ["a", "b", "c", "d"], {"a": 10.0, "b": 10.0}, jobs=2)
    assert progress.eta() is None  # c and d were never timed and nothing finished yet
    progress.finish("a", 4.0, ok=True)  # mean of this run: 4 s
    assert progress.eta() == (10.0 + 4.0 + 4.0) / 2
    progress.finish("c", 6.0, ok=True)  # mean 5 s
    assert progress.eta() == (10.0 + 5.0) / 2


def test_a_big_run_without_a_terminal_prints_progress_lines_and_failures(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.running import reporter as reporter_module

    monkeypatch.setattr(reporter_module, "PROGRESS_EVERY", 0.0)  # a line after every batch
    items = ", ".join(f"i{n}" for n in range(reporter_module.CHATTY_UP_TO + 50))
    write_spec(work, f"""
name: big
steps:
  - name: work
    foreach: [{items}]
    run: "if [ {{{{ item }}}} = i7 ]; then exit 4; fi; echo > {{{{ outputs.o }}}}"
    outputs: {{o: "out/{{{{ item }}}}.txt"}}
""")
    out = io.StringIO()
    run(reporter=Reporter(out), keep_going=True)
    lines = out.getvalue().splitlines()
    assert lines and all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert not any(" start " in line or " done " in line for line in lines)  # no line per event
    progress = [line for line in lines if " progress " in line]
    assert progress and all(re.search(r"\d+/250 finished, \d+ running, [01] failed, "
                                      r"\d\d:\d\d elapsed, ETA ", line) for line in progress)
    assert [line[9:] for line in lines if "FAILED" in line] == [
        "FAILED      work[i7]: command failed (exit status 4)"]
