"""Stage 6, decide: compare each instance with its record in the state store: stale, and why.

A pure function of the plan, the records and the ``--force`` options: nothing here opens the
state store or plans (see :mod:`engine.running.settle`).

An instance is up to date when its record matches: the run completed, the code (or rendered
shell command) and params are the same, every recorded input and output is unchanged (size and
mtime, or the content hash when those moved). Otherwise it runs, with named reasons. An
instance whose only reason is an upstream that will run is decided again when that upstream
has finished: if the upstream rewrote byte-identical files, it is still up to date.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import UsageError
from engine.fingerprint import unchanged
from engine.model import ALL_TRIGGERS, Action, Reason, RerunReason, Status, StepInstance, Trigger
from engine.running.records import Record, config_key

if TYPE_CHECKING:
    from engine.plan.plan import Plan

DEFAULT_STATE_DIR = ".mi"


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[RerunReason, ...] = ()

    @property
    def upstream_only(self) -> bool:
        return bool(self.reasons) and all(r.kind is Reason.UPSTREAM_RERAN for r in self.reasons)


UP_TO_DATE = Decision(Action.SKIP, (RerunReason(Reason.UP_TO_DATE),))
NEVER_RUN = Decision(Action.RUN, (RerunReason(Reason.NEVER_RUN),))


class Signatures:
    """What must stay the same for an output to stay valid (inputs' fingerprints aside).

    Instances of one step share one params object and one step function: each is turned into
    its recorded form once per :class:`Signatures` (one per decision pass or run; a
    process-wide cache would outlive re-registered steps and recycled object ids).
    """

    def __init__(self) -> None:
        self._code: dict[str, str] = {}
        self._params: dict[int, tuple[object, Any]] = {}  # id -> (the object, kept alive; plain)

    def of(self, instance: StepInstance) -> dict[str, Any]:
        if instance.uses is not None:
            return {"uses": instance.uses, "code": self._code_hash(instance.uses),
                    "params": self._plain(instance.params)}
        return {"command": instance.signature_command or instance.command,
                "params": self._plain(instance.params)}

    def _code_hash(self, uses: str) -> str:
        found = self._code.get(uses)
        if found is None:
            from engine.registry import get_step  # Python steps only

            found = self._code[uses] = get_step(uses).code_hash()
        return found

    def _plain(self, value: Any) -> Any:
        # Through JSON and back, so a recorded value and a fresh one compare equal.
        cached = self._params.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        plain = json.loads(json.dumps(value, sort_keys=True, default=str))
        self._params[id(value)] = (value, plain)
        return plain


def own_reasons(instance: StepInstance, record: Record | None, forced: bool = False,
                rewritten: frozenset[str] | set[str] = frozenset(),
                signatures: Signatures | None = None,
                triggers: frozenset[Trigger] = ALL_TRIGGERS) -> list[RerunReason]:
    """Why ``instance`` must run on its own account (empty: up to date).

    ``rewritten``: inputs an upstream instance will write first; they are judged after it ran.
    ``triggers``: which kinds of change count (``--rerun-triggers``); outputs always count.
    """
    if record is None:
        return [RerunReason(Reason.NEVER_RUN)]
    if record.interrupted:
        return [RerunReason(Reason.INCOMPLETE)]
    if record.status is Status.SKIPPED:  # the step said so: it decides again each run
        return [RerunReason(Reason.PREVIOUSLY_SKIPPED, record.error or "")]
    if record.status is not Status.COMPLETED:
        return [RerunReason(Reason.PREVIOUSLY_FAILED, record.error.splitlines()[0][:120]
                            if record.error else "")]
    reasons: list[RerunReason] = []
    if forced:
        reasons.append(RerunReason(Reason.FORCED))
    old = record.signature
    new = (signatures or Signatures()).of(instance)
    if Trigger.CODE in triggers:
        reasons.extend(_code_reasons(instance, old, new))
    if Trigger.PARAMS in triggers and old.get("params") != new.get("params"):
        reasons.append(RerunReason(Reason.PARAMS_CHANGED,
                                   _params_diff(old.get("params") or {}, new.get("params") or {})))
    reasons.extend(_output_reasons(instance, record))
    if Trigger.INPUT in triggers:
        reasons.extend(_input_reasons(instance, record, rewritten))
    return reasons


def _code_reasons(instance: StepInstance, old: Mapping[str, Any],
                  new: Mapping[str, Any]) -> list[RerunReason]:
    if old.get("uses") != new.get("uses") or (
            old.get("command") != new.get("command")
            and old.get("command") != instance.command):  # recorded before threads were masked
        return [RerunReason(Reason.CODE_CHANGED, "command changed" if new.get("command")
                            else f"now uses {new.get('uses')}")]
    if old.get("code") != new.get("code"):
        return [RerunReason(Reason.CODE_CHANGED, f"{instance.uses} changed")]
    return []


def _output_reasons(instance: StepInstance, record: Record) -> list[RerunReason]:
    reasons = []
    outputs = record.outputs
    for path in instance.output_paths():
        fp = outputs.get(path)
        if fp is not None and unchanged(path, fp):
            continue
        if not os.path.lexists(path):
            reasons.append(RerunReason(Reason.OUTPUT_MISSING, path))
        elif fp is None:  # on disk, but this record never wrote it: never call it missing
            reasons.append(RerunReason(Reason.OUTPUT_CHANGED, f"{path} (not written by the last run)"))
        else:
            reasons.append(RerunReason(Reason.OUTPUT_CHANGED, path))
    return reasons


def _input_reasons(instance: StepInstance, record: Record,
                   rewritten: frozenset[str] | set[str]) -> list[RerunReason]:
    reasons = []
    recorded_inputs = record.input_fps
    paths = instance.input_paths()
    if set(paths) != set(recorded_inputs):
        added = sorted(set(paths) - set(recorded_inputs))
        removed = sorted(set(recorded_inputs) - set(paths))
        detail = (f"new input {added[0]}" if added else f"input dropped {removed[0]}")
        more = len(added) + len(removed) - 1
        reasons.append(RerunReason(Reason.INPUT_CHANGED, detail + (f" (+{more} more)" if more else "")))
    else:
        for path in paths:
            if path in rewritten:
                continue
            if not unchanged(path, recorded_inputs[path]):
                reasons.append(RerunReason(Reason.INPUT_CHANGED, path))
                break
    return reasons


def _params_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    changes = []
    for key in sorted(set(old) | set(new)):
        if old.get(key, "<unset>") != new.get(key, "<unset>"):
            changes.append(f"{key} {json.dumps(old.get(key, '<unset>'))} -> "
                           f"{json.dumps(new.get(key, '<unset>'))}")
    return "; ".join(changes[:3]) + (f" (+{len(changes) - 3} more)" if len(changes) > 3 else "")


def same_outputs(record: Record, instance: StepInstance) -> bool:
    """Whether ``record`` is of the configuration of ``instance`` that writes these outputs."""
    paths = instance.output_paths()
    outputs = record.outputs
    return len(paths) == len(outputs) and all(p in outputs for p in paths)


def record_for(records: Mapping[str, Record], instance: StepInstance,
               signatures: Signatures | None = None) -> Record | None:
    """The record that decides ``instance``: the latest one of its id, unless that was written
    by another configuration (other outputs, command or params) and this one's is kept."""
    record = records.get(instance.id)
    earlier = getattr(records, "earlier", None)
    if not earlier or record is None:
        return record
    signature = (signatures or Signatures()).of(instance)
    if same_outputs(record, instance) and record.config_signature == signature:
        return record
    kept: Record | None = earlier.get((instance.id, config_key(instance.output_paths(), signature)))
    return kept or record


def judge(instance: StepInstance, records: Mapping[str, Record], forced: bool,
          rewritten: frozenset[str] | set[str] = frozenset(),
          signatures: Signatures | None = None,
          triggers: frozenset[Trigger] = ALL_TRIGGERS) -> list[RerunReason]:
    """Why ``instance`` must run on its own account, against the record of its configuration
    (:func:`record_for`); used by the first decision and by the loop's recheck alike."""
    latest = records.get(instance.id)
    if latest is not None and latest.running_pid is not None:  # seen by status / --dry-run
        return [RerunReason(Reason.RUNNING, f"pid {latest.running_pid}")]
    signatures = signatures or Signatures()
    chosen = record_for(records, instance, signatures)
    reasons = own_reasons(instance, chosen, forced, rewritten, signatures, triggers)
    return _overwritten(reasons, chosen, latest)


def _overwritten(reasons: list[RerunReason], chosen: Record | None,
                 latest: Record | None) -> list[RerunReason]:
    """Say so when a changed output holds what the latest (another) configuration wrote."""
    if chosen is None or latest is None or chosen is latest:
        return reasons
    result = []
    for reason in reasons:
        fp = latest.outputs.get(reason.detail)
        if reason.kind is Reason.OUTPUT_CHANGED and fp is not None and unchanged(reason.detail, fp):
            reason = RerunReason(Reason.OUTPUT_CHANGED,
                                 f"{reason.detail} (written by another configuration)")
        result.append(reason)
    return result


def decide(plan: Plan, records: Mapping[str, Record], forced: Callable[[StepInstance], bool],
           triggers: frozenset[Trigger] = ALL_TRIGGERS) -> dict[str, Decision]:
    """Decisions for every runnable instance, in topological order (so upstream is known)."""
    decisions: dict[str, Decision] = {}
    signatures = Signatures()
    # Locals: this loop runs once per instance (100,000 in the planning benchmark).
    preds_of = plan.graph.predecessor_map().get
    instances, disabled, run = plan.instances, plan.disabled, Action.RUN
    for node, instance in instances.items():
        if node in disabled:
            continue
        if node not in records:  # no record of any configuration: nothing else to weigh
            decisions[node] = NEVER_RUN
            continue
        upstream = [p for p in preds_of(node, ()) if p in decisions
                    and decisions[p].action is run]
        rewritten = {path for p in upstream for path in instances[p].output_paths()}
        forcing = forced(instance) or instance.step in plan.forced_steps
        reasons = judge(instance, records, forcing, rewritten, signatures, triggers)
        if not reasons and upstream:
            reasons = [RerunReason(Reason.UPSTREAM_RERAN, upstream[0])]
        decisions[node] = Decision(Action.RUN, tuple(reasons)) if reasons else UP_TO_DATE
    return decisions


def selection(plan: Plan, until: Iterable[str], only: Iterable[str],
              targets: Iterable[str] = ()) -> set[str] | None:
    """Instance ids that --until/--only and target paths keep (None: no selection, everything
    counts). A target is an output path (absolute); its writer and all it needs are kept."""
    until, only, targets = list(until), list(only), list(targets)
    if not until and not only and not targets:
        return None
    steps = set(plan.step_order)
    for name in [*until, *only]:
        if name not in steps:
            close = difflib.get_close_matches(name, sorted(steps), n=1)
            raise UsageError(f"unknown step '{name}'", f"did you mean '{close[0]}'?" if close else None)
    # pending fan-outs count as their step's instances until they are expanded
    step_of = [(n, i.step) for n, i in plan.instances.items()]
    step_of += [(n, p.step) for n, p in plan.pending.items()]
    selected = {n for n, step in step_of if step in set(only) | set(until)}
    preds = plan.graph.predecessor_map()
    work = [n for n, step in step_of if step in set(until)]
    work += target_writers(plan, targets)
    selected.update(work)
    while work:
        node = work.pop()
        for parent in preds.get(node, ()):
            if parent not in selected:
                selected.add(parent)
                work.append(parent)
    if only:
        _check_only_inputs(plan, selected, preds)
    return selected


def _check_only_inputs(plan: Plan, selected: set[str],
                       preds: Mapping[str, Iterable[str]]) -> None:
    """``--only STEP`` runs STEP without what it needs: an input that a step left out would
    write, and that does not exist, is a usage error before anything runs."""
    missing: dict[str, dict[str, str]] = {}  # reading step -> {path: writing step}
    for node in selected:
        reader = plan.instances.get(node)
        if reader is None:
            continue
        reads = {os.path.normpath(os.path.join(reader.work_dir, p)): p
                 for p in reader.input_paths()}
        for parent in preds.get(node, ()):
            writer = plan.instances.get(parent)
            if writer is None or parent in selected:
                continue
            for out in writer.output_paths():
                path = os.path.normpath(os.path.join(writer.work_dir, out))
                if path in reads and not os.path.exists(path):
                    missing.setdefault(reader.step, {})[reads[path]] = writer.step
    if not missing:
        return
    steps = [s for s in plan.step_order if s in missing]
    found = [(path, writer) for step in steps for path, writer in sorted(missing[step].items())]
    if len(found) == 1:
        problem = (f"input '{found[0][0]}' does not exist, and step '{found[0][1]}', which "
                   f"writes it, is not selected")
    else:
        listed = ", ".join(f"'{path}' (step '{writer}')" for path, writer in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        problem = (f"inputs do not exist, and the steps that write them are not selected: "
                   f"{listed}{more}")
    raise UsageError(
        f"--only {', '.join(steps)}: {problem}",
        "run what it needs first: " + " ".join(f"--until {s}" for s in steps)
        + " (or add those steps with --only)")


def target_writers(plan: Plan, targets: Iterable[str]) -> list[str]:
    """The instance that writes each target path (absolute); a path no instance writes is a
    usage error naming the nearest declared outputs."""
    targets = list(targets)
    if not targets:
        return []
    writers: dict[str, str] = {}
    for node, instance in plan.instances.items():
        if node not in plan.disabled:
            for out in instance.output_paths():
                writers[os.path.normpath(os.path.join(instance.work_dir, out))] = node
    found = []
    for target in targets:
        writer = writers.get(os.path.normpath(target))
        if writer is None:
            raise UsageError(f"no step writes '{_shown(target)}'", _target_hint(plan, target, writers))
        found.append(writer)
    return found


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def _target_hint(plan: Plan, target: str, writers: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(_shown(target), [_shown(p) for p in writers], n=3, cutoff=0.5)
    hint = ("did you mean " + ", ".join(f"'{c}'" for c in close) + "?") if close else (
        "a target must be an output path declared by an enabled step (see --dry-run -v)")
    if plan.pending:
        waiting = sorted({p.step for p in plan.pending.values()})
        hint += f" (steps expanded later, after their tables exist: {', '.join(waiting)})"
    return hint


Forced = Callable[[StepInstance], bool]


def forced_predicate(plan_steps: Iterable[str], force: Iterable[str], force_all: bool) -> Forced:
    """Whether ``--force``/``--force-all`` make an instance run (unknown step names: an error)."""
    wanted = set(force)
    unknown = wanted - set(plan_steps)
    if unknown:
        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, list(plan_steps), n=1)
        raise UsageError(f"--force names unknown step '{name}'",
                         f"did you mean '{close[0]}'?" if close else None)
    return lambda instance: force_all or instance.step in wanted or instance.id in wanted
