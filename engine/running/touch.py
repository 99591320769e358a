"""``--touch``: accept the outputs on disk as up to date, without running anything.

For a comment edit, a cosmetic change to a step's code, or outputs made outside mi-run: each
instance that would run (of the named steps, or of all) and whose outputs all exist is
recorded as completed now, with its current signature and the fingerprints of its inputs and
outputs, so that the next run finds it up to date. An instance with a missing output cannot
be accepted: it is reported and left to run.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import UsageError
from engine.executors.shell import output_fingerprints
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Action, Outcome, Reason, RerunReason, Status, StepInstance
from engine.running.decide import Decision

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.running.record import Recorder


@dataclass(frozen=True)
class TouchPlan:
    """What ``--touch`` does: the instances it marks, and those it cannot (missing output)."""

    marked: tuple[str, ...]
    missing: Mapping[str, str]  # instance id -> its first missing output

    def decisions(self, decisions: Mapping[str, Decision]) -> dict[str, Decision]:
        """The dry-run's view: marked instances as 'touch', with the reasons they had."""
        shown = dict(decisions)
        for node in self.marked:
            shown[node] = Decision(Action.TOUCH, decisions[node].reasons)
        for node, path in self.missing.items():
            shown[node] = Decision(Action.RUN, (RerunReason(Reason.OUTPUT_MISSING, path),))
        return shown


def plan_touch(plan: Plan, decisions: Mapping[str, Decision], steps: Iterable[str],
               selected: set[str] | None = None) -> TouchPlan:
    """Which instances ``--touch [STEP...]`` marks (no steps: every step's)."""
    wanted = set(steps)
    unknown = sorted(wanted - set(plan.step_order))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(plan.step_order), n=1)
        raise UsageError(f"--touch names unknown step '{unknown[0]}'",
                         f"did you mean '{close[0]}'?" if close else None)
    marked: list[str] = []
    missing: dict[str, str] = {}
    for node, decision in decisions.items():
        instance = plan.instances[node]
        if decision.action is not Action.RUN or (wanted and instance.step not in wanted):
            continue
        if selected is not None and node not in selected:
            continue
        _, absent = output_fingerprints(instance, DEFAULT_HASH_LIMIT)
        if absent:
            missing[node] = absent[0]
        else:
            marked.append(node)
    return TouchPlan(tuple(marked), missing)


def touch(plan: Plan, touch_plan: TouchPlan, recorder: Recorder) -> None:
    """Record every marked instance as completed now, upstream first (plan order), so that a
    marked dependent is fingerprinted against its upstream's accepted outputs."""
    now = time.time()
    for node in touch_plan.marked:
        instance: StepInstance = plan.instances[node]
        fps, _ = output_fingerprints(instance, DEFAULT_HASH_LIMIT)
        outcome = Outcome(instance_id=node, attempt=0, status=Status.COMPLETED, started=now,
                          ended=now, peak_mem_mb=None, log_path="", output_fps=fps,
                          metadata={"touched": True})
        recorder.completed(instance, outcome)
