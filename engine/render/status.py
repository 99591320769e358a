"""``mi-run status SPEC``: one line per step instance — up to date, stale and why, failed..."""

from __future__ import annotations

import time
from typing import Any

from engine.model import Action, Status
from engine.plan.workflow import Workflow
from engine.render.jsonout import print_json
from engine.render.shown import shown_path
from engine.running.options import RunOptions
from engine.running.settle import plan_and_decide
from engine.running.state import read_records


def status_rows(workflow: Workflow, options: RunOptions) -> list[dict[str, Any]]:
    records = read_records(options.state_dir, workflow.name)
    plan, decisions = plan_and_decide(workflow, records, options)
    rows = []
    for node, instance in plan.instances.items():
        record = records.get(node)
        if node in plan.disabled:
            state = "disabled"
        elif record is None:
            state = "never run"
        elif record.running_pid is not None:
            state = f"running: pid {record.running_pid}"
        elif record.status is Status.SKIPPED:  # a step returned the seed's "skipped"
            state = f"skipped by the step: {record.error or 'no reason given'} (asked again next run)"
        elif record.status is Status.FAILED:
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


def print_status(workflow: Workflow, options: RunOptions, as_json: bool,
                 logs: bool = False) -> int:
    """``logs``: a column with each instance's latest log (what ``mi-run log`` prints)."""
    rows = status_rows(workflow, options)
    if as_json:
        print_json({"workflow": workflow.name, "instances": rows})
        return 0
    width = max([len(r["id"]) for r in rows] + [len("instance")]) + 2
    shown = [shown_path(r["log"]) if r["log"] else "-" for r in rows] if logs else []
    log_width = max([len(s) for s in shown] + [len("log")]) + 2
    log_head = f"{'log':<{log_width}}" if logs else ""
    print(f"{'instance':<{width}}{'last run':<21}{'duration':>10}  {log_head}state")
    for number, row in enumerate(rows):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["last_run"])) if row["last_run"] else "-"
        took = f"{row['duration']:.1f} s" if row["duration"] is not None else "-"
        log = f"{shown[number]:<{log_width}}" if logs else ""
        print(f"{row['id']:<{width}}{when:<21}{took:>10}  {log}{row['state']}")
    counts: dict[str, int] = {}
    for row in rows:
        key = row["state"].split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    print("summary: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0
