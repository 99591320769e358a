"""The CLI's subcommands, one function each (argument parsing lives in engine.cli)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import envvars
from engine.errors import UsageError
from engine.render.jsonout import print_json
from engine.running.options import RunOptions, make_run_options

if TYPE_CHECKING:
    from engine.plan.workflow import Workflow
    from engine.registry import Port, StepInfo
    from engine.running.state import StateStore
    from engine.running.touch import TouchPlan


def _load(args: argparse.Namespace) -> Workflow:
    from engine.plan.workflow import load

    if not Path(args.spec).exists():
        raise UsageError(f"spec file not found: {args.spec}")
    workflow = load(args.spec, config_files=args.config, overrides=args.overrides,
                    strict=getattr(args, "strict", False),
                    state_dir=getattr(args, "state_dir", None))
    for warning in workflow.warnings:
        print(warning.render(), file=sys.stderr)
    return workflow


def run_options(args: argparse.Namespace, workflow: Workflow) -> RunOptions:
    """The one :class:`RunOptions` of this invocation, from its arguments."""
    backend = getattr(args, "backend", "processes")
    backend_options: dict[str, Any] = {}
    if backend == "dask":
        backend_options = {"scheduler": args.scheduler or envvars.read(envvars.DASK_SCHEDULER),
                           "cluster": args.cluster, "config": workflow.config.values.get("dask")}
    return make_run_options(
        jobs=getattr(args, "jobs", None), state_dir=args.state_dir,
        keep_going=getattr(args, "keep_going", False), force=getattr(args, "force", ()),
        force_all=getattr(args, "force_all", False), until=getattr(args, "until", ()),
        only=getattr(args, "only", ()), resources=getattr(args, "resources", ()),
        backend=backend, backend_options=backend_options,
        keep_incomplete=getattr(args, "keep_incomplete", False),
        verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet", False),
        argv=sys.argv,
        rerun_triggers=getattr(args, "rerun_triggers", None),
        touch=getattr(args, "touch", None), targets=getattr(args, "targets", ()),
        keep_runs=getattr(args, "keep_runs", None),
    )


def cmd_run(args: argparse.Namespace, manage_gc: bool = False) -> int:
    workflow = _load(args)
    options = run_options(args, workflow)
    if args.graph_jobs and args.graph is None:
        args.graph = "text"  # --graph-jobs alone means: draw every instance, run nothing
    if args.dry_run or args.graph is not None:
        return _look(args, workflow, options)
    from engine.cli.streams import divert_lost_output
    from engine.render.live import reporter_for
    from engine.render.summary import summary
    from engine.running.orchestrate import RunSession

    divert_lost_output(os.path.join(options.log_dir, "mi-run.log"))
    with RunSession(workflow, options, reporter_for(options.verbose, options.quiet)) as session:
        if options.touch is not None:
            return _report_touch(session.touch())
        if manage_gc:
            # The console script ran planning without the cyclic GC; a long run (Dask
            # clients, asyncio) makes cycles, so collect again, after freezing the plan so
            # that it is never rescanned.
            gc.freeze()
            gc.enable()
        try:
            result = session.execute()
        finally:  # a failed or interrupted run is reported too
            if args.report or args.trace:
                _write_views(args, workflow.name, options, session.run_id, session.record_path)
    print(summary(result, workflow, options.argv, options.quiet,
                  resume=getattr(args, "resume", None)), file=sys.stderr)
    return 0 if result.ok else 1


def _write_views(args: argparse.Namespace, name: str, options: RunOptions,
                 run_id: str | None, record_path: str | None) -> None:
    """--report and --trace of the run that just ended (nothing ran: of the latest run).
    A view that cannot be written is said, and the run keeps its exit code."""
    from engine.errors import MiError
    from engine.running.runfiles import find_record, load_record

    if run_id is not None and record_path is None:
        print("mi-run: no report or trace: the run's record could not be written",
              file=sys.stderr)
        return
    try:
        if record_path is None:
            record_path = find_record(options.state_dir, name)
            print(f"mi-run: nothing ran; reporting the latest run, {os.path.basename(record_path)}",
                  file=sys.stderr)
        record = load_record(record_path)
        if args.trace:
            from engine.render.trace import write_trace

            rows = write_trace(record, args.trace)
            print(f"trace written to {args.trace} ({rows} attempts)", file=sys.stderr)
        if args.report:
            from engine.render.report import write_report

            size = write_report(record, args.report)
            print(f"report written to {args.report} ({size / 1e6:.1f} MB)", file=sys.stderr)
    except (MiError, OSError) as exc:
        print(f"mi-run: could not write the report or trace: {exc}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    """``mi-run report SPEC [--run ID] [-o FILE]``: the HTML report of a recorded run."""
    from engine.render.report import write_report
    from engine.running.runfiles import find_record, load_record

    workflow = _load(args)
    options = run_options(args, workflow)
    record = load_record(find_record(options.state_dir, workflow.name, args.run))
    size = write_report(record, args.output)
    print(f"report of run {record['run_id']} ({record['status']}) written to {args.output} "
          f"({size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def _report_touch(touched: TouchPlan) -> int:
    for node, path in touched.missing.items():
        print(f"mi-run: cannot accept {node}: output missing: {path} (run it instead)",
              file=sys.stderr)
    print(f"mi-run: accepted {len(touched.marked)} instance(s) as up to date; nothing was run"
          + (f"; {len(touched.missing)} not accepted" if touched.missing else ""), file=sys.stderr)
    return 1 if touched.missing else 0


def _look(args: argparse.Namespace, workflow: Workflow, options: RunOptions) -> int:
    """--dry-run and --graph: what a run would do, without running anything."""
    from engine.running.settle import plan_and_decide
    from engine.running.state import read_records

    records = read_records(options.state_dir, workflow.name)
    plan, decisions = plan_and_decide(workflow, records, options)
    if options.touch is not None:
        from engine.running.touch import plan_touch

        decisions = plan_touch(plan, decisions, options.touch).decisions(decisions)
    if args.graph is not None:
        from engine.render.graph import FORMATS, write_graph

        write_graph(plan, decisions, args.graph, jobs=args.graph_jobs)
        if not args.dry_run or args.graph in FORMATS:
            return 0  # a graph on stdout is all that goes there (| dot -Tsvg)
    if args.json:
        from engine.render.planjson import print_plan_json

        print_plan_json(plan, decisions,
                        [{"key": k, "why": w} for k, w in workflow.accepted_unused])
    else:
        from engine.render.dryrun import render_text

        print(render_text(plan, decisions, verbose=args.verbose, config=workflow.config))
        for key, why in workflow.accepted_unused:
            print(f"accepted, not used: {key}" + (f" ({why})" if why else ""))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """``mi-run clean SPEC --records --logs``: forget the records whose outputs are gone,
    remove the logs nobody will read again."""
    if not (args.records or args.logs):
        raise UsageError("say what to clean",
                         "mi-run clean SPEC --records forgets the records whose outputs no "
                         "longer exist; --logs removes the logs of instances the workflow no "
                         "longer has and of every run but each instance's latest")
    from engine.running.state import StateStore

    workflow = _load(args)
    options = run_options(args, workflow)
    with StateStore(options.state_dir) as store, store.lock():
        if args.records:
            _clean_records(store, workflow.name)
        if args.logs:
            _clean_logs(store, workflow, options.log_dir)
    return 0


def _clean_records(store: StateStore, name: str) -> None:
    records = store.records(name)

    def gone(outputs: Mapping[str, object]) -> bool:
        return any(not os.path.lexists(path) for path in outputs)

    latest = [i for i, r in records.items() if gone(r.outputs)]
    earlier = [key for key, r in records.earlier.items() if gone(r.outputs)]
    store.drop_records(name, latest, earlier)
    total = len(records) + len(records.earlier)
    forgotten = len(latest) + len(earlier)
    print(f"forgot {forgotten} record(s) whose outputs no longer exist; "
          f"{total - forgotten} kept", file=sys.stderr)


def _clean_logs(store: StateStore, workflow: Workflow, log_dir: str) -> None:
    from engine.running.logfiles import instance_name, stale_logs

    plan = workflow.plan()
    current: dict[str, set[str]] = {}
    for instance in plan.instances.values():
        current.setdefault(instance.step, set()).add(
            instance_name(instance.label, instance.step))
    runs = [r.run_id for r in store.runs(limit=1_000_000) if r.workflow == workflow.name]
    open_steps = {plan.step_of(node) for node in plan.pending}
    removed = freed = 0
    for path in stale_logs(log_dir, runs, current, open_steps):
        try:
            size = os.path.getsize(path)
            os.unlink(path)
        except OSError:
            continue
        removed, freed = removed + 1, freed + size
    print(f"removed {removed} log(s) ({freed / 1e6:.1f} MB) of instances the workflow no longer "
          "has and of runs before each instance's latest", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    workflow = _load(args)
    plan = workflow.plan()
    print(f"{args.spec}: ok — workflow '{workflow.name}', {len(workflow.spec.steps)} steps, "
          f"{len(plan.instances)} instances"
          + (f", {len(plan.pending)} pending fan-outs" if plan.pending else ""))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.spec.schema import load_schema

    print(json.dumps(load_schema(), indent=2))
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    from engine.registry import get_step, registered_steps

    if args.name:
        info = get_step(args.name)
        if args.json:
            print_json({"name": info.name, **_step_json(info)})
            return 0
        print(f"{info.name}  ({info.module})")
        if info.description:
            print("\n" + info.description + "\n")
        print(_ports_table("inputs", info.inputs))
        print(_ports_table("outputs", info.outputs))
        print(_params_table(info.params_schema))
        return 0
    steps = registered_steps()
    if args.json:
        print_json({name: _step_json(s) for name, s in steps.items()})
        return 0
    width = max((len(n) for n in steps), default=10) + 2
    for name, info in steps.items():
        first = info.description.splitlines()[0] if info.description else ""
        print(f"{name:<{width}}{first}")
    return 0


def _step_json(info: StepInfo) -> dict[str, Any]:
    """A registered step for ``steps --json`` (inputs/outputs null: any names)."""
    return {"description": info.description, "params": info.params_schema,
            "inputs": None if info.inputs is None else [p.as_json() for p in info.inputs],
            "outputs": None if info.outputs is None else [p.as_json() for p in info.outputs]}


def _ports_table(which: str, ports: tuple[Port, ...] | None) -> str:
    if ports is None:
        return f"{which}: any names (the step declares none)"
    if not ports:
        return f"{which}: none"
    lines = [f"{which}:"]
    for port in ports:
        notes = ["required" if port.required else "optional", *port.suffixes]
        lines.append(f"  {port.name} ({', '.join(notes)})"
                     + (f": {port.description}" if port.description else ""))
    return "\n".join(lines)


def _params_table(schema: Mapping[str, Any]) -> str:
    props = schema.get("properties") or {}
    if not props:
        return "params: none"
    lines = ["params:"]
    for key, prop in props.items():
        kind = prop.get("type", "any")
        kind = "|".join(kind) if isinstance(kind, list) else kind
        if "enum" in prop:
            kind = "|".join(map(str, prop["enum"]))
        default = f" (default: {json.dumps(prop['default'])})" if "default" in prop else ""
        required = " (required)" if key in schema.get("required", []) else ""
        lines.append(f"  {key}: {kind}{default}{required}")
        if prop.get("description"):
            lines.append(f"      {prop['description']}")
    if schema.get("additionalProperties") is not False:
        lines.append("  (other params are passed through)")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    from engine.render.status import print_status

    workflow = _load(args)
    return print_status(workflow, run_options(args, workflow), args.json, args.logs)


def cmd_log(args: argparse.Namespace) -> int:
    from engine.render.logview import print_log

    if args.attempt is not None and args.all_attempts:
        raise UsageError("--attempt and --all cannot be used together")
    if args.attempt is not None and args.attempt < 1:
        raise UsageError(f"--attempt must be 1 or more, got {args.attempt}")
    workflow = _load(args)
    return print_log(workflow, run_options(args, workflow), args.instance, args.attempt,
                     args.all_attempts)


def cmd_step(args: argparse.Namespace) -> int:
    from engine.cli.oneoff import run_one_step

    return run_one_step(args)
