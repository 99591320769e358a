"""Recording a run: the state store's rows, the inputs' fingerprints, removing partial outputs,
naming each attempt's log (and keeping the number of old logs bounded).

The scheduling loop tells the :class:`Recorder` what happened (started, completed, failed,
retried, interrupted, finished) and never writes the state store or deletes a file itself.
Besides the state store, every event is noted in the recorder's :class:`RunLog` (in memory),
from which the run record is written when the run ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from engine.executors.attemptlog import end_interrupted, interrupting
from engine.fingerprint import Fingerprint, fingerprint
from engine.model import Outcome, RerunReason, Status, StepInstance
from engine.running import logfiles
from engine.running.decide import Signatures, same_outputs
from engine.running.records import Record, config_key
from engine.running.runlog import RunLog
from engine.running.state import StateStore

if TYPE_CHECKING:
    from engine.plan.plan import Plan


class Recorder:
    """Writes what happens to each instance of one run of ``workflow`` into ``store``."""

    def __init__(self, store: StateStore, workflow: str, run_id: str,
                 records: Mapping[str, Record], log_dir: str, keep_incomplete: bool):
        self._store = store
        self._workflow = workflow
        self.run_id = run_id
        self._records = records
        self._log_dir = log_dir
        self._keep_incomplete = keep_incomplete
        self._signatures = Signatures()
        # Fingerprints of files this run wrote or found up to date: an input's fingerprint is
        # usually known already and needs no stat.
        self._known: dict[str, Fingerprint] = {}
        self._running_logs: dict[str, str] = {}  # instance id -> its running attempt's log
        self._log_steps: set[str] = set()  # steps that have logs of this run
        self.runlog = RunLog()

    def log_path(self, instance: StepInstance, attempt: int) -> str:
        """The log of ``attempt`` of ``instance`` in this run (see :mod:`.logfiles`)."""
        self._log_steps.add(instance.step)
        name = logfiles.instance_name(instance.label, instance.step)
        return logfiles.log_path(self._log_dir, instance.step, name, self.run_id, attempt)

    def prune_logs(self) -> None:
        """Remove the logs of the instances that ran beyond their last few runs."""
        logfiles.prune((os.path.join(self._log_dir, s) for s in sorted(self._log_steps)),
                       current=self.run_id)

    def started(self, instance: StepInstance, attempt: int, log_path: str,
                reasons: Sequence[RerunReason] = ()) -> None:
        self._running_logs[instance.id] = log_path
        self.runlog.started(instance, attempt, log_path, reasons)
        old = self._records.get(instance.id)
        if attempt == 1 and old is not None and old.status is Status.COMPLETED:
            kept = old.config_signature
            if not same_outputs(old, instance) or kept != self._signatures.of(instance):
                # Another configuration's record: keep it for when that configuration returns.
                self._store.keep_earlier(self._workflow, instance.id,
                                         config_key(old.outputs, kept))
        self._store.mark_running(self._workflow, instance, run_id=self.run_id, attempt=attempt,
                                 log_path=log_path)

    def up_to_date(self, node: str, rechecked: StepInstance | None = None) -> None:
        """``node`` is up to date; ``rechecked``: found so after its upstream reran, so its
        inputs may carry new mtimes over the same content: record those (a later run then
        need not hash them again)."""
        record = self._records.get(node)
        if record is None or record.status is not Status.COMPLETED:
            return
        self._known.update(record.outputs)
        if rechecked is None or not same_outputs(record, rechecked):
            return
        signature = record.config_signature
        if signature != self._signatures.of(rechecked):
            return  # decided by another configuration's kept record: leave the latest alone
        recorded = record.input_fps
        fresh = {p: self._input_fp(p) for p in rechecked.input_paths()}
        if any(fp is not None and recorded.get(p) != fp for p, fp in fresh.items()):
            self._store.refresh_inputs(self._workflow, node, signature, fresh)

    def retrying(self, instance: StepInstance, outcome: Outcome) -> None:
        """An attempt failed and the instance will be tried again."""
        self.runlog.ended(instance, outcome)

    def completed(self, instance: StepInstance, outcome: Outcome) -> None:
        self._running_logs.pop(instance.id, None)
        self.runlog.ended(instance, outcome)
        self._known.update(outcome.output_fps)
        inputs: dict[str, Fingerprint | None] = {p: self._input_fp(p) for p in instance.input_paths()}
        self._store.record(self._workflow, instance, outcome, self._signatures.of(instance),
                           inputs, outcome.output_fps, run_id=self.run_id)

    def failed(self, instance: StepInstance, outcome: Outcome) -> None:
        self._running_logs.pop(instance.id, None)
        self.runlog.ended(instance, outcome)
        self._store.record(self._workflow, instance, outcome, self._signatures.of(instance), {},
                           {}, run_id=self.run_id)
        if not self._keep_incomplete:
            remove_outputs(instance)

    def interrupting(self, running: Iterable[StepInstance]) -> None:
        """The run is about to stop ``running``: what their killed commands report is no
        longer their verdict (see :meth:`interrupted`)."""
        interrupting(log for instance in running
                     if (log := self._running_logs.get(instance.id)) is not None)

    def interrupted(self, running: Iterable[StepInstance]) -> None:
        """The run was stopped: partial outputs of the instances that ran are removed, and
        their logs say they were interrupted."""
        running = list(running)
        self.runlog.interrupted(running)
        for instance in running:
            log = self._running_logs.pop(instance.id, None)
            if log is not None:
                end_interrupted(log)
            if not self._keep_incomplete:
                remove_outputs(instance)
        self._store.flush()

    def finished(self, plan: Plan, statuses: Mapping[str, Status]) -> None:
        """The loop ended (normally, on a failure or interrupted): its last plan (fan-outs
        expanded on the way included) and the status of every instance in it."""
        self.runlog.finished(plan, statuses)

    def sizes(self) -> dict[str, int]:
        """Sizes of the files the run knows: from the fingerprints it holds, and for outputs
        of instances that ran and have none (failed, partial), a stat now."""
        sizes = {path: fp.size for path, fp in self._known.items()}
        for instance in self.runlog.ran.values():
            for path in instance.output_paths():
                if path not in sizes:
                    try:
                        sizes[path] = os.stat(os.path.join(instance.work_dir, path)).st_size
                    except OSError:
                        pass
        return sizes

    def flush_if_due(self) -> None:
        self._store.flush_if_due()

    def _input_fp(self, path: str) -> Fingerprint | None:
        found = self._known.get(path)
        if found is not None:
            return found
        try:
            found = fingerprint(path)
        except OSError:
            return None
        self._known[path] = found
        return found


def remove_outputs(instance: StepInstance) -> None:
    for path in instance.output_paths():
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
        except OSError:
            pass

