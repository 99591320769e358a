"""What a run returns: the status of every instance, the failures, the timings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.model import Outcome, Status


@dataclass(frozen=True)
class FailedStep:
    id: str
    error: str
    hint: str | None
    log_path: str


@dataclass(frozen=True)
class RunResult:
    run_id: str
    workflow: str
    statuses: Mapping[str, Status]
    failed: tuple[FailedStep, ...]
    elapsed: float
    outcomes: Mapping[str, Outcome] = field(default_factory=dict, repr=False)
    # the chain of instances that ran, by duration, that took longest (first one first)
    critical_path: tuple[str, ...] = ()
    # seconds each instance that ran spent in all its attempts (retries, interrupted included)
    time_spent: Mapping[str, float] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: Status) -> int:
        return sum(1 for s in self.statuses.values() if s is status)
