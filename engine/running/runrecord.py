"""The run record: ``<state_dir>/runs/<run-id>.json``, built once when a run ends.

Built from the :class:`~engine.running.runlog.RunLog` the recorder kept in memory, the loop's
last plan and statuses, and the run's facts (:class:`RunInfo`): what ran and how (attempts,
times, CPU, memory, exit codes, logs), what was up to date or left out, the config with each
value's origin, the versions of the engine and of the tools the steps used. The fields are
described in ``docs/report.md``; ``mi-run report`` and ``--trace`` read it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.digests import sha256
from engine.executors.shell import signal_name
from engine.logtail import tail_of
from engine.model import Outcome, RunStatus, Status, StepInstance
from engine.running.runfiles import write_record
from engine.running.runlog import Attempt, RunLog
from engine.running.toolversions import ask_versions, tools_of
from engine.version import __version__

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.plan.workflow import Workflow
    from engine.running.options import RunOptions
    from engine.running.record import Recorder
    from engine.spec.config import ResolvedConfig

FORMAT = 1
"""The record's ``format``: raised when a field changes meaning or goes away."""

LOG_TAIL_LINES = 20  # of each failed instance's log, kept in the record
MAX_TAILS = 200  # failed instances whose log tail the record keeps


@dataclass(frozen=True)
class RunInfo:
    """What the record says about the run itself (known before it starts)."""

    run_id: str
    workflow: str
    spec_path: str
    spec_sha256: str | None
    config: tuple[Mapping[str, Any], ...]
    argv: tuple[str, ...]
    options: Mapping[str, Any]
    started: float


def run_info(run_id: str, workflow: Workflow, options: RunOptions) -> RunInfo:
    """The run's own facts, taken as it starts (the spec is hashed as it is now)."""
    spec = workflow.spec.path
    return RunInfo(run_id, workflow.name, spec, spec_sha256(spec), config_rows(workflow.config),
                   tuple(options.argv), _options(options), time.time())


def _options(options: RunOptions) -> dict[str, Any]:
    return {"jobs": options.jobs, "backend": options.backend, "state_dir": options.state_dir,
            "keep_going": options.keep_going, "force": list(options.force),
            "force_all": options.force_all, "until": list(options.until),
            "only": list(options.only), "targets": list(options.targets),
            "resources": dict(options.resources),
            "rerun_triggers": sorted(t.value for t in options.rerun_triggers),
            "keep_incomplete": options.keep_incomplete}


def write_run_record(info: RunInfo, recorder: Recorder, status: RunStatus,
                     options: RunOptions) -> str:
    """Build the record of the run that just ended and write it; returns its path."""
    ended = time.time()
    log = recorder.runlog
    tools = ask_versions(tools_of(log.ran.values()))
    # The instances are written one by one as they are built: holding 10,000 entries and
    # their JSON text at once was a third of a 10,000-step run's peak memory.
    head = record_head(info, log, status, ended, tools)
    return write_record(options.state_dir, head, options.keep_runs,
                        instance_entries(log, recorder.sizes()))


def spec_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return sha256(handle.read()).hexdigest()
    except OSError:
        return None


def config_rows(config: ResolvedConfig) -> tuple[dict[str, Any], ...]:
    """Every config leaf: dotted key, value and where it was set (``default`` if nowhere)."""
    rows: list[dict[str, Any]] = []

    def walk(value: Any, where: tuple[str, ...]) -> None:
        if isinstance(value, Mapping) and value:
            for key, child in value.items():
                walk(child, (*where, str(key)))
            return
        origin = config.origin(where)
        rows.append({"key": ".".join(where), "value": plain(value),
                     "origin": str(origin) if origin else "default",
                     "layer": origin.layer if origin else "default"})

    walk(config.values, ())
    return tuple(rows)


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it (tuples as lists, anything else unknown as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def host_info() -> dict[str, Any]:
    return {"name": os.uname().nodename, "platform": platform_name(),
            "cpus": os.cpu_count(), "pid": os.getpid()}


# platform.python_implementation()'s names, for sys.implementation's
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython",
                    "jython": "Jython"}


def _python_version() -> str:
    """``platform.python_version()``: 3.11.7."""
    return ".".join(map(str, sys.version_info[:3]))


def platform_name() -> str:
    """``platform.platform()``'s text (Linux-6.1.0-x86_64-with-glibc2.36) without its cost:
    on Linux it reads the Python executable to find the C library (≈6 ms a run)."""
    uname = os.uname()
    name = f"{uname.sysname}-{uname.release}-{uname.machine}"
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        libc = None
    if libc and libc.startswith("glibc "):
        name += f"-with-glibc{libc.split()[1]}"
    return name


