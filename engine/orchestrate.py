"""Running a workflow: lock the state dir, plan, decide, loop, record, summarise."""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import signal
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.context import tail_of
from engine.decide import DEFAULT_STATE_DIR, Decision, decide, forced_predicate, selection, settle
from engine.errors import Interrupted, UsageError
from engine.model import Action, Status
from engine.plan import Plan
from engine.scheduler import LoopOptions, RunResult, Scheduler
from engine.workflow import Workflow
from engine.workflow import load as load_workflow


def _as_workflow(workflow_or_spec: Any, **load_options: Any) -> Workflow:
    if isinstance(workflow_or_spec, Workflow):
        return workflow_or_spec
    return load_workflow(workflow_or_spec, **load_options)


def parse_resources(items: Iterable[str] | Mapping[str, int] | None) -> dict[str, int]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): int(v) for k, v in items.items()}
    limits: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"--resources expects NAME=INTEGER, got '{item}'",
                             "for example: --resources mem_mb=16000")
        limits[name.strip()] = int(value)
    return limits


def run_workflow(
    workflow_or_spec: Any,
    *,
    jobs: int | None = None,
    keep_going: bool = False,
    force: Iterable[str] = (),
    force_all: bool = False,
    until: Iterable[str] = (),
    only: Iterable[str] = (),
    resources: Iterable[str] | Mapping[str, int] | None = None,
    backend: str = "processes",
    backend_options: Mapping[str, Any] | None = None,
    state_dir: str | None = None,
    keep_incomplete: bool = False,
    verbose: bool = False,
    argv: Iterable[str] = (),
    config_files: Iterable[str] = (),
    overrides: Mapping[str, Any] | Iterable[str] = (),
) -> RunResult:
    """Run a workflow (or spec path) to completion; returns statuses, failures and timings."""
    from engine.state import StateStore

    workflow = _as_workflow(workflow_or_spec, config_files=config_files, overrides=overrides)
    jobs = jobs or int(os.environ.get("MI_JOBS", 0)) or (os.cpu_count() or 1)
    if jobs < 1:
        raise UsageError(f"-j must be at least 1, got {jobs}")
    limits = parse_resources(resources)
    folder = os.path.abspath(state_dir or os.environ.get("MI_STATE_DIR") or DEFAULT_STATE_DIR)
    forced = forced_predicate(workflow.spec.step_names, force, force_all)
    store = StateStore(folder)
    with store, store.lock():
        records = store.records(workflow.name)

        def replan(ready_steps: set[str]) -> tuple[Plan, dict[str, Decision]]:
            plan = workflow.plan(table_ready=lambda step: step in ready_steps)
            return plan, decide(plan, records, forced)

        plan, decisions = settle(workflow, records, forced)
        selected = selection(plan, until, only)
        if not plan.pending and not any(
                d.action is Action.RUN and (selected is None or n in selected)
                for n, d in decisions.items()):
            # Nothing to do: no executor, no worker processes, no run row.
            statuses = {n: Status.UP_TO_DATE if selected is None or n in selected
                        else Status.NOT_SELECTED for n in decisions}
            statuses.update({n: Status.SKIPPED for n in plan.disabled})
            return RunResult("", workflow.name, statuses, (), 0.0)
        options = LoopOptions(jobs=jobs, keep_going=keep_going, keep_incomplete=keep_incomplete,
                              resources=limits, selected=selected,
                              log_dir=os.path.join(folder, "logs"), verbose=verbose)
        # The CLI turns the cyclic GC off for planning; a long run (Dask clients, asyncio) makes
        # cycles, so collect again — after freezing the plan so it is never rescanned.
        gc.freeze()
        gc.enable()
        run_id = store.begin_run(workflow=workflow.name, argv=list(argv), spec_path=workflow.spec.path)
        from engine.executors import make_executor

        backend_kw = dict(backend_options or {})
        orphans = os.path.join(folder, "running")
        from engine.executors.spawn import reap_orphans

        for stopped in reap_orphans(orphans):  # left running by an engine that was killed
            print(f"stopped {stopped}, still running from an interrupted run", file=sys.stderr)
        if backend == "processes":
            backend_kw.setdefault("orphan_dir", orphans)
        executor = make_executor(backend, **backend_kw)
        executor.start(jobs)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        status = "failed"
        try:
            scheduler = Scheduler(plan, decisions, records, executor, store, run_id, options,
                                  replan, forced)
            result = scheduler.run()
            status = "completed" if result.ok else "failed"
        except KeyboardInterrupt:
            status = "interrupted"
            raise Interrupted("interrupted: running steps were stopped; their partial outputs "
                              "were removed. Run the same command again to resume.") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
            executor.shutdown()
            store.end_run(run_id, status)
    return result


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_from_cli(workflow: Workflow, args: argparse.Namespace) -> int:
    backend_options: dict[str, Any] = {}
    if args.backend == "dask":
        backend_options = {"scheduler": args.scheduler or os.environ.get("MI_DASK_SCHEDULER"),
                           "cluster": args.cluster, "config": workflow.config.values.get("dask")}
    result = run_workflow(
        workflow, jobs=args.jobs, keep_going=args.keep_going, force=args.force,
        force_all=args.force_all, until=args.until, only=args.only, resources=args.resources,
        backend=args.backend, backend_options=backend_options, state_dir=args.state_dir,
        keep_incomplete=args.keep_incomplete, verbose=args.verbose, argv=sys.argv,
    )
    print(summary(result, workflow), file=sys.stderr)
    return 0 if result.ok else 1


def _shown(path: str) -> str:
    """A path as the user would type it: relative when it lies below the current directory."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _clip(line: str, width: int = 240) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def summary(result: RunResult, workflow: Workflow) -> str:
    completed = result.count(Status.COMPLETED)
    up_to_date = result.count(Status.UP_TO_DATE)
    not_started = result.count(Status.NOT_STARTED)
    parts = [f"{completed} completed", f"{up_to_date} up to date"]
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    if not_started:
        parts.append(f"{not_started} not started")
    if result.count(Status.NOT_SELECTED):
        parts.append(f"{result.count(Status.NOT_SELECTED)} not selected")
    if result.count(Status.SKIPPED):
        parts.append(f"{result.count(Status.SKIPPED)} disabled")
    lines = []
    if completed == 0 and not result.failed and not not_started:
        lines.append(f"mi-run: {workflow.name}: all up to date — nothing to do "
                     f"({up_to_date} instances)")
    else:
        lines.append(f"mi-run: {workflow.name}: " + ", ".join(parts) + f" in {result.elapsed:.1f} s")
    for failed in result.failed[:10]:
        lines.append(f"\nFAILED {failed.id}: {failed.error}")
        if failed.hint:
            lines.append(f"  hint: {failed.hint}")
        if failed.log_path:
            lines.append(f"  log: {_shown(failed.log_path)}")
            tail = tail_of(Path(failed.log_path), 8)
            if tail:
                lines.append("  last lines of the log:")
                lines.extend("    " + _clip(line) for line in tail.splitlines())
    if len(result.failed) > 10:
        lines.append(f"\n... and {len(result.failed) - 10} more failed instances")
    if result.failed or not_started:
        given = sys.argv[1:]
        command = shlex.join(given) if workflow.spec.path in given else workflow.spec.path
        lines.append(f"\nfix the problem, then resume with: mi-run {command}"
                     "\n(steps that completed will not run again)")
    outputs = workflow.config.values.get("work_dir")
    if outputs and completed:
        lines.append(f"results are in: {outputs}")
    return "\n".join(lines)
