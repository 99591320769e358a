"""What one run did to each instance, kept in memory while it runs (the run record's source).

The :class:`~engine.running.record.Recorder` notes every event here: an attempt submitted,
its outcome, a retry, an interrupt, and at the end the loop's final plan and statuses. Each
note is an append or a dict update (no I/O, no formatting), so a run of 10,000 tiny steps
does not get slower; :mod:`engine.running.runrecord` turns it into the JSON record once, when
the run ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.model import Outcome, RerunReason, Status, StepInstance

if TYPE_CHECKING:
    from engine.plan.plan import Plan


@dataclass(slots=True)
class Attempt:
    """One attempt of one instance: when the loop submitted it, and how it ended."""

    number: int
    submitted: float
    log_path: str
    outcome: Outcome | None = None
    interrupted_at: float | None = None  # still running when the run was interrupted

    @property
    def spent(self) -> float:
        """Seconds this attempt ran: its outcome's duration, or until the interruption."""
        if self.outcome is not None:
            return self.outcome.duration
        if self.interrupted_at is not None:
            return self.interrupted_at - self.submitted
        return 0.0

    @property
    def status(self) -> str:
        if self.outcome is not None:
            return self.outcome.status.value
        return Status.INTERRUPTED.value if self.interrupted_at is not None else Status.RUNNING.value


@dataclass
class RunLog:
    """Per-instance facts of one run, by instance id."""

    attempts: dict[str, list[Attempt]] = field(default_factory=dict)
    reasons: dict[str, Sequence[RerunReason]] = field(default_factory=dict)
    ran: dict[str, StepInstance] = field(default_factory=dict)  # instances that were submitted
    failed_unstarted: dict[str, Outcome] = field(default_factory=dict)  # refused before a start
    plan: Plan | None = None  # the loop's last plan (fan-outs expanded mid-run included)
    statuses: Mapping[str, Status] = field(default_factory=dict)
    up_to_date: set[str] = field(default_factory=set)

    def started(self, instance: StepInstance, attempt: int, log_path: str,
                reasons: Sequence[RerunReason]) -> None:
        node = instance.id
        entry = Attempt(attempt, time.time(), log_path)
        found = self.attempts.get(node)
        if found is None:
            self.attempts[node] = [entry]
            self.ran[node] = instance
            self.reasons[node] = reasons
        else:
            found.append(entry)

    def ended(self, instance: StepInstance, outcome: Outcome) -> None:
        """An attempt's outcome (completed, failed, or failed and retried)."""
        found = self.attempts.get(instance.id)
        if not found:  # failed before it could start (e.g. needs more than --resources)
            self.failed_unstarted[instance.id] = outcome
            self.ran[instance.id] = instance
            return
        found[-1].outcome = outcome

    def time_spent(self) -> dict[str, float]:
        """Seconds each instance that started ran, in all its attempts."""
        return {node: sum(a.spent for a in attempts) for node, attempts in self.attempts.items()}

    def critical_path(self, plan: Plan) -> tuple[tuple[str, ...], float]:
        """The chain of dependent instances whose attempts (retries and interrupted ones
        included) took the longest in all, first to last, and its total in seconds: what
        bounded the run's length. The end summary and the run record both show this one."""
        spent = self.time_spent()
        if not spent:
            return (), 0.0
        chain = tuple(n for n in plan.graph.longest_path(lambda n: spent.get(n, 0.0))
                      if spent.get(n))
        return chain, sum(spent[n] for n in chain)

    def interrupted(self, running: Iterable[StepInstance]) -> None:
        now = time.time()
        for instance in running:
            found = self.attempts.get(instance.id)
            if found and found[-1].outcome is None:
                found[-1].interrupted_at = now

    def finished(self, plan: Plan, statuses: Mapping[str, Status]) -> None:
        self.plan = plan
        self.statuses = statuses