def build_record(info: RunInfo, log: RunLog, status: RunStatus, ended: float,
                 sizes: Mapping[str, int], tools: Mapping[str, Any]) -> dict[str, Any]:
    """The record as a JSON-able dict (the keys in the order ``docs/report.md`` lists)."""
    record = record_head(info, log, status, ended, tools)
    record["instances"] = list(instance_entries(log, sizes))
    return record


def record_head(info: RunInfo, log: RunLog, status: RunStatus, ended: float,
                tools: Mapping[str, Any]) -> dict[str, Any]:
    """Every key of the record but the last, ``instances`` (see :func:`instance_entries`)."""
    plan = log.plan
    work_dirs = {i.work_dir for i in log.ran.values()}
    if plan is not None:
        work_dirs.update(i.work_dir for i in list(plan.instances.values())[:1])
    counts: dict[str, int] = {}
    for node in _nodes(log):
        status_value = _status_of(node, log, plan).value
        counts[status_value] = counts.get(status_value, 0) + 1
    return {
        "format": FORMAT, "run_id": info.run_id, "workflow": info.workflow,
        "status": RunStatus(status).value,
        "started": _t(info.started), "ended": _t(ended), "elapsed": _t(ended - info.started),
        "spec": {"path": info.spec_path, "sha256": info.spec_sha256},
        "argv": list(info.argv), "options": plain(info.options),
        "engine": {"version": __version__, "python": _python_version(),
                   "implementation": _IMPLEMENTATIONS.get(sys.implementation.name,
                                                            sys.implementation.name),
                   "executable": sys.executable},
        "host": host_info(),
        "work_dir": sorted(work_dirs)[0] if len(work_dirs) == 1 else None,
        "config": list(info.config), "tools": dict(tools), "counts": counts,
        "steps": _steps(plan), "critical_path": critical_path(log),
    }


def instance_entries(log: RunLog, sizes: Mapping[str, int]) -> Iterator[dict[str, Any]]:
    """The record's ``instances``, in order, each built when asked for; the first
    ``MAX_TAILS`` failed ones carry the last lines of their logs (read now: a later run may
    replace them)."""
    tails_left = MAX_TAILS
    for node in _nodes(log):
        entry = _instance(node, log, log.plan, sizes)
        if tails_left and entry["status"] == Status.FAILED.value and entry.get("log"):
            entry["log_tail"] = tail_of(Path(entry["log"]), LOG_TAIL_LINES)
            tails_left -= 1
        yield entry


def _status_of(node: str, log: RunLog, plan: Plan | None) -> Status:
    instance = log.ran.get(node) or (plan.instances.get(node) if plan is not None else None)
    if instance is None:  # a fan-out that was never expanded
        return Status.NOT_STARTED
    return log.statuses.get(node, Status.NOT_STARTED)


