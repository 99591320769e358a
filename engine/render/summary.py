"""The end-of-run summary the CLI prints.

Its shape, each part only when it has something to say::

    mi-run: NAME: 10 completed, 2 up to date, 1 failed in 12.3 s        (counts, wall time)
    critical path 9.1 s: fetch[a] 1.0 s → quant[a] 7.0 s → merge 1.1 s
    slowest steps: quant 40.2 s (×12, longest quant[s3] 7.0 s), fetch 8.0 s (×12), merge 1.1 s

    FAILED bad: command failed (exit status 2)
      log: .mi/logs/bad/bad.20261205-161043-ab12cd.1.log
      last lines of the log:
        oops

    fix the problem, then resume with: mi-run wf.yaml
    (steps that completed will not run again)
    results are in: out

A failure's text is printed once: the log's last lines are what the step wrote (the engine's own
``[mi-run]`` lines and lines repeating the error are left out), and a hint that only points at
the log is dropped. With more than :data:`FULL_UP_TO` failures the first :data:`FULL_WHEN_MANY`
are shown in full and the next :data:`LISTED` one line each. ``quiet`` (``-q``) leaves out the
critical path, the slowest steps and where the results are.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from engine.logtail import tail_of
from engine.model import Status
from engine.plan.workflow import Workflow
from engine.render.shown import clip, shown_path
from engine.running.result import FailedStep, RunResult

FULL_UP_TO = 5  # failures shown in full when there are no more than this
FULL_WHEN_MANY = 3  # failures shown in full when there are more
LISTED = 20  # further failures listed one line each
TAIL_LINES = 8  # lines of a failed instance's log
SLOWEST = 3  # steps named as the slowest
PATH_SHOWN = 6  # instances of a longer critical path named (its first and last ones)


def summary(result: RunResult, workflow: Workflow, argv: Sequence[str] = (),
            quiet: bool = False, resume: str | None = None) -> str:
    """``argv``: the command line (program name first), repeated in the resume command;
    ``resume``: the arguments to repeat instead (``rna run --config X``: a domain command)."""
    lines = [_headline(result, workflow)]
    if not quiet:
        lines.extend(_timings(result))
        lines.extend(_notes(result))
    lines.extend(_failures(result.failed))
    if result.failed or result.count(Status.NOT_STARTED):
        given = list(argv[1:])
        command = shlex.join(given) if workflow.spec.path in given else workflow.spec.path
        command = resume or command
        lines.append(f"\nfix the problem, then resume with: mi-run {command}"
                     "\n(steps that completed will not run again)")
    outputs = workflow.config.values.get("work_dir")
    if outputs and result.count(Status.COMPLETED) and not quiet:
        lines.append(f"results are in: {outputs}")
    return "\n".join(lines)


def _headline(result: RunResult, workflow: Workflow) -> str:
    completed, up_to_date = result.count(Status.COMPLETED), result.count(Status.UP_TO_DATE)
    not_started = result.count(Status.NOT_STARTED)
    if completed == 0 and not result.failed and not not_started and not _skipped_by_step(result):
        return (f"mi-run: {workflow.name}: all up to date — nothing to do "
                f"({up_to_date} instances)")
    parts = [f"{completed} completed", f"{up_to_date} up to date"]
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    if not_started:
        parts.append(f"{not_started} not started")
    if result.count(Status.NOT_SELECTED):
        parts.append(f"{result.count(Status.NOT_SELECTED)} not selected")
    by_step = len(_skipped_by_step(result))
    if by_step:
        parts.append(f"{by_step} skipped")
    if result.count(Status.SKIPPED) > by_step:
        parts.append(f"{result.count(Status.SKIPPED) - by_step} disabled")
    return f"mi-run: {workflow.name}: " + ", ".join(parts) + f" in {result.elapsed:.1f} s"


def _skipped_by_step(result: RunResult) -> dict[str, str]:
    """Instances whose step returned the seed's ``{"status": "skipped", "reason": ...}``."""
    return {node: outcome.reason or "" for node, outcome in result.outcomes.items()
            if outcome.status is Status.SKIPPED}


