"""The CLI's subcommands, one function each (argument parsing lives in engine.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.cli import print_json
from engine.errors import UsageError


def _load(args: argparse.Namespace):
    from engine.workflow import load

    if not Path(args.spec).exists():
        raise UsageError(f"spec file not found: {args.spec}")
    return load(args.spec, config_files=args.config, overrides=args.overrides)


def cmd_run(args: argparse.Namespace) -> int:
    workflow = _load(args)
    looking = args.dry_run or args.graph is not None
    if not looking:
        from engine.orchestrate import run_from_cli

        return run_from_cli(workflow, args)
    from engine.decide import plan_and_decide

    plan, decisions = plan_and_decide(workflow, args)
    if args.graph is not None:
        from engine.render.graph import write_graph

        write_graph(plan, decisions, args.graph, jobs=args.graph_jobs)
        if not args.dry_run:
            return 0
    if args.json:
        print_json(plan.to_dict(decisions))
    else:
        from engine.render.dryrun import render_text

        print(render_text(plan, decisions, verbose=args.verbose, config=workflow.config))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    workflow = _load(args)
    plan = workflow.plan()
    print(f"{args.spec}: ok — workflow '{workflow.name}', {len(workflow.spec.steps)} steps, "
          f"{len(plan.instances)} instances"
          + (f", {len(plan.pending)} pending fan-outs" if plan.pending else ""))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.schema import load_schema

    print(json.dumps(load_schema(), indent=2))
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    from engine.registry import get_step, registered_steps

    if args.name:
        info = get_step(args.name)
        if args.json:
            print_json({"name": info.name, "description": info.description,
                        "params": info.params_schema})
            return 0
        print(f"{info.name}  ({info.module})")
        if info.description:
            print("\n" + info.description + "\n")
        print(_params_table(info.params_schema))
        return 0
    steps = registered_steps()
    if args.json:
        print_json({name: {"description": s.description, "params": s.params_schema}
                    for name, s in steps.items()})
        return 0
    width = max((len(n) for n in steps), default=10) + 2
    for name, info in steps.items():
        first = info.description.splitlines()[0] if info.description else ""
        print(f"{name:<{width}}{first}")
    return 0


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
    from engine.status import print_status

    return print_status(_load(args), args)


def cmd_step(args: argparse.Namespace) -> int:
    from engine.oneoff import run_one_step

    return run_one_step(args)


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
