"""The numbers a report shows, from a run record: per-step resource distributions, timeline
rows (worker slots), log tails within a size budget, and the compact data the page's script
draws from.

Times in the page's data are seconds since the run started, rounded to milliseconds; each
instance is one array (:data:`INSTANCE_FIELDS`), and long lists (a gather's 10,000 inputs)
are cut to :data:`MAX_FILES` with the count of the rest, so that a 10,000-instance report
stays a few megabytes.
"""

from __future__ import annotations

import heapq
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.logtail import tail_of

STATUSES = ("failed", "interrupted", "not started", "running", "completed", "skipped",
            "up to date", "not selected")
"""Outcome order of precedence: a step node shows the first one any of its instances has."""

INSTANCE_FIELDS = ("id", "step", "status", "attempts", "start", "end", "duration", "cpu",
                   "mem", "exit", "detail")
MAX_FILES = 50  # inputs/outputs listed per instance in the page
FAILED_TAIL_LINES = 20
OTHER_TAIL_LINES = 10
TAIL_BUDGET = 512 * 1024  # characters of log tails of instances that did not fail
MAX_TAIL_CHARS = 4000  # of one instance's tail


def step_status(counts: Mapping[str, int]) -> str:
    """The outcome a step node is coloured by: the most telling one any instance has."""
    for status in STATUSES:
        if counts.get(status):
            return status
    return "not started"


def distribution(values: Iterable[float | None]) -> dict[str, float] | None:
    found = sorted(v for v in values if v is not None)
    if not found:
        return None
    return {"min": found[0], "median": statistics.median(found), "max": found[-1],
            "total": sum(found), "n": len(found)}


def step_resources(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per step: how many instances ran, and duration, CPU and peak memory over them."""
    ran: dict[str, list[Mapping[str, Any]]] = {s["name"]: [] for s in record.get("steps", [])}
    for entry in record["instances"]:
        if entry.get("duration") is not None:
            ran.setdefault(entry["step"], []).append(entry)
    rows = []
    for step, entries in ran.items():
        if not entries:
            continue
        duration = distribution(e["duration"] for e in entries)
        cpu = distribution(e.get("cpu_time") for e in entries)
        rows.append({"step": step, "ran": len(entries), "duration": duration, "cpu": cpu,
                     "mem": distribution(e.get("peak_mem_mb") for e in entries),
                     "cpu_percent": (100.0 * cpu["total"] / duration["total"]
                                     if cpu and duration and duration["total"] > 0 else None)})
    return rows


def attempts_of(record: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(instance index, attempt) of every attempt of the run, by start time."""
    found = []
    for index, entry in enumerate(record["instances"]):
        for attempt in entry.get("attempt_list", ()):
            if attempt.get("started") is not None:
                found.append((index, attempt))
    found.sort(key=lambda pair: (pair[1]["started"], pair[0]))
    return found


def assign_slots(spans: Sequence[tuple[float, float]]) -> list[int]:
    """A worker slot for each (start, end) span, spans in start order: the lowest slot that
    is free at its start (greedy interval colouring; as many slots as ran at once)."""
    busy: list[tuple[float, int]] = []  # (end, slot)
    free: list[int] = []
    slots = []
    for start, end in spans:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        slot = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (max(end, start), slot))
        slots.append(slot)
    return slots


def log_tails(record: Mapping[str, Any], budget: int = TAIL_BUDGET) -> dict[int, str]:
    """Instance index -> the end of its log: every failed one's last 20 lines, then those of
    the others that ran, 10 lines each, while ``budget`` characters last."""
    tails: dict[int, str] = {}
    others = []
    for index, entry in enumerate(record["instances"]):
        if entry["status"] in ("failed", "interrupted"):
            text = entry.get("log_tail")
            if text is None and entry.get("log"):
                text = tail_of(Path(entry["log"]), FAILED_TAIL_LINES)
            if text:
                tails[index] = text[-MAX_TAIL_CHARS:]
        elif entry.get("log") and entry.get("attempts"):
            others.append(index)
    for index in others:
        if budget <= 0:
            break
        text = tail_of(Path(record["instances"][index]["log"]), OTHER_TAIL_LINES)
        if text:
            text = text[-min(MAX_TAIL_CHARS, budget):]
            tails[index] = text
            budget -= len(text)
    return tails


