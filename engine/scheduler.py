"""Stage 7, schedule + execute: the one scheduling loop.

A step instance starts the moment its own dependencies are done and enough ``-j`` slots
(``threads``) and named resources are free: no level-by-level barriers. Among ready
instances the one with the longest remaining path to the end of the workflow goes first
(critical path first, weighted by last known durations), ties broken by plan order. The loop
alone decides; executors only run what it submits, and only the loop writes the state store.

Dynamic fan-outs: when every step a pending fan-out waits for has finished, the loop asks the
planner again (the tables now exist) and merges the new instances into the schedule.
"""

from __future__ import annotations

import heapq
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.decide import Decision, own_reasons, signature_of
from engine.executors.base import Executor, Outcome, failed_outcome
from engine.fingerprint import Fingerprint, fingerprint
from engine.model import Action, Reason, RerunReason, Status, StepInstance

if TYPE_CHECKING:
    from engine.plan import Plan
    from engine.state import Record, StateStore

# Node states inside the loop.
WAITING, READY, RUNNING, DONE, FAILED, BLOCKED, SKIPPED = (
    "waiting", "ready", "running", "done", "failed", "blocked", "skipped")
FINISHED = {DONE, SKIPPED}


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

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: Status) -> int:
        return sum(1 for s in self.statuses.values() if s is status)


@dataclass
class LoopOptions:
    jobs: int
    keep_going: bool = False
    keep_incomplete: bool = False
    resources: Mapping[str, int] = field(default_factory=dict)
    selected: set[str] | None = None  # instance ids to consider (--until/--only); None = all
    log_dir: str = ".mi/logs"
    verbose: bool = False
    poll: float = 0.5