def _notes(result: RunResult) -> list[str]:
    """What the steps said without failing: skips with their reasons, then warnings."""
    lines = [f"skipped {node}: {clip(reason, 160)}"
             for node, reason in list(_skipped_by_step(result).items())[:LISTED]]
    warned = [(node, w) for node, o in result.outcomes.items() for w in o.warnings]
    if warned:
        lines.append(f"warnings ({len(warned)}):")
        lines.extend(f"  {node}: {clip(w, 160)}" for node, w in warned[:LISTED])
        if len(warned) > LISTED:
            lines.append(f"  ... and {len(warned) - LISTED} more (mi-run report SPEC shows them)")
    return lines


def _timings(result: RunResult) -> list[str]:
    """The critical path and the slowest steps, when at least two instances ran."""
    outcomes = result.outcomes
    if len(outcomes) < 2:
        return []
    lines = []
    chain = [n for n in result.critical_path if n in outcomes]
    if chain:
        spent = {n: result.time_spent.get(n, outcomes[n].duration) for n in chain}
        total = sum(spent.values())
        named = [f"{n} {spent[n]:.1f} s" for n in chain]
        if len(named) > PATH_SHOWN:
            left = len(named) - PATH_SHOWN + 1
            named = [*named[:PATH_SHOWN - 2], f"({left} more)", named[-1]]
        lines.append(f"critical path {total:.1f} s: " + " → ".join(named))
    steps: dict[str, list[tuple[float, str]]] = {}
    for node, outcome in outcomes.items():  # an instance id is STEP or STEP[label]
        steps.setdefault(node.partition("[")[0], []).append((outcome.duration, node))
    if len(steps) >= 2:
        ranked = sorted(steps.items(), key=lambda item: -sum(d for d, _ in item[1]))[:SLOWEST]
        lines.append("slowest steps: " + ", ".join(_step_time(s, t) for s, t in ranked))
    return lines


def _step_time(step: str, times: list[tuple[float, str]]) -> str:
    total = sum(d for d, _ in times)
    if len(times) == 1:
        return f"{step} {total:.1f} s"
    longest, node = max(times)
    return f"{step} {total:.1f} s (×{len(times)}, longest {node} {longest:.1f} s)"


def _failures(failed: Sequence[FailedStep]) -> list[str]:
    full = failed if len(failed) <= FULL_UP_TO else failed[:FULL_WHEN_MANY]
    lines = [line for one in full for line in _failure(one)]
    rest = failed[len(full):]
    if rest:
        lines.append(f"\nand {len(rest)} more failed instances:")
        for one in rest[:LISTED]:
            first = one.error.splitlines()[0] if one.error else "failed"
            log = f" (log: {shown_path(one.log_path)})" if one.log_path else ""
            lines.append(f"  {one.id}: {clip(first, 160)}{log}")
        if len(rest) > LISTED:
            lines.append(f"  ... and {len(rest) - LISTED} more (mi-run status SPEC lists them)")
    return lines


def _failure(failed: FailedStep) -> list[str]:
    first, *more = failed.error.splitlines() or ["failed"]
    tail = _step_lines(failed.log_path, first) if failed.log_path else []
    lines = [f"\nFAILED {failed.id}: {first}"]
    lines.extend("  " + clip(line) for line in more if line.strip() and line not in tail)
    if failed.hint and not (failed.log_path and failed.log_path in failed.hint):
        lines.append(f"  hint: {failed.hint}")
    if failed.log_path:
        lines.append(f"  log: {shown_path(failed.log_path)}")
    if tail:
        lines.append("  last lines of the log:")
        lines.extend("    " + clip(line) for line in tail)
    return lines


def _step_lines(log_path: str, error: str) -> list[str]:
    """The last lines the step itself wrote to its log: not the engine's ``[mi-run]`` lines,
    nor a line that repeats the error (the last line of a traceback)."""
    text = tail_of(Path(log_path), 60)
    kept = [line for line in text.splitlines()
            if line.strip() and not line.startswith("[mi-run] ") and line != error]
    return kept[-TAIL_LINES:]
