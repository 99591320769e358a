"""Dry-run output: what will run and why, as text (grouped or per instance) or JSON rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from engine.model import Action, Reason, RerunReason, StepInstance

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.running.decide import Decision
    from engine.spec.config import ResolvedConfig


def decision_of(plan: Plan, node: str, decisions: Mapping[str, Decision] | None) -> tuple[Action, list[str]]:
    if node in plan.pending:
        return Action.PENDING, [plan.pending[node].reason]
    instance = plan.instances[node]
    if node in plan.disabled:
        return Action.DISABLED, [plan.disabled_reasons.get(instance.step, "disabled")]
    if decisions is not None and node in decisions:
        decision = decisions[node]
        return decision.action, [str(r) for r in decision.reasons]
    return Action.RUN, [str(RerunReason(Reason.NEVER_RUN))]


def plan_json(plan: Plan, decisions: Mapping[str, Decision] | None = None) -> dict[str, Any]:
    """The plan as JSON-ready data (``mi-run --dry-run --json``)."""
    return {"workflow": plan.workflow, "steps": plan_rows(plan, decisions)}


def plan_rows(plan: Plan, decisions: Mapping[str, Decision] | None = None) -> list[dict[str, Any]]:
    rows = []
    preds = plan.graph.predecessor_map()
    for node, instance, action, reasons in row_decisions(plan, decisions):
        rows.append({
            "id": node,
            "step": instance.step,
            "action": action,
            "reasons": reasons,
            "inputs": instance.inputs,  # str or tuple values: JSON lists already
            "outputs": instance.outputs,
            "depends_on": preds.get(node, []),
            "command": instance.command,  # the rendered shell command (None: a Python step)
            "uses": instance.uses,
        })
    for node, pending in plan.pending.items():
        rows.append({"id": node, "step": pending.step, "action": Action.PENDING.value,
                     "reasons": [pending.reason], "inputs": {}, "outputs": {},
                     "depends_on": preds.get(node, []), "command": None, "uses": None})
    return rows


def row_decisions(plan: Plan, decisions: Mapping[str, Decision] | None
                  ) -> Iterator[tuple[str, StepInstance, str, list[str]]]:
    """(node, instance, action, reasons) of every planned instance, in the plan's order.
    Instances that share a decision object share one reasons list (rendered once)."""
    never_run = [str(RerunReason(Reason.NEVER_RUN))]
    # Most decisions are shared objects (never run, up to date): render each one once.
    shared: dict[int, tuple[str, list[str]]] = {}
    disabled = plan.disabled
    for node, instance in plan.instances.items():
        decision = decisions.get(node) if decisions is not None else None
        if decision is not None and node not in disabled:
            known = shared.get(id(decision))
            if known is None:
                known = shared[id(decision)] = (decision.action.value,
                                                [str(r) for r in decision.reasons])
            action, reasons = known
        elif decisions is None and node not in disabled:  # no state yet
            action, reasons = "run", never_run
        else:
            found, why = decision_of(plan, node, decisions)
            action, reasons = found.value, why
        yield node, instance, action, reasons


def summary_counts(plan: Plan, decisions: Mapping[str, Decision] | None) -> Counter[str]:
    """Instances per category: the actions, and 'not selected' apart from 'up to date' (an
    instance --only/--until leave out may never have run)."""
    counts: Counter[str] = Counter()
    for node in [*plan.instances, *plan.pending]:
        action, reasons = decision_of(plan, node, decisions)
        if action is Action.SKIP and reasons and reasons[0] == Reason.NOT_SELECTED.value:
            counts["not selected"] += 1
        else:
            counts[action.value] += 1
    return counts


def summary_line(counts: Counter[str]) -> str:
    touched = (f", {counts[Action.TOUCH.value]} to accept as up to date (--touch)"
               if counts[Action.TOUCH.value] else "")
    unselected = f", {counts['not selected']} not selected" if counts["not selected"] else ""
    return (f"{counts[Action.RUN.value]} to run, {counts[Action.SKIP.value]} up to date, "
            f"{counts[Action.DISABLED.value]} disabled, {counts[Action.PENDING.value]} pending "
            "expansion" + unselected + touched)


def render_text(plan: Plan, decisions: Mapping[str, Decision] | None = None, verbose: bool = False,
                config: ResolvedConfig | None = None) -> str:
    """One line per step (fan-outs grouped with counts), or per instance with ``verbose``."""
    by_step: dict[str, list[str]] = defaultdict(list)
    for node in [*plan.instances, *plan.pending]:
        by_step[plan.step_of(node)].append(node)
    rows: list[tuple[str, str, str]] = []
    commands: list[tuple[int, str]] = []  # (row index, what runs) with --verbose
    for step in plan.step_order:
        nodes = by_step.get(step, [])
        if not nodes:
            rows.append((step, "-", "fan-out has no items"))
            continue
        if verbose or len(nodes) == 1:
            for node in nodes:
                action, reasons = decision_of(plan, node, decisions)
                rows.append((node, action.value, "; ".join(reasons)))
                if verbose and node in plan.instances:
                    commands.append((len(rows) - 1, _what_runs(plan.instances[node])))
            continue
        actions: Counter[str] = Counter()
        reasons_count: Counter[str] = Counter()
        for node in nodes:
            action, reasons = decision_of(plan, node, decisions)
            actions[action.value] += 1
            for reason in reasons:
                reasons_count[_reason_kind(reason)] += 1
        action_text = ", ".join(f"{a} {c}" for a, c in actions.most_common())
        reason_text = "; ".join(f"{r} ({c})" for r, c in reasons_count.most_common(4))
        rows.append((f"{step} ×{len(nodes)}", action_text, reason_text))
    first = max((len(r[0]) for r in rows), default=4) + 2
    second = max((len(r[1]) for r in rows), default=4) + 2
    lines = [f"workflow {plan.workflow} ({plan.spec_path})"]
    shown = dict(commands)
    for index, (a, b, c) in enumerate(rows):
        lines.append(f"  {a:<{first}}{b:<{second}}{c}".rstrip())
        if index in shown:
            lines.append(f"      {shown[index]}")
    lines.append("summary: " + summary_line(summary_counts(plan, decisions)))
    if verbose and config is not None:
        lines.append("config (final value  <- where it was set):")
        lines.extend(_config_lines(config))
    return "\n".join(lines)


def _what_runs(instance: StepInstance) -> str:
    """``$ COMMAND`` of a shell step (as Snakemake's ``-np`` prints it), or the step function."""
    if instance.command is not None:
        return "$ " + instance.command.strip().replace("\n", "\n        ")
    return f"uses {instance.uses}"


_KINDS = {r.value for r in Reason}


def _reason_kind(reason: str) -> str:
    """'output missing: a/b.txt' -> 'output missing' (to count per kind); others as they are."""
    head = reason.split(":", 1)[0]
    return head if head in _KINDS else reason


def _config_lines(config: ResolvedConfig) -> list[str]:
    lines = []

    def walk(value: Any, where: tuple[str, ...]) -> None:
        if isinstance(value, Mapping) and value:
            for key, child in value.items():
                walk(child, (*where, key))
            return
        origin = config.origin(where)
        name = ".".join(map(str, where))
        lines.append(f"  {name} = {value!r}  <- {origin if origin else 'default'}")

    walk(config.values, ())
    return lines