class Scheduler:
    def __init__(self, plan: Plan, decisions: Mapping[str, Decision], records: Mapping[str, Record],
                 executor: Executor, store: StateStore, run_id: str, options: LoopOptions,
                 replan: Callable[[set[str]], tuple[Plan, Mapping[str, Decision]]],
                 forced: Callable[[StepInstance], bool]):
        self.plan = plan
        self.records = records
        self.executor = executor
        self.store = store
        self.run_id = run_id
        self.opts = options
        self.replan = replan
        self.forced = forced
        self.state: dict[str, str] = {}
        self.decisions: dict[str, Decision] = {}
        self.waiting_on: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.ready: list[tuple[float, int, str]] = []
        self.outcomes: dict[str, Outcome] = {}
        self.failed: list[FailedStep] = []
        self.known_fps: dict[str, Fingerprint] = {}
        self.free_slots = options.jobs
        self.free_resources = dict(options.resources)
        self.stopping = False
        self.ran_steps: set[str] = set()
        self.started_at = time.time()
        self.last_progress = 0.0
        self._order: dict[str, int] = {}
        self.unselected: set[str] = set()
        self._priority: dict[str, float] = {}
        self._absorb(plan, decisions)

    # bookkeeping ------------------------------------------------------------------------
    def _absorb(self, plan: Plan, decisions: Mapping[str, Decision]) -> None:
        """(Re)build the loop's view from a plan, keeping what already happened."""
        expanded = set(self.plan.pending) - set(plan.pending) if plan is not self.plan else set()
        self.plan = plan
        for node in list(self.state):
            # a pending placeholder that has been expanded (its id may now name the instance)
            if node in expanded or (node not in plan.instances and node not in plan.pending):
                del self.state[node]
                self.decisions.pop(node, None)
                self.waiting_on.pop(node, None)
        weights = {n: (r.duration or 0.0) + 0.01 for n, r in self.records.items() if r.duration}
        self._priority = plan.graph.remaining_path_lengths(lambda n: weights.get(n, 1.0))
        self._order = {n: i for i, n in enumerate([*plan.instances, *plan.pending])}
        selected = self.opts.selected
        newly_ready: list[str] = []
        for node in self._order:
            if node in self.state:
                continue
            if node in plan.disabled:
                self.state[node] = SKIPPED
                continue
            if selected is not None and node not in selected and node not in plan.pending:
                self.state[node] = SKIPPED
                self.unselected.add(node)
                continue
            decision = decisions.get(node) if node in plan.instances else None
            self.decisions[node] = decision or Decision(Action.RUN, (RerunReason(Reason.NEVER_RUN),))
            if decision is not None and decision.action is Action.SKIP:
                self.state[node] = SKIPPED
                self._remember_outputs(node)
                continue
            self.state[node] = WAITING
        preds = plan.graph.predecessor_map()
        for node, state in self.state.items():
            if state != WAITING:
                continue
            count = sum(1 for p in preds.get(node, ()) if self.state.get(p) not in FINISHED)
            self.waiting_on[node] = count
            if count == 0:
                newly_ready.append(node)
        for node in newly_ready:
            self._became_ready(node)

    def _remember_outputs(self, node: str) -> None:
        record = self.records.get(node)
        if record is not None and record.status == "completed":
            self.known_fps.update(record.outputs)

    def _became_ready(self, first: str) -> None:
        work = [first]
        while work:
            node = work.pop()
            if self.state.get(node) != WAITING:
                continue
            if node in self.plan.pending:
                self.state[node] = DONE
                self._expand()
                continue
            decision = self.decisions[node]
            if decision.upstream_only:
                instance = self.plan.instances[node]
                reasons = own_reasons(instance, self.records.get(node), self.forced(instance))
                if not reasons:  # upstream rewrote identical files: still up to date
                    self.state[node] = SKIPPED
                    self._remember_outputs(node)
                    self._say(f"up to date  {node} (upstream outputs unchanged)")
                    work.extend(self._release(node))
                    continue
                self.decisions[node] = Decision(Action.RUN, tuple(reasons))
            self.state[node] = READY
            heapq.heappush(self.ready, (-self._priority.get(node, 0.0), self._order[node], node))

    def _release(self, node: str) -> list[str]:
        """Children that became ready because ``node`` finished."""
        freed = []
        for child in self.plan.graph.successor_map().get(node, ()):
            if self.state.get(child) != WAITING:
                continue
            self.waiting_on[child] -= 1
            if self.waiting_on[child] == 0:
                freed.append(child)
        return freed

    def _expand(self) -> None:
        finished_steps = {self.plan.instances[n].step for n, s in self.state.items()
                          if s in FINISHED and n in self.plan.instances}
        unfinished = {self.plan.instances[n].step for n, s in self.state.items()
                      if s not in FINISHED and n in self.plan.instances}
        plan, decisions = self.replan(finished_steps - unfinished)
        self._say(f"expanded    {len(plan.instances) - len(self.plan.instances)} new instances")
        self._absorb(plan, decisions)

    # launching --------------------------------------------------------------------------
    def _needs(self, instance: StepInstance) -> tuple[int, dict[str, int]]:
        threads = min(max(instance.threads, 1), self.opts.jobs)
        wanted = {k: v for k, v in instance.resources.items() if k in self.opts.resources}
        return threads, wanted

    def _launch(self) -> None:
        skipped: list[tuple[float, int, str]] = []
        while self.ready and self.free_slots > 0 and not self.stopping:
            entry = heapq.heappop(self.ready)
            node = entry[2]
            instance = self.plan.instances[node]
            threads, wanted = self._needs(instance)
            too_big = {k: v for k, v in wanted.items() if v > self.opts.resources[k]}
            if too_big:
                name, value = next(iter(too_big.items()))
                self._finish_failed(instance, failed_outcome(
                    instance, 1, "", f"needs {name}={value} but --resources allows "
                    f"{self.opts.resources[name]}", started=time.time(), ended=time.time(),
                    hint=f"raise the limit (--resources {name}={value}) or lower the step's resources"))
                continue
            if threads > self.free_slots or any(v > self.free_resources[k] for k, v in wanted.items()):
                skipped.append(entry)  # backfill: a smaller ready instance may fit now
                continue
            self.free_slots -= threads
            for k, v in wanted.items():
                self.free_resources[k] -= v
            attempt = self.attempts.get(node, 0) + 1
            self.attempts[node] = attempt
            self.state[node] = RUNNING
            log_path = self._log_path(instance)
            self.store.mark_running(self.plan.workflow, instance, run_id=self.run_id,
                                    attempt=attempt, log_path=log_path)
            self._say(f"start       {node}" + (f" (attempt {attempt})" if attempt > 1 else "")
                      + f"  [{'; '.join(str(r) for r in self.decisions[node].reasons)}]")
            self.executor.submit(instance, attempt, log_path)
        for entry in skipped:
            heapq.heappush(self.ready, entry)

    def _log_path(self, instance: StepInstance) -> str:
        label = instance.label
        name = _safe(label) if label is not None else instance.step
        return os.path.join(self.opts.log_dir, instance.step, f"{name}.log")

    # completion -------------------------------------------------------------------------
    def _handle(self, outcome: Outcome) -> None:
        node = outcome.instance_id
        instance = self.plan.instances[node]
        threads, wanted = self._needs(instance)
        self.free_slots += threads
        for k, v in wanted.items():
            self.free_resources[k] += v
        if outcome.status is Status.FAILED:
            if outcome.attempt <= instance.retries and not self.stopping:
                self._say(f"retry       {node}: {outcome.error}")
                self.state[node] = READY
                heapq.heappush(self.ready, (-self._priority.get(node, 0.0), self._order[node], node))
                return
            self._finish_failed(instance, outcome)
            return
        self.outcomes[node] = outcome
        self.state[node] = DONE
        self.ran_steps.add(instance.step)
        self.known_fps.update(outcome.output_fps)
        for child in self._release(node):
            self._became_ready(child)
        self._launch()  # successors start before the bookkeeping below, not after it
        inputs: dict[str, Fingerprint] = {}
        for path in instance.input_paths():
            fp = self._input_fp(path)
            if fp is not None:
                inputs[path] = fp
        self.store.record(self.plan.workflow, instance, outcome, signature_of(instance), inputs,
                          outcome.output_fps, run_id=self.run_id)
        self._say(f"done        {node} ({outcome.duration:.1f} s)")

    def _input_fp(self, path: str) -> Fingerprint | None:
        found = self.known_fps.get(path)
        if found is not None:
            return found
        try:
            found = fingerprint(path)
        except OSError:
            return None
        self.known_fps[path] = found
        return found

    def _finish_failed(self, instance: StepInstance, outcome: Outcome) -> None:
        node = instance.id
        self.outcomes[node] = outcome
        self.state[node] = FAILED
        self.failed.append(FailedStep(node, outcome.error or "failed", outcome.hint, outcome.log_path))
        self.store.record(self.plan.workflow, instance, outcome, signature_of(instance), {}, {},
                          run_id=self.run_id)
        if not self.opts.keep_incomplete:
            remove_outputs(instance)
        self._say(f"FAILED      {node}: {(outcome.error or '').splitlines()[0] if outcome.error else ''}",
                  always=True)
        self._block_descendants(node)
        if not self.opts.keep_going:
            self.stopping = True

    def _block_descendants(self, node: str) -> None:
        succ = self.plan.graph.successor_map()
        work = list(succ.get(node, ()))
        while work:
            child = work.pop()
            if self.state.get(child) in (WAITING, READY):
                self.state[child] = BLOCKED
                work.extend(succ.get(child, ()))
        self.ready = [e for e in self.ready if self.state.get(e[2]) == READY]
        heapq.heapify(self.ready)

    # the loop ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        try:
            while True:
                self._launch()
                self.store.flush_if_due()  # after launching: a commit never delays a start
                if self.executor.running() == 0 and (not self.ready or self.stopping):
                    break
                for outcome in self.executor.wait(self.opts.poll):
                    self._handle(outcome)
                self._progress()
        except BaseException:
            self._interrupt()
            raise
        return self._result()

    def _interrupt(self) -> None:
        self.executor.cancel_all()
        for node, state in self.state.items():
            if state == RUNNING and not self.opts.keep_incomplete:
                remove_outputs(self.plan.instances[node])
        self.store.flush()

    def _result(self) -> RunResult:
        statuses: dict[str, Status] = {}
        for node, state in self.state.items():
            if node not in self.plan.instances:
                continue
            statuses[node] = {
                DONE: Status.COMPLETED, SKIPPED: Status.UP_TO_DATE, FAILED: Status.FAILED,
            }.get(state, Status.NOT_STARTED)
        for node in self.plan.disabled:
            statuses[node] = Status.SKIPPED
        for node in self.unselected:
            statuses[node] = Status.NOT_SELECTED
        return RunResult(self.run_id, self.plan.workflow, statuses, tuple(self.failed),
                         time.time() - self.started_at, dict(self.outcomes))

    # output -----------------------------------------------------------------------------
    @property
    def _chatty(self) -> bool:
        return self.opts.verbose or len(self.plan.instances) <= 200

    def _say(self, text: str, always: bool = False) -> None:
        if always or self._chatty:
            print(text, file=sys.stderr, flush=True)

    def _progress(self) -> None:
        if self._chatty:
            return
        now = time.time()
        if now - self.last_progress < 2.0:
            return
        self.last_progress = now
        done = sum(1 for s in self.state.values() if s in FINISHED)
        print(f"[{done}/{len(self.state)}] finished, {self.executor.running()} running, "
              f"{len(self.failed)} failed", file=sys.stderr, flush=True)


def remove_outputs(instance: StepInstance) -> None:
    for path in instance.output_paths():
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
        except OSError:
            pass


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in label)[:150] or "_"
