"""The run records on disk: ``<state_dir>/runs/<run-id>.json``, written atomically, the last
N kept (``--keep-runs``, ``MI_KEEP_RUNS``), found again by workflow and run id.

A record's first keys are ``format``, ``run_id`` and ``workflow``, so finding the runs of one
workflow reads only the head of each file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import UsageError

_HEAD = 4096
_WORKFLOW = re.compile(r'"workflow":\s*("(?:[^"\\]|\\.)*")')


def runs_dir(state_dir: str) -> str:
    return os.path.join(state_dir, "runs")


def record_path(state_dir: str, run_id: str) -> str:
    return os.path.join(runs_dir(state_dir), f"{run_id}.json")


def write_record(state_dir: str, record: Mapping[str, Any], keep: int,
                 instances: Iterable[Mapping[str, Any]] | None = None) -> str:
    """Write ``record`` as ``runs/<run_id>.json`` (a temporary file renamed over it, so a
    reader never sees half a record), then remove all but the newest ``keep`` records.
    ``instances``: the record's last key, written entry by entry as the iterable yields them
    (the same bytes as one ``dumps`` of the whole record, without holding it all)."""
    folder = runs_dir(state_dir)
    os.makedirs(folder, exist_ok=True)
    path = record_path(state_dir, str(record["run_id"]))
    text = _dumps(record)
    tmp = os.path.join(folder, f".run-{os.getpid()}-{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if instances is None:
                handle.write(text)
            else:
                handle.write(text[:-1] + ("," if record else "") + '"instances":[')
                for number, entry in enumerate(instances):
                    handle.write("," + _dumps(entry) if number else _dumps(entry))
                handle.write("]}")
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    prune(state_dir, keep)
    return path


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def prune(state_dir: str, keep: int) -> list[str]:
    """Remove the oldest records beyond the newest ``keep``; returns the removed paths."""
    stale = [r.path for r in list_runs(state_dir)[keep:]]
    for path in stale:
        _unlink(path)
    return stale


@dataclass(frozen=True)
class RunFile:
    run_id: str
    path: str
    mtime: float


def list_runs(state_dir: str) -> list[RunFile]:
    """Every record in the state directory, newest first."""
    folder = runs_dir(state_dir)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            try:
                mtime = entry.stat().st_mtime
            except OSError:
                continue
            found.append(RunFile(entry.name[:-5], entry.path, mtime))
    found.sort(key=lambda r: (r.mtime, r.run_id), reverse=True)
    return found


def workflow_of(path: str) -> str | None:
    """The ``workflow`` a record file names, read from its head."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(_HEAD)
    except OSError:
        return None
    match = _WORKFLOW.search(head)
    if match is None:
        return None
    try:
        name = json.loads(match.group(1))
    except ValueError:
        return None
    return name if isinstance(name, str) else None


def find_record(state_dir: str, workflow: str, run_id: str | None = None) -> str:
    """The path of run ``run_id``'s record (a unique prefix will do), or of the newest run of
    ``workflow``; a usage error saying what there is when there is none."""
    runs = list_runs(state_dir)
    if run_id is not None:
        exact = [r for r in runs if r.run_id == run_id]
        matches = exact or [r for r in runs if r.run_id.startswith(run_id)]
        if len(matches) == 1:
            return matches[0].path
        known = ", ".join(r.run_id for r in runs[:5]) or "none"
        what = "several runs" if matches else "no run"
        raise UsageError(f"{what} with id '{run_id}' in {runs_dir(state_dir)}",
                         f"recorded runs, newest first: {known}")
    for run in runs:
        if workflow_of(run.path) == workflow:
            return run.path
    raise UsageError(f"no recorded run of workflow '{workflow}' in {runs_dir(state_dir)}",
                     "run the workflow first (every run writes a record), or give "
                     "--state-dir where it ran")


def load_record(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the run record {path}: {exc}") from None
    if not isinstance(data, dict) or "instances" not in data:
        raise UsageError(f"{path} is not a mi-run run record")
    return data


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
