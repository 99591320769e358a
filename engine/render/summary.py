"""The end-of-run summary the CLI prints: counts, each failure with its log, how to resume."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from engine.context import tail_of
from engine.model import Status
from engine.plan.workflow import Workflow
from engine.render.shown import shown_path
from engine.running.result import FailedStep, RunResult

SHOWN_FAILURES = 10


def summary(result: RunResult, workflow: Workflow) -> str:
    lines = [_headline(result, workflow)]
    for failed in result.failed[:SHOWN_FAILURES]:
        lines.extend(_failure(failed))
    if len(result.failed) > SHOWN_FAILURES:
        lines.append(f"\n... and {len(result.failed) - SHOWN_FAILURES} more failed instances")
    if result.failed or result.count(Status.NOT_STARTED):
        given = sys.argv[1:]
        command = shlex.join(given) if workflow.spec.path in given else workflow.spec.path
        lines.append(f"\nfix the problem, then resume with: mi-run {command}"
                     "\n(steps that completed will not run again)")
    outputs = workflow.config.values.get("work_dir")
    if outputs and result.count(Status.COMPLETED):
        lines.append(f"results are in: {outputs}")
    return "\n".join(lines)


def _headline(result: RunResult, workflow: Workflow) -> str:
    completed, up_to_date = result.count(Status.COMPLETED), result.count(Status.UP_TO_DATE)
    not_started = result.count(Status.NOT_STARTED)
    if completed == 0 and not result.failed and not not_started:
        return (f"mi-run: {workflow.name}: all up to date — nothing to do "
                f"({up_to_date} instances)")
    parts = [f"{completed} completed", f"{up_to_date} up to date"]
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    if not_started:
        parts.append(f"{not_started} not started")
    if result.count(Status.NOT_SELECTED):
        parts.append(f"{result.count(Status.NOT_SELECTED)} not selected")
    if result.count(Status.SKIPPED):
        parts.append(f"{result.count(Status.SKIPPED)} disabled")
    return f"mi-run: {workflow.name}: " + ", ".join(parts) + f" in {result.elapsed:.1f} s"


def _failure(failed: FailedStep) -> list[str]:
    lines = [f"\nFAILED {failed.id}: {failed.error}"]
    if failed.hint:
        lines.append(f"  hint: {failed.hint}")
    if failed.log_path:
        lines.append(f"  log: {shown_path(failed.log_path)}")
        tail = tail_of(Path(failed.log_path), 8)
        if tail:
            lines.append("  last lines of the log:")
            lines.extend("    " + _clip(line) for line in tail.splitlines())
    return lines


def _clip(line: str, width: int = 240) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."