MARK = "\u0001"  # stands for the instance's label (the item in ``step[item]``) in strings


class Strings:
    """A table of the page's repeated strings: commands, paths, logs, reasons, errors.

    An instance's label is replaced by :data:`MARK` first, so the 10,000 commands of a
    fan-out that differ only by their item share one entry; the page puts the label back."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str, label: str | None) -> int:
        if label:
            text = text.replace(label, MARK)
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.table)
            self.table.append(text)
        return found


def _label(instance_id: str, step: str) -> str | None:
    return instance_id[len(step) + 1:-1] if instance_id.startswith(step + "[") else None


def _files(files: Sequence[Mapping[str, Any]], strings: Strings, label: str | None) -> list[Any]:
    shown: list[Any] = [[strings(f["name"], None), strings(f["path"], label), f.get("size")]
                        for f in files[:MAX_FILES]]
    if len(files) > MAX_FILES:
        rest = files[MAX_FILES:]
        known = [f["size"] for f in rest if f.get("size") is not None]
        shown.append([strings(f"... {len(rest)} more", None), strings("", None),
                      sum(known) if known else None])
    return shown


def page_data(record: Mapping[str, Any], tails: Mapping[int, str]) -> dict[str, Any]:
    """The compact data the report's script draws the DAG cells, timeline and details from."""
    zero = record.get("started") or 0.0
    steps = [s["name"] for s in record.get("steps", [])]
    step_index = {name: i for i, name in enumerate(steps)}
    strings = Strings()
    instances = []
    for index, entry in enumerate(record["instances"]):
        if entry["step"] not in step_index:
            step_index[entry["step"]] = len(steps)
            steps.append(entry["step"])
        instances.append([
            entry["id"], step_index[entry["step"]], _status_index(entry["status"]),
            entry.get("attempts", 0), _rel(entry.get("started"), zero),
            _rel(entry.get("ended"), zero), _round(entry.get("duration")),
            _round(entry.get("cpu_time")), _round(entry.get("peak_mem_mb")),
            entry.get("signal") or entry.get("exit_code"),
            _detail(entry, tails.get(index), strings),
        ])
    attempts = attempts_of(record)
    spans = [(a["started"], a.get("ended") or a["started"]) for _, a in attempts]
    slots = assign_slots(spans)
    timeline = [[index, a["attempt"], _rel(a["started"], zero), _rel(a.get("ended"), zero),
                 _status_index(a["status"]), slot] for (index, a), slot in zip(attempts, slots)]
    critical = set(record.get("critical_path", {}).get("instances", []))
    return {"fields": INSTANCE_FIELDS, "statuses": STATUSES, "steps": steps,
            "instances": instances, "timeline": timeline, "strings": strings.table,
            "mark": MARK, "elapsed": record.get("elapsed") or 0.0,
            "critical": [i for i, e in enumerate(record["instances"]) if e["id"] in critical]}


def _detail(entry: Mapping[str, Any], tail: str | None, strings: Strings) -> dict[str, Any]:
    """The rarely shown fields of one instance, empty ones left out; texts as indexes into
    the string table."""
    label = _label(entry["id"], entry["step"])
    found: dict[str, Any] = {}
    for key, short in (("command", "c"), ("uses", "u"), ("error", "e"), ("hint", "h"),
                       ("log", "l"), ("skip_reason", "s")):
        if entry.get(key):
            found[short] = strings(str(entry[key]), label)
    if entry.get("reasons"):
        found["r"] = [strings(str(r), label) for r in entry["reasons"]]
    if entry.get("params"):
        found["p"] = strings(json.dumps(entry["params"], indent=1, default=str), label)
    for key, short in (("inputs", "in"), ("outputs", "out")):
        if entry.get(key):
            found[short] = _files(entry[key], strings, label)
    for key, short in (("warnings", "w"), ("output", "o")):
        if entry.get(key):
            found[short] = entry[key]
    if tail:
        found["t"] = tail
    return found


def _status_index(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else STATUSES.index("not started")


def _rel(value: float | None, zero: float) -> float | None:
    return None if value is None else round(value - zero, 3)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
