"""Job-level graphs of big fan-outs: past :data:`JOB_LIMIT` instances, groups instead of jobs.

A picture of thousands of instances side by side is a hairline: so ``--graph-jobs`` draws one
node per instance only up to :data:`JOB_LIMIT` instances. Past it, a step with at most
:data:`GROUPS_PER_STEP` instances still draws each of them; the instances of a bigger step are
grouped by the first key of their items when that makes at most :data:`GROUPS_PER_STEP`
groups (a ``product``, ``zip`` or ``table`` fan-out: ``call[chrom=chr1] ×40``), else drawn as
one node (``quant ×2000``); if that still makes more than :data:`JOB_LIMIT` nodes, every step
is one node. The graph says so, in its title and on stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.plan.plan import Plan

JOB_LIMIT = 300  # instances drawn one node each; past it, groups
GROUPS_PER_STEP = 40  # most groups one step's items may make (else the step is one node)


@dataclass(frozen=True)
class Grouping:
    group_of: Callable[[str], str]
    note: str  # what the graph says about the grouping


def job_grouping(plan: Plan) -> Grouping | None:
    """How to group the instances of ``plan``, or None to draw each one."""
    nodes = [*plan.instances, *plan.pending]
    if len(nodes) <= JOB_LIMIT:
        return None
    by_step: dict[str, list[str]] = {}
    for node in nodes:
        by_step.setdefault(plan.step_of(node), []).append(node)
    groups: dict[str, str] = {}
    keyed: dict[str, str] = {}  # step -> the item key it is grouped by
    for step, members in by_step.items():
        if len(members) <= GROUPS_PER_STEP:
            groups.update((n, n) for n in members)
            continue
        found = _by_first_key(plan, step, members)
        if found is None:
            groups.update(dict.fromkeys(members, step))
        else:
            keyed[step], chosen = found
            groups.update(chosen)
    total = f"{len(nodes):,} instances are more than {JOB_LIMIT}"
    if len(set(groups.values())) > JOB_LIMIT:
        return Grouping(plan.step_of, f"{total}: drawn as one node per step")
    how = "; ".join(f"{step} by {key}" for step, key in keyed.items())
    note = f"{total}: grouped by step" + (f" ({how})" if how else "")
    return Grouping(groups.__getitem__, note)


def _by_first_key(plan: Plan, step: str, members: list[str]
                  ) -> tuple[str, dict[str, str]] | None:
    """The first key of the step's items and each member's group, when grouping by it makes
    more than one group and fewer groups than members (at most :data:`GROUPS_PER_STEP`)."""
    items = [plan.instances[n].item if n in plan.instances else None for n in members]
    if not all(isinstance(i, Mapping) and i for i in items):
        return None
    first = {next(iter(i)) for i in items if isinstance(i, Mapping)}
    if len(first) != 1:
        return None
    key = first.pop()
    values = [str(i[key]) if isinstance(i, Mapping) else "" for i in items]
    distinct = len(set(values))
    if not 1 < distinct < len(members) or distinct > GROUPS_PER_STEP:
        return None
    return key, {n: f"{step}[{key}={v}]" for n, v in zip(members, values, strict=True)}