def _t(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _nodes(log: RunLog) -> list[str]:
    """Every instance id the record lists: the plan's (in its order), then pending fan-outs,
    then any that ran but left the plan (none, normally)."""
    plan = log.plan
    nodes = list(plan.instances) + list(plan.pending) if plan is not None else []
    known = set(nodes)
    nodes.extend(n for n in log.ran if n not in known)
    return nodes


def _steps(plan: Plan | None) -> list[dict[str, Any]]:
    """The step-level DAG: steps in plan order with their edges (fan-outs collapsed)."""
    if plan is None:
        return []
    counts, edges = plan.graph.collapse(plan.step_of)
    after: dict[str, list[list[str]]] = {}
    for src, dst, kind in sorted(edges):
        after.setdefault(dst, []).append([src, kind.value])
    return [{"name": step, "instances": counts.get(step, 0),
             "fanned_out": step in plan.fanned_out, "needs": after.get(step, []),
             "description": plan.descriptions.get(step, ""),
             "disabled": plan.disabled_reasons.get(step)}
            for step in plan.step_order]


def _instance(node: str, log: RunLog, plan: Plan | None,
              sizes: Mapping[str, int]) -> dict[str, Any]:
    instance = log.ran.get(node) or (plan.instances.get(node) if plan is not None else None)
    status = _status_of(node, log, plan)
    if instance is None:  # a fan-out that was never expanded
        step = plan.step_of(node) if plan is not None else node
        reason = plan.pending[node].reason if plan is not None and node in plan.pending else ""
        return {"id": node, "step": step, "status": Status.NOT_STARTED.value,
                "reasons": [reason] if reason else [], "attempts": 0}
    entry: dict[str, Any] = {"id": node, "step": instance.step, "status": status.value,
                             "reasons": _reasons(node, instance, status, log, plan)}
    attempts = log.attempts.get(node) or []
    unstarted = log.failed_unstarted.get(node)
    last = attempts[-1].outcome if attempts else unstarted
    entry.update(_timing(attempts, last))
    entry.update(_what(instance))
    entry["inputs"] = _files(instance.inputs, sizes)
    entry["outputs"] = _files(instance.outputs, sizes)
    if last is not None:  # as returned; json writes what it cannot hold as text
        entry["output"] = dict(last.output)
        entry["warnings"] = list(last.warnings)
        entry["metadata"] = dict(last.metadata)
        entry["error"], entry["hint"] = last.error, last.hint
        if last.reason is not None:  # the step returned {"status": "skipped", "reason": ...}
            entry["skip_reason"] = last.reason
    if attempts:
        entry["attempt_list"] = [_attempt(a) for a in attempts]
    return entry


def _reasons(node: str, instance: StepInstance, status: Status, log: RunLog,
             plan: Plan | None) -> list[str]:
    if node in log.reasons:
        return [str(r) for r in log.reasons[node]]
    if status is Status.SKIPPED and plan is not None:
        why = plan.disabled_reasons.get(instance.step)
        return [f"disabled: {why}" if why else "disabled"]
    if status is Status.UP_TO_DATE:
        return ["up to date"]
    if status is Status.NOT_SELECTED:
        return ["not selected"]
    return []


def _timing(attempts: list[Attempt], last: Outcome | None) -> dict[str, Any]:
    """Start, end, durations, CPU, memory, exit of the instance (its last attempt)."""
    if not attempts and last is None:
        return {"attempts": 0}
    first = attempts[0].submitted if attempts else last.started if last else None
    ended = last.ended if last is not None else (attempts[-1].interrupted_at if attempts else None)
    code = last.exit_code if last is not None else None
    return {
        "attempts": len(attempts) or 1,
        "started": _t(first), "ended": _t(ended),
        "duration": _t(last.duration) if last is not None else None,
        "cpu_time": _t(last.cpu_time) if last is not None else None,
        "peak_mem_mb": _t(last.peak_mem_mb) if last is not None else None,
        "exit_code": code,
        "signal": signal_name(-code) if code is not None and code < 0 else None,
        "log": last.log_path if last is not None else attempts[-1].log_path,
    }


def _attempt(attempt: Attempt) -> dict[str, Any]:
    out = attempt.outcome
    code = out.exit_code if out is not None else None
    return {
        "attempt": attempt.number, "status": attempt.status,
        "submitted": _t(attempt.submitted),
        "started": _t(out.started if out is not None else attempt.submitted),
        "ended": _t(out.ended if out is not None else attempt.interrupted_at),
        "cpu_time": _t(out.cpu_time) if out is not None else None,
        "peak_mem_mb": _t(out.peak_mem_mb) if out is not None else None,
        "exit_code": code,
        "signal": signal_name(-code) if code is not None and code < 0 else None,
        "log": attempt.log_path,
        "error": out.error if out is not None else None,
    }


def _what(instance: StepInstance) -> dict[str, Any]:
    what: dict[str, Any] = {}
    if instance.command is not None:
        what["command"] = instance.command
    if instance.uses is not None:
        what["uses"] = instance.uses
    what["params"] = dict(instance.params)
    if instance.threads != 1:
        what["threads"] = instance.threads
    if instance.resources:
        what["resources"] = dict(instance.resources)
    return what


def _files(mapping: Mapping[str, Any], sizes: Mapping[str, int]) -> list[dict[str, Any]]:
    files = []
    for name, value in mapping.items():
        for path in [value] if isinstance(value, str) else value:
            files.append({"name": name, "path": path, "size": sizes.get(path)})
    return files


def critical_path(log: RunLog) -> dict[str, Any]:
    """The chain of dependent instances whose run times add up the most (what bounded the
    run's length): instance ids, first to last, and their total in seconds."""
    if log.plan is None:
        return {"instances": [], "seconds": 0.0}
    chain, seconds = log.critical_path(log.plan)
    return {"instances": list(chain), "seconds": _t(seconds)}
