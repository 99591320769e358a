"""``mi-run log SPEC INSTANCE [--attempt N] [--all]``: an instance's attempt logs.

The latest attempt is the one its record names (the last attempt of the latest run in which it
ran, or the attempt running now); ``--attempt N`` picks another attempt of that run, ``--all``
prints every attempt of it. Log files are named as :mod:`engine.running.logfiles` says.
"""

from __future__ import annotations

import difflib
import os
import sys

from engine.errors import UsageError
from engine.plan.workflow import Workflow
from engine.render.shown import shown_path
from engine.running import logfiles
from engine.running.options import RunOptions
from engine.running.records import Record, Records
from engine.running.settle import plan_and_decide
from engine.running.state import read_records


def print_log(workflow: Workflow, options: RunOptions, instance: str, attempt: int | None,
              every: bool) -> int:
    """Print the log(s) to stdout; returns the exit status (1: no log to show)."""
    records = read_records(options.state_dir, workflow.name)
    record = records.get(instance)
    if record is None or not record.log_path:
        return _no_log(workflow, options, records, instance)
    paths = _chosen(record, attempt, every)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        print(f"mi-run: the log {shown_path(missing[0])} no longer exists (logs are kept for "
              f"the last {logfiles.KEEP_RUNS} runs of each instance)", file=sys.stderr)
        return 1
    for number, path in enumerate(paths):
        if len(paths) > 1:
            print(f"{'' if number == 0 else chr(10)}==> {shown_path(path)} <==")
        _copy(path)
    return 0


def _chosen(record: Record, attempt: int | None, every: bool) -> list[str]:
    """The log files asked for, of the run that ``record``'s log belongs to."""
    latest = str(record.log_path)
    this = logfiles.parse(latest)
    if this is None:  # a log of an earlier mi-run version: one file, every attempt in it
        if attempt is not None and attempt != record.attempts:
            raise UsageError(f"{record.instance_id} has one log, of attempt {record.attempts}")
        return [latest]
    run = [f for f in logfiles.attempts_of(latest) if f.run_id == this.run_id]
    run = run or [this]
    if every:
        return [f.path for f in run]
    if attempt is None:
        return [latest]
    for found in run:
        if found.attempt == attempt:
            return [found.path]
    made = ", ".join(str(f.attempt) for f in run)
    raise UsageError(f"{record.instance_id} has no attempt {attempt} in its latest run "
                     f"({this.run_id})", f"its attempts there: {made}")


def _copy(path: str) -> None:
    with open(path, encoding="utf-8", errors="replace") as handle:
        while chunk := handle.read(1 << 16):
            sys.stdout.write(chunk)
    sys.stdout.flush()


def _no_log(workflow: Workflow, options: RunOptions, records: Records, instance: str) -> int:
    plan, _ = plan_and_decide(workflow, records, options)
    known = [*plan.instances, *plan.pending]
    if instance in plan.instances or instance in plan.pending:
        print(f"mi-run: {instance} has not run yet: no log", file=sys.stderr)
        return 1
    members = [n for n in known if plan.step_of(n) == instance]
    if members:
        shown = ", ".join(members[:3]) + (", ..." if len(members) > 3 else "")
        raise UsageError(f"'{instance}' is a step with {len(members)} instances: name one",
                         f"for example: {shown} (mi-run status SPEC lists them)")
    raise UsageError(f"unknown instance '{instance}' in workflow '{workflow.name}'",
                     _did_you_mean(instance, known))


def _did_you_mean(instance: str, known: list[str]) -> str:
    step = instance.split("[", 1)[0]
    same_step = [n for n in known if n.split("[", 1)[0] == step]
    close = difflib.get_close_matches(instance, same_step or known, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "mi-run status SPEC lists the instances"
