"""``mi-run status SPEC``: one line per step instance — up to date, stale and why, failed..."""

from __future__ import annotations

import argparse
import time
from typing import Any

from engine.cli import print_json
from engine.decide import open_records, plan_and_decide
from engine.model import Action


def status_rows(workflow: Any, state_dir: str | None) -> list[dict[str, Any]]:
    records = open_records(workflow, state_dir)
    plan, decisions = plan_and_decide(workflow, argparse.Namespace(state_dir=state_dir))
    rows = []
    for node, instance in plan.instances.items():
        record = records.get(node)
        if node in plan.disabled:
            state = "disabled"
        elif record is None:
            state = "never run"
        elif record.status == "failed":
            state = "failed: " + (record.error or "").splitlines()[0][:80] if record.error else "failed"
        elif decisions[node].action is Action.SKIP:
            state = "up to date"
        else:
            state = "stale: " + "; ".join(str(r) for r in decisions[node].reasons)
        rows.append({
            "id": node, "step": instance.step, "state": state,
            "last_run": record.ended if record else None,
            "duration": record.duration if record else None,
            "peak_mem_mb": record.peak_mem_mb if record else None,
            "log": record.log_path if record else None,
        })
    for node, pending in plan.pending.items():
        rows.append({"id": node, "step": pending.step, "state": pending.reason,
                     "last_run": None, "duration": None, "peak_mem_mb": None, "log": None})
    return rows


def print_status(workflow: Any, args: argparse.Namespace) -> int:
    rows = status_rows(workflow, args.state_dir)
    if args.json:
        print_json({"workflow": workflow.name, "instances": rows})
        return 0
    width = max((len(r["id"]) for r in rows), default=8) + 2
    print(f"{'instance':<{width}}{'last run':<21}{'duration':>10}  state")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["last_run"])) if row["last_run"] else "-"
        took = f"{row['duration']:.1f} s" if row["duration"] is not None else "-"
        print(f"{row['id']:<{width}}{when:<21}{took:>10}  {row['state']}")
    counts: dict[str, int] = {}
    for row in rows:
        key = row["state"].split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    print("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0
