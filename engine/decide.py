"""Stage 6, decide: what is stale and why (filled in by the state store in part 2)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from engine.model import Action, RerunReason


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[RerunReason, ...] = ()


def plan_and_decide(workflow, args: argparse.Namespace):
    plan = workflow.plan()
    return plan, None
