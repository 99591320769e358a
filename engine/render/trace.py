"""``--trace FILE.tsv``: the run as a table, one row per instance attempt (as Nextflow's trace).

Columns: ``task_id`` (1, 2, ... in the order attempts were submitted), ``name`` (the instance
id), ``step``, ``status``, ``exit`` (exit status; negative: killed by that signal; ``-`` for
Python steps), ``attempt``, ``submit``/``start``/``complete`` (local time, milliseconds),
``duration`` (submit to complete) and ``realtime`` (start to complete) in seconds, ``%cpu``
(CPU time over realtime), ``cpu_time`` (s), ``peak_rss`` (MB) and ``log``. A value that is
not known is ``-``. Instances that did not run in this run (up to date, not selected) have no
row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

COLUMNS = ("task_id", "name", "step", "status", "exit", "attempt", "submit", "start",
           "complete", "duration", "realtime", "%cpu", "cpu_time", "peak_rss", "log")


def stamp(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    whole = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
    return f"{whole}.{round(epoch % 1 * 1000) % 1000:03d}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cell(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text.replace("\t", " ").replace("\n", " ")


def trace_rows(record: Mapping[str, Any]) -> list[list[str]]:
    attempts = [(a.get("submitted") or 0.0, entry, a) for entry in record["instances"]
                for a in entry.get("attempt_list", ())]
    attempts.sort(key=lambda found: found[0])
    rows = []
    for task, (submitted, entry, attempt) in enumerate(attempts, start=1):
        start, end = attempt.get("started"), attempt.get("ended")
        realtime = end - start if start is not None and end is not None else None
        cpu = attempt.get("cpu_time")
        percent = 100.0 * cpu / realtime if cpu is not None and realtime else None
        rows.append([str(task), _cell(entry["id"]), _cell(entry["step"]),
                     _cell(attempt["status"]), _cell(attempt.get("exit_code")),
                     str(attempt["attempt"]), stamp(submitted), stamp(start), stamp(end),
                     _num(end - submitted if end is not None else None), _num(realtime),
                     _num(percent, 1), _num(cpu), _num(attempt.get("peak_mem_mb"), 1),
                     _cell(attempt.get("log"))])
    return rows


def write_trace(record: Mapping[str, Any], path: str | os.PathLike[str]) -> int:
    """Write the trace table of ``record``; returns the number of rows (attempts)."""
    rows = trace_rows(record)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\t".join(COLUMNS) + "\n")
        handle.writelines("\t".join(row) + "\n" for row in rows)
    return len(rows)
