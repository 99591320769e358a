"""Stage 7, schedule + execute: the one scheduling loop.

A step instance starts the moment its own dependencies are done and enough ``-j`` slots
(``threads``) and named resources are free: no level-by-level barriers. Among ready
instances the one with the longest remaining path to the end of the workflow goes first
(critical path first, weighted by last known durations), ties broken by plan order.

The loop is a state machine (:class:`LoopState`) plus resource accounting, like CPython's
``graphlib.TopologicalSorter`` driven by ``dask/local.py``: executors only run what it
submits, the :class:`~engine.running.record.Recorder` writes what happened, the
:class:`~engine.running.reporter.Reporter` tells the user.

Dynamic fan-outs: when every step a pending fan-out waits for has finished, the loop asks the
planner again (the tables now exist) and merges the new instances into the schedule.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from engine.executors.base import Executor
from engine.model import (
    Action,
    Outcome,
    Reason,
    RerunReason,
    Status,
    StepInstance,
    failed_outcome,
)
from engine.plan.plan import Plan
from engine.running.decide import Decision
from engine.running.record import Recorder
from engine.running.reporter import Reporter
from engine.running.result import FailedStep, RunResult


class LoopState(Enum):
    WAITING = "waiting"  # for upstream instances
    READY = "ready"  # in the ready heap, waiting for slots or resources
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"  # an upstream instance failed
    SKIPPED = "skipped"  # up to date, disabled or not selected


FINISHED = frozenset({LoopState.DONE, LoopState.SKIPPED})
_RESULT = {LoopState.DONE: Status.COMPLETED, LoopState.SKIPPED: Status.UP_TO_DATE,
           LoopState.FAILED: Status.FAILED}


@dataclass(frozen=True)
class LoopOptions:
    jobs: int
    keep_going: bool = False
    resources: Mapping[str, int] = field(default_factory=dict)
    selected: frozenset[str] | None = None  # instance ids to consider (--until/--only)
    poll: float = 0.5


@dataclass(frozen=True)
class Replanner:
    """What the loop asks of the planning stages while it runs."""

    replan: Callable[[set[str]], tuple[Plan, Mapping[str, Decision]]]  # ready steps -> plan
    recheck: Callable[[StepInstance], list[RerunReason]]  # own reasons, upstream finished
    durations: Mapping[str, float]  # last known durations, for the critical-path priority
    # --until/--only/targets of a (re)plan: instance ids to consider, None for all
    select: Callable[[Plan], set[str] | None] = lambda plan: None


class Scheduler:
    def __init__(self, plan: Plan, decisions: Mapping[str, Decision], executor: Executor,
                 options: LoopOptions, replanner: Replanner, recorder: Recorder,
                 reporter: Reporter):
        self.plan = plan
        self.executor = executor
        self.opts = options
        self.replanner = replanner
        self.recorder = recorder
        self.reporter = reporter
        self.state: dict[str, LoopState] = {}
        self.counts: Counter[LoopState] = Counter()
        self.decisions: dict[str, Decision] = {}
        self.waiting_on: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.ready: list[tuple[float, int, str]] = []
        self.outcomes: dict[str, Outcome] = {}
        self.failed: list[FailedStep] = []
        self.free_slots = options.jobs
        self.free_resources = dict(options.resources)
        self.stopping = False
        self.started_at = time.time()
        self.unselected: set[str] = set()
        self.selected: set[str] | frozenset[str] | None = options.selected
        self._order: dict[str, int] = {}
        self._priority: dict[str, float] = {}
        self._absorb(plan, decisions)

    def _set(self, node: str, state: LoopState) -> None:
        previous = self.state.get(node)
        if previous is not None:
            self.counts[previous] -= 1
        self.state[node] = state
        self.counts[state] += 1

    def _forget(self, node: str) -> None:
        self.counts[self.state.pop(node)] -= 1
        self.decisions.pop(node, None)
        self.waiting_on.pop(node, None)

    # bookkeeping ------------------------------------------------------------------------
    def _absorb(self, plan: Plan, decisions: Mapping[str, Decision]) -> None:
        """(Re)build the loop's view from a plan, keeping what already happened."""
        expanded = set(self.plan.pending) - set(plan.pending) if plan is not self.plan else set()
        if plan is not self.plan:  # an expansion: what --until/--only keep, in the new plan
            self.selected = self.replanner.select(plan)
        self.plan = plan
        for node in list(self.state):
            # a pending placeholder that has been expanded (its id may now name the instance)
            if node in expanded or (node not in plan.instances and node not in plan.pending):
                self._forget(node)
        weights = {n: d + 0.01 for n, d in self.replanner.durations.items()}
        self._priority = plan.graph.remaining_path_lengths(lambda n: weights.get(n, 1.0))
        self._order = {n: i for i, n in enumerate([*plan.instances, *plan.pending])}
        for node in self._order:
            if node not in self.state:
                self._admit(node, decisions)
        preds = plan.graph.predecessor_map()
        newly_ready: list[str] = []
        for node, state in self.state.items():
            if state is not LoopState.WAITING:
                continue
            count = sum(1 for p in preds.get(node, ()) if self.state.get(p) not in FINISHED)
            self.waiting_on[node] = count
            if count == 0:
                newly_ready.append(node)
        for node in newly_ready:
            self._became_ready(node)

    def _admit(self, node: str, decisions: Mapping[str, Decision]) -> None:
        """The first state of a node the loop has not seen before."""
        plan, selected = self.plan, self.selected
        if node in plan.disabled:
            self._set(node, LoopState.SKIPPED)
            return
        if selected is not None and node not in selected and node not in plan.pending:
            self._set(node, LoopState.SKIPPED)
            self.unselected.add(node)
            return
        decision = decisions.get(node) if node in plan.instances else None
        self.decisions[node] = decision or Decision(Action.RUN, (RerunReason(Reason.NEVER_RUN),))
        if decision is not None and decision.action is Action.SKIP:
            self._set(node, LoopState.SKIPPED)
            self.recorder.up_to_date(node)
            return
        self._set(node, LoopState.WAITING)

    def _became_ready(self, first: str) -> None:
        work = [first]
        while work:
            node = work.pop()
            if self.state.get(node) is not LoopState.WAITING:
                continue
            if node in self.plan.pending:
                self._set(node, LoopState.DONE)
                self._expand()
                continue
            decision = self.decisions[node]
            if decision.upstream_only:
                reasons = self.replanner.recheck(self.plan.instances[node])
                if not reasons:  # upstream rewrote identical files: still up to date
                    self._set(node, LoopState.SKIPPED)
                    self.recorder.up_to_date(node, self.plan.instances[node])
                    self.reporter.still_up_to_date(node)
                    work.extend(self._release(node))
                    continue
                self.decisions[node] = Decision(Action.RUN, tuple(reasons))
            self._push_ready(node)

    def _push_ready(self, node: str) -> None:
        self._set(node, LoopState.READY)
        heapq.heappush(self.ready, (-self._priority.get(node, 0.0), self._order[node], node))

    def _release(self, node: str) -> list[str]:
        """Children that became ready because ``node`` finished."""
        freed = []
        for child in self.plan.graph.successor_map().get(node, ()):
            if self.state.get(child) is not LoopState.WAITING:
                continue
            self.waiting_on[child] -= 1
            if self.waiting_on[child] == 0:
                freed.append(child)
        return freed

    def _expand(self) -> None:
        instances = self.plan.instances
        # a step left out by --until/--only has not written its tables: not ready
        finished_steps = {instances[n].step for n, s in self.state.items()
                          if s in FINISHED and n in instances and n not in self.unselected}
        unfinished = {instances[n].step for n, s in self.state.items()
                      if s not in FINISHED and n in instances}
        plan, decisions = self.replanner.replan(finished_steps - unfinished)
        self._absorb(plan, decisions)
        new = [n for n in plan.instances if n not in instances]
        self.reporter.fanout_expanded(len(new), self._to_run(new))

    # launching --------------------------------------------------------------------------
    def _needs(self, instance: StepInstance) -> tuple[int, dict[str, int]]:
        # Planning capped threads at -j already; the min keeps a hand-made plan schedulable.
        threads = min(max(instance.threads, 1), self.opts.jobs)
        wanted = {k: v for k, v in instance.resources.items() if k in self.opts.resources}
        return threads, wanted

    def _launch(self) -> None:
        skipped: list[tuple[float, int, str]] = []
        while self.ready and self.free_slots > 0 and not self.stopping:
            entry = heapq.heappop(self.ready)
            instance = self.plan.instances[entry[2]]
            threads, wanted = self._needs(instance)
            if self._refuse_too_big(instance, wanted):
                continue
            if threads > self.free_slots or any(v > self.free_resources[k] for k, v in wanted.items()):
                skipped.append(entry)  # backfill: a smaller ready instance may fit now
                continue
            self._take(threads, wanted, -1)
            self._submit(instance)
        for entry in skipped:
            heapq.heappush(self.ready, entry)

    def _refuse_too_big(self, instance: StepInstance, wanted: Mapping[str, int]) -> bool:
        too_big = {k: v for k, v in wanted.items() if v > self.opts.resources[k]}
        if not too_big:
            return False
        name, value = next(iter(too_big.items()))
        now = time.time()
        self._finish_failed(instance, failed_outcome(
            instance, 1, "", f"needs {name}={value} but --resources allows "
            f"{self.opts.resources[name]}", started=now, ended=now,
            hint=f"raise the limit (--resources {name}={value}) or lower the step's resources"))
        return True

    def _take(self, threads: int, wanted: Mapping[str, int], sign: int) -> None:
        """Charge (sign -1) or give back (sign +1) an instance's slots and resources."""
        self.free_slots += sign * threads
        for k, v in wanted.items():
            self.free_resources[k] += sign * v

    def _submit(self, instance: StepInstance) -> None:
        node = instance.id
        attempt = self.attempts.get(node, 0) + 1
        self.attempts[node] = attempt
        self._set(node, LoopState.RUNNING)
        log_path = self.recorder.log_path(instance, attempt)
        self.recorder.started(instance, attempt, log_path, self.decisions[node].reasons)
        self.reporter.started(node, attempt, self.decisions[node].reasons, instance.command)
        self.executor.submit(instance, attempt, log_path)

    # completion -------------------------------------------------------------------------
    def _handle(self, outcome: Outcome) -> None:
        node = outcome.instance_id
        instance = self.plan.instances[node]
        threads, wanted = self._needs(instance)
        self._take(threads, wanted, +1)
        if outcome.status is Status.FAILED:
            if outcome.attempt <= instance.retries and not self.stopping:
                self.recorder.retrying(instance, outcome)
                self.reporter.retrying(node, outcome)
                self._push_ready(node)
                return
            self._finish_failed(instance, outcome)
            return
        self.outcomes[node] = outcome
        self._set(node, LoopState.DONE)
        self.reporter.done(node, outcome)  # before its successors are reported started
        try:
            for child in self._release(node):
                self._became_ready(child)  # may expand a fan-out, which may find problems
            self._launch()  # successors start before the bookkeeping below, not after it
        finally:  # a fan-out's problem stops the run, but this instance did complete
            self.recorder.completed(instance, outcome)

    def _finish_failed(self, instance: StepInstance, outcome: Outcome) -> None:
        node = instance.id
        self.outcomes[node] = outcome
        self._set(node, LoopState.FAILED)
        self.failed.append(FailedStep(node, outcome.error or "failed", outcome.hint, outcome.log_path))
        self.recorder.failed(instance, outcome)
        self.reporter.failed(node, outcome)
        self._block_descendants(node)
        if not self.opts.keep_going:
            self.stopping = True

    def _block_descendants(self, node: str) -> None:
        succ = self.plan.graph.successor_map()
        work = list(succ.get(node, ()))
        while work:
            child = work.pop()
            if self.state.get(child) in (LoopState.WAITING, LoopState.READY):
                self._set(child, LoopState.BLOCKED)
                work.extend(succ.get(child, ()))
        self.ready = [e for e in self.ready if self.state.get(e[2]) is LoopState.READY]
        heapq.heapify(self.ready)

    # the loop ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        self.reporter.run_started(len(self.plan.instances), self._to_run(self.plan.instances),
                                  self.replanner.durations, self.opts.jobs)
        try:
            while True:
                self._launch()
                self.recorder.flush_if_due()  # after launching: a commit never delays a start
                if self.executor.running() == 0 and (not self.ready or self.stopping):
                    break
                for outcome in self.executor.wait(self.opts.poll):
                    self._handle(outcome)
                self.reporter.progress(self.counts[LoopState.DONE] + self.counts[LoopState.SKIPPED],
                                       len(self.state), self.executor.running(), len(self.failed))
        except BaseException:
            self._interrupt()
            raise
        finally:
            self.recorder.finished(self.plan, self._statuses())
            self.reporter.run_finished()
        return self._result()

    def _to_run(self, nodes: Iterable[str]) -> list[str]:
        waiting = (LoopState.WAITING, LoopState.READY)
        return [n for n in nodes if self.state.get(n) in waiting]

    def _interrupt(self) -> None:
        running = [self.plan.instances[n] for n, s in self.state.items()
                   if s is LoopState.RUNNING]
        self.recorder.interrupting(running)  # before the kill: its "SIGKILL" is no verdict
        self.executor.cancel_all()
        self.recorder.interrupted(running)

    def _statuses(self) -> dict[str, Status]:
        """Every instance's status now (an instance still running was interrupted)."""
        statuses = {node: _RESULT.get(state, Status.NOT_STARTED)
                    for node, state in self.state.items() if node in self.plan.instances}
        statuses.update((n, Status.INTERRUPTED) for n, s in self.state.items()
                        if s is LoopState.RUNNING and n in self.plan.instances)
        # a step that ran and returned the seed's {"status": "skipped", "reason": ...}
        statuses.update((n, Status.SKIPPED) for n, o in self.outcomes.items()
                        if o.status is Status.SKIPPED and n in self.plan.instances)
        statuses.update(dict.fromkeys(self.plan.disabled, Status.SKIPPED))
        statuses.update(dict.fromkeys(self.unselected, Status.NOT_SELECTED))
        return statuses

    def _result(self) -> RunResult:
        runlog = self.recorder.runlog  # the run record's critical path is the same one
        return RunResult(self.recorder.run_id, self.plan.workflow, self._statuses(),
                         tuple(self.failed), time.time() - self.started_at, dict(self.outcomes),
                         runlog.critical_path(self.plan)[0], runlog.time_spent())
