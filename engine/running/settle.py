"""Plan and decide together: the plan a run (or a dry-run, or ``status``) starts from.

A fan-out over a table that another step writes is pending until that step has run. When the
step is already up to date its table will not change, so the fan-out is expanded now, before
anything runs; that repeats until nothing more can be expanded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.model import ALL_TRIGGERS, Action, Reason, RerunReason, Trigger
from engine.running.decide import UP_TO_DATE, Decision, Forced, decide, forced_predicate, selection
from engine.running.options import RunOptions

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.plan.workflow import Workflow
    from engine.running.records import Record

NOT_SELECTED = Decision(Action.SKIP, (RerunReason(Reason.NOT_SELECTED),))


def settle(workflow: Workflow, records: Mapping[str, Record], forced: Forced,
           max_threads: int | None = None,
           triggers: frozenset[Trigger] = ALL_TRIGGERS,
           resources: Mapping[str, int] | None = None) -> tuple[Plan, dict[str, Decision]]:
    """Plan and decide, expanding every pending fan-out whose table is already up to date.
    ``max_threads`` and ``resources`` are the run's ``-j`` and ``--resources``."""
    ready_steps: set[str] = set()
    while True:
        plan = workflow.plan(table_ready=ready_steps.__contains__, max_threads=max_threads,
                             resources=resources)
        decisions = decide(plan, records, forced, triggers)
        newly = {w for p in plan.pending.values() for w in p.waits_for
                 if w not in ready_steps and _step_up_to_date(plan, decisions, w)}
        if not newly:
            return plan, decisions
        ready_steps |= newly


def plan_and_decide(workflow: Workflow, records: Mapping[str, Record],
                    options: RunOptions) -> tuple[Plan, dict[str, Decision]]:
    """What a run with ``options`` would do: :func:`settle`, then ``--until``/``--only``
    mark the instances they leave out as 'not selected'."""
    forced = forced_predicate(workflow.spec.step_names, options.force, options.force_all)
    plan, decisions = settle(workflow, records, forced, options.jobs, options.rerun_triggers,
                             options.resources)
    chosen = selection(plan, options.until, options.only, options.targets)
    if chosen is not None:
        decisions = {n: (d if n in chosen else NOT_SELECTED) for n, d in decisions.items()}
    return plan, decisions


def _step_up_to_date(plan: Plan, decisions: Mapping[str, Decision], step: str) -> bool:
    nodes = [n for n, i in plan.instances.items() if i.step == step]
    return bool(nodes) and all(decisions.get(n, UP_TO_DATE).action is Action.SKIP for n in nodes)
