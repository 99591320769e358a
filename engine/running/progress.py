"""Where a run stands, kept up to date by the reporter's events and read by whatever draws it
(the live display, the periodic progress line, the end summary).

Updating is a few dict operations per event, so that a run of 10,000 tiny steps pays almost
nothing for it; drawing reads it at its own pace.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Failure:
    node: str
    error: str
    log_path: str | None


@dataclass
class RunProgress:
    total: int = 0  # instances of the plan (grows when fan-outs expand)
    jobs: int = 1
    done: int = 0
    failed: int = 0
    up_to_date: int = 0  # of the instances to run, found up to date on the way
    up_to_date_before: int = 0  # up to date when the run started (not in ``total``)
    started_at: float = field(default_factory=time.monotonic)
    running: dict[str, float] = field(default_factory=dict)  # node -> monotonic start
    failures: list[Failure] = field(default_factory=list)
    expected: Mapping[str, float] = field(default_factory=dict)  # node -> earlier duration
    _finished_time: float = 0.0  # summed durations of the instances done here
    _expected_left: float = 0.0  # summed earlier durations of the instances not finished
    _unknown_left: int = 0  # instances not finished with no earlier duration

    def plan(self, total: int, to_run: list[str], expected: Mapping[str, float],
             jobs: int) -> None:
        self.total, self.jobs, self.expected = total, max(jobs, 1), expected
        known = [expected[n] for n in to_run if n in expected]
        self._expected_left = sum(known)
        self._unknown_left = len(to_run) - len(known)

    def grew(self, total: int, new: list[str]) -> None:
        self.total = total
        self._unknown_left += sum(1 for n in new if n not in self.expected)
        self._expected_left += sum(self.expected.get(n, 0.0) for n in new)

    def start(self, node: str) -> None:
        self.running[node] = time.monotonic()

    def found_up_to_date(self, node: str) -> None:
        self.up_to_date += 1
        self._forget_expected(node)

    def finish(self, node: str, duration: float, ok: bool) -> None:
        self.running.pop(node, None)
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self._finished_time += duration
        self._forget_expected(node)

    def _forget_expected(self, node: str) -> None:
        if node in self.expected:
            self._expected_left = max(self._expected_left - self.expected[node], 0.0)
        else:
            self._unknown_left = max(self._unknown_left - 1, 0)

    @property
    def to_go(self) -> int:
        return max(self.total - self.done - self.failed - self.up_to_date - len(self.running), 0)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.up_to_date

    def eta(self) -> float | None:
        """Seconds left: the earlier runs' durations of what is left (instances never timed
        count as the mean of those finished in this run), spread over the cores; None before
        anything is known."""
        finished_here = self.done + self.failed
        mean = self._finished_time / finished_here if finished_here else None
        if self._unknown_left and mean is None:
            return None
        work = self._expected_left + self._unknown_left * (mean or 0.0)
        now = time.monotonic()
        for started in self.running.values():  # what the running ones have done already
            work -= min(now - started, mean or 0.0)
        return max(work, 0.0) / self.jobs

    def longest_running(self, count: int) -> list[tuple[str, float]]:
        now = time.monotonic()
        ordered = sorted(self.running.items(), key=lambda item: item[1])[:count]
        return [(node, now - started) for node, started in ordered]
