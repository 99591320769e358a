"""Where each attempt's log lives, and how many are kept.

One file per attempt of an instance, created afresh (never appended to across attempts or
runs)::

    <state_dir>/logs/<step>/<name>.<run-id>.<attempt>.log

``name`` is the instance's label made safe for a file name (``quant[s1]`` -> ``s1``), or the
step's name for a step without a fan-out. What a log holds is
:mod:`engine.executors.attemptlog`'s business. After each run, every instance that ran keeps
the logs of its last :data:`KEEP_RUNS` runs (each with all its attempts); older ones are
removed. Files that are not named this way (the logs of older versions, ``mi-run.log``) are
left alone.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

KEEP_RUNS = 5
"""Runs whose logs each instance keeps (the current run's are always kept)."""


@dataclass(frozen=True, order=True)
class LogFile:
    """One attempt's log: sorts by run id, then attempt."""

    run_id: str
    attempt: int
    name: str
    path: str


def instance_name(label: str | None, step: str) -> str:
    """The ``name`` part of an instance's log files (see the module docstring)."""
    if label is None:
        return step
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in label)[:150] or "_"


def log_path(log_dir: str, step: str, name: str, run_id: str, attempt: int) -> str:
    return os.path.join(log_dir, step, f"{name}.{run_id.replace('.', '_')}.{attempt}.log")


def parse(path: str) -> LogFile | None:
    """The parts of a log file's name, or None for a file not named as an attempt's log."""
    parts = os.path.basename(path).rsplit(".", 3)
    if len(parts) != 4 or parts[3] != "log" or not parts[2].isdigit() or not parts[1]:
        return None
    return LogFile(parts[1], int(parts[2]), parts[0], path)


def attempts_of(path: str) -> list[LogFile]:
    """Every attempt's log of the instance whose log ``path`` is (of every run kept), oldest
    first; ``[]`` when ``path`` is not named as an attempt's log."""
    this = parse(path)
    if this is None:
        return []
    folder = os.path.dirname(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [parse(os.path.join(folder, n)) for n in names if n.startswith(this.name + ".")]
    return sorted(f for f in found if f is not None and f.name == this.name)


def prune(folders: Iterable[str], keep: int = KEEP_RUNS, current: str | None = None) -> int:
    """Remove, in each of ``folders`` (a step's log folder), the logs of each instance older
    than its last ``keep`` runs (the run ``current``'s are always kept); returns how many
    files went. A file that cannot be removed is left."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        runs: dict[str, dict[str, list[str]]] = {}  # name -> run id -> paths
        for file_name in names:
            found = parse(file_name)
            if found is not None:
                runs.setdefault(found.name, {}).setdefault(found.run_id, []).append(file_name)
        for by_run in runs.values():
            if len(by_run) <= keep:
                continue
            newest = {run: _newest(folder, files) for run, files in by_run.items()}
            ordered = sorted(by_run, key=newest.__getitem__, reverse=True)
            kept = set(ordered[:keep]) | ({current} if current else set())
            for run_id in ordered[keep:]:
                if run_id in kept:
                    continue
                for file_name in by_run[run_id]:
                    try:
                        os.unlink(os.path.join(folder, file_name))
                        removed += 1
                    except OSError:
                        pass
    return removed


def _newest(folder: str, file_names: list[str]) -> tuple[int, str]:
    """When a run last wrote one of these logs (run ids alone order runs only to the second)."""
    newest = 0
    for file_name in file_names:
        try:
            newest = max(newest, os.stat(os.path.join(folder, file_name)).st_mtime_ns)
        except OSError:
            pass
    return newest, file_names[0]


def stale_logs(log_dir: str, runs: Collection[str], current: Mapping[str, Collection[str]],
               open_steps: Collection[str] = ()) -> list[str]:
    """The logs ``mi-run clean --logs`` removes, among those the runs ``runs`` (one workflow's)
    wrote: every log of an instance the workflow no longer has (``current``: step -> the
    names of its instances), and of the others every run's but the latest. Instances of
    ``open_steps`` (fan-outs not expanded until they run) are not known, so each keeps its
    latest run's logs. Logs of other workflows sharing the state directory are never named."""
    wanted = {r.replace(".", "_") for r in runs}
    stale: list[str] = []
    try:
        folders = sorted(e.name for e in os.scandir(log_dir) if e.is_dir())
    except OSError:
        return []
    for step in folders:
        folder = os.path.join(log_dir, step)
        by_name: dict[str, dict[str, list[str]]] = {}  # name -> run id -> file names
        for file_name in os.listdir(folder):
            found = parse(file_name)
            if found is not None and found.run_id in wanted:
                by_name.setdefault(found.name, {}).setdefault(found.run_id, []).append(file_name)
        names = current.get(step, ())
        for name, by_run in by_name.items():
            latest: str | None = None
            if name in names or step in open_steps:
                latest = max(by_run, key=lambda run: _newest(folder, by_run[run]))
            stale.extend(os.path.join(folder, f) for run, files in by_run.items()
                         if run != latest for f in files)
    return stale
