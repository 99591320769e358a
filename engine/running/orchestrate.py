"""Running a workflow: lock the state dir, settle the plan, start a backend, loop, record.

:func:`run_workflow` is the Python API (``engine.run``); the CLI makes its
:class:`RunOptions` itself and enters through :class:`RunSession`, which lets it act between
planning and running (the console script re-enables the garbage collector there).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Unpack

from engine.errors import Interrupted, SpecError, UsageError
from engine.model import Action, RerunReason, RunStatus, Status, StepInstance
from engine.plan.plan import Plan
from engine.plan.workflow import Workflow
from engine.plan.workflow import load as load_workflow
from engine.running.decide import Decision, Signatures, decide, forced_predicate, judge, selection
from engine.running.options import RunOptions, RunSettings, make_run_options
from engine.running.records import Record, Records
from engine.running.reporter import Reporter
from engine.running.result import RunResult
from engine.running.settle import settle
from engine.running.state import StateStore

# What only a run that runs something needs (the loop, the recorder, the run record, a
# backend) is imported when it starts: a run with nothing to do stops before, ~10 ms sooner.
if TYPE_CHECKING:
    from engine.executors.base import Executor
    from engine.running.record import Recorder
    from engine.running.runrecord import RunInfo
    from engine.running.scheduler import Replanner
    from engine.running.touch import TouchPlan


def run_workflow(
    workflow_or_spec: Workflow | str | os.PathLike[str],
    *,
    config_files: Iterable[str] = (),
    overrides: Mapping[str, object] | Iterable[str] = (),
    reporter: Reporter | None = None,
    **settings: Unpack[RunSettings],
) -> RunResult:
    """Run a workflow (or spec path) to completion; returns statuses, failures and timings.

    ``settings`` are :class:`RunSettings` (``jobs``, ``keep_going``, ``force``, ``backend``...).
    """
    if isinstance(workflow_or_spec, Workflow):
        workflow = workflow_or_spec
    else:
        workflow = load_workflow(workflow_or_spec, config_files=config_files, overrides=overrides,
                                 state_dir=settings.get("state_dir"))
    options = make_run_options(**settings)
    if options.touch is not None:
        raise UsageError("engine.run runs steps; touch=... accepts outputs without running",
                         "use: with RunSession(workflow, options) as s: s.touch()")
    with RunSession(workflow, options, reporter) as session:
        return session.execute()


class RunSession:
    """One run, in two steps: entering locks the state directory and settles the plan;
    :meth:`execute` starts the backend and runs the loop. Leaving unlocks."""

    def __init__(self, workflow: Workflow, options: RunOptions, reporter: Reporter | None = None):
        self.workflow = workflow
        self.options = options
        self.reporter = reporter or Reporter(verbose=options.verbose, quiet=options.quiet)
        self._exit = ExitStack()
        self._forced = forced_predicate(workflow.spec.step_names, options.force, options.force_all)
        self.records: dict[str, Record] = {}
        self.plan: Plan | None = None
        self.decisions: dict[str, Decision] = {}
        self._store: StateStore | None = None
        self.selected: set[str] | None = None
        self.run_id: str | None = None  # of the run execute() began (None: nothing ran)
        self.record_path: str | None = None  # its run record, once written

    def __enter__(self) -> RunSession:
        try:
            self._settle_then_lock()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _settle_then_lock(self) -> None:
        """Plan and select first, then lock: a spec, a config or a selection that cannot be
        planned leaves the state directory as it was (a new one is not even created). Records
        written by another run between the first reading and the lock are read again."""
        name, state_dir = self.workflow.name, self.options.state_dir
        store: StateStore | None = None
        seen: int | None = None  # the database's version when the records were read
        records = Records()
        if os.path.exists(os.path.join(state_dir, "state.db")):
            store = self._exit.enter_context(StateStore(state_dir))
            seen = store.data_version()
            records = store.records(name)
        self._settle(records)
        if store is None:
            store = self._exit.enter_context(StateStore(state_dir))
        self._exit.enter_context(store.lock())
        self._store = store
        from engine.executors.orphans import reap

        # What a killed engine left running could still be writing: stop it, then judge again.
        stopped = list(reap(self.options.orphan_dir))
        for what in stopped:
            self.reporter.orphan_stopped(what)
        if stopped or seen is None or store.data_version() != seen:
            fresh = store.records(name)
            if stopped or fresh != records or fresh.earlier != records.earlier:
                self._settle(fresh)
                records = fresh
        self.records = records

    def _settle(self, records: Records) -> None:
        options = self.options
        self.plan, self.decisions = settle(self.workflow, records, self._forced, options.jobs,
                                           options.rerun_triggers, options.resources)
        self.selected = selection(self.plan, options.until, options.only, options.targets)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._exit.close()

    def execute(self) -> RunResult:
        assert self.plan is not None and self._store is not None, "enter the session first"
        plan, options, selected = self.plan, self.options, self.selected
        if not plan.pending and not any(
                d.action is Action.RUN and (selected is None or n in selected)
                for n, d in self.decisions.items()):
            return self._nothing_to_do(plan, selected)  # no executor, no workers, no run row
        from engine.running.record import Recorder
        from engine.running.runrecord import run_info

        run_id = self._store.begin_run(workflow=self.workflow.name, argv=list(options.argv),
                                       spec_path=self.workflow.spec.path)
        self.run_id = run_id
        info = run_info(run_id, self.workflow, options)
        recorder = Recorder(self._store, self.workflow.name, run_id, self.records,
                            options.log_dir, options.keep_incomplete)
        status = RunStatus.FAILED
        try:
            result = self._loop(recorder, selected)
            status = RunStatus.COMPLETED if result.ok else RunStatus.FAILED
        except KeyboardInterrupt:
            status = RunStatus.INTERRUPTED
            raise Interrupted("interrupted: running steps were stopped; their partial outputs "
                              "were removed. Run the same command again to resume.") from None
        finally:
            self._store.end_run(run_id, status)
            self.record_path = self._write_record(info, recorder, status)
        return result

    def _write_record(self, info: RunInfo, recorder: Recorder, status: RunStatus) -> str | None:
        """``runs/<run-id>.json``; a record that cannot be written is reported, and the run
        keeps its own outcome."""
        from engine.running.runrecord import write_run_record

        try:
            return write_run_record(info, recorder, status, self.options)
        except (OSError, ValueError, TypeError) as exc:
            self.reporter.note(f"could not write the run record: {exc}")
            return None

    def touch(self) -> TouchPlan:
        """``--touch``: record the instances that would run, and whose outputs all exist, as
        completed now; run nothing. Returns what was accepted and what was not."""
        assert self.plan is not None and self._store is not None, "enter the session first"
        from engine.running.record import Recorder
        from engine.running.touch import plan_touch, touch

        touch_plan = plan_touch(self.plan, self.decisions, self.options.touch or (),
                                self.selected)
        if touch_plan.marked:
            run_id = self._store.begin_run(workflow=self.workflow.name,
                                           argv=list(self.options.argv),
                                           spec_path=self.workflow.spec.path)
            recorder = Recorder(self._store, self.workflow.name, run_id, self.records,
                                self.options.log_dir, keep_incomplete=True)
            touch(self.plan, touch_plan, recorder)
            self._store.end_run(run_id, RunStatus.COMPLETED)
        return touch_plan

    def _nothing_to_do(self, plan: Plan, selected: set[str] | None) -> RunResult:
        statuses = {n: Status.UP_TO_DATE if selected is None or n in selected
                    else Status.NOT_SELECTED for n in self.decisions}
        statuses.update(dict.fromkeys(plan.disabled, Status.SKIPPED))
        return RunResult("", self.workflow.name, statuses, (), 0.0)

    def _loop(self, recorder: Recorder, selected: set[str] | None) -> RunResult:
        assert self.plan is not None and self._store is not None
        from engine.running.scheduler import LoopOptions, Scheduler

        options = self.options
        loop = LoopOptions(jobs=options.jobs, keep_going=options.keep_going,
                           resources=options.resources,
                           selected=None if selected is None else frozenset(selected))
        from engine.executors.orphans import registered

        with (registered(options.orphan_dir) as token, self._executor(token, recorder.run_id) as executor,
              _stop_signals_interrupt()):
            scheduler = Scheduler(self.plan, self.decisions, executor, loop, self._replanner(),
                                  recorder, self.reporter)
            try:
                return scheduler.run()
            finally:
                recorder.prune_logs()

    def _executor(self, run_token: str, run_id: str) -> Executor:
        from engine.executors import make_executor

        options = self.options
        backend_options = dict(options.backend_options)
        backend_options.setdefault("run_id", run_id)
        if options.backend != "dask":  # a Dask cluster's processes are not this host's
            backend_options.setdefault("run_token", run_token)
        if options.backend == "processes":
            backend_options.setdefault("orphan_dir", options.orphan_dir)
        executor = make_executor(options.backend, **backend_options)
        executor.start(options.jobs)
        return executor

    def _replanner(self) -> Replanner:
        workflow, records, forced, jobs = self.workflow, self.records, self._forced, self.options.jobs
        triggers, signatures = self.options.rerun_triggers, Signatures()

        def replan(ready_steps: set[str]) -> tuple[Plan, dict[str, Decision]]:
            # No --resources here: an instance expanded mid-run that needs more than they
            # allow fails on its own in the scheduler, and the run goes on.
            try:
                plan = workflow.plan(table_ready=ready_steps.__contains__, max_threads=jobs)
            except SpecError as exc:  # found by a fan-out that only now has its items
                ran = ", ".join(sorted(ready_steps))
                raise SpecError(exc.diagnostics, outcome=(
                    f"{ran} ran first (what completed is kept), nothing after it was "
                    "run.")) from None
            return plan, decide(plan, records, forced, triggers)

        def recheck(instance: StepInstance) -> list[RerunReason]:
            return judge(instance, records, forced(instance), frozenset(), signatures, triggers)

        def select(plan: Plan) -> set[str] | None:
            return selection(plan, self.options.until, self.options.only, self.options.targets)

        durations = {n: r.duration for n, r in records.items() if r.duration}
        from engine.running.scheduler import Replanner

        return Replanner(replan, recheck, durations, select)


class _stop_signals_interrupt:
    """SIGTERM and SIGHUP (the terminal or ssh session went away) stop a run the way Ctrl-C
    does: running steps killed, partial outputs removed, exit 130.

    A signal ignored when the run starts (``nohup mi-run ...``) stays ignored. Only the first
    one interrupts: a hangup often comes twice (from the kernel to the foreground group, then
    from the dying shell to its jobs), and a second one must not cut the clean-up short.
    """

    def __enter__(self) -> None:
        self._previous: dict[int, object] = {}
        self._stopping = False
        for number in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(number) is not signal.SIG_IGN:
                self._previous[number] = signal.signal(number, self._interrupt)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:
            self._stopping = True
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]
