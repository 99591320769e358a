"""MetaInformAnt's orchestrator form, translated into the spec language.

MetaInformAnt's ``core.execution.workflow`` reads a workflow as::

    steps:
      download: {function: "mylab.io:fetch", params: {url: ...}}
      count:    {function: "mylab.stats:count", depends_on: [download], params: {...}}

and calls ``function(**params, **{dependency: its result})`` in dependency order. This module
turns such a file (or the same mapping built in Python) into the data of an ordinary spec, one
step per entry, so the engine plans, schedules, records and reruns it like any other:

- ``function`` becomes ``uses:`` (a plain function step, :mod:`engine.callables`);
- each step keeps its return value in ``<results_dir>/<workflow>/<step>.result`` (its output
  ``result``), and each ``depends_on`` entry becomes an input reading that file, so the
  dependency orders the steps *and* passes the result, across runs too;
- other top-level keys (``work_dir``, ``threads``, ...) become the spec's ``config``.

Its checks are MetaInformAnt's, worded as it words them (``Step 'b' depends on unknown step
'x'``, ``Cycle detected in workflow DAG involving steps: [...]``), located in the file with a
hint. Line marks move with the values, so later checks (schema, imports, params) point into
the user's file too. A list of steps that uses ``function:``/``depends_on:`` is read the same.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Diagnostic, SpecError
from engine.spec.yamlload import Marks, PathKey

STEP_KEYS = ("function", "depends_on", "params", "after", "description", "enabled", "threads",
             "resources", "retries", "timeout")
"""What an orchestrator step may hold: MetaInformAnt's three keys and mi-run's settings
(``after``: ordering without passing the result)."""

_PASSED = ("after", "description", "enabled", "threads", "resources", "retries", "timeout")
_ORDERING = ("depends_on", "after")
_RENAMED = {"function": "uses", "depends_on": "inputs"}
_TOP_KEYS = ("name", "description", "steps", "config")


@dataclass(frozen=True)
class _Entry:
    name: str
    raw: Any
    where: PathKey  # of the step's mapping in the source
    name_where: tuple[PathKey, bool]  # where its name is written, and whether as a key


@dataclass(frozen=True)
class Translation:
    """The spec-language data and its line marks; ``order``: MetaInformAnt's execution
    order (Kahn's algorithm, file order among steps that are ready together)."""

    data: dict[str, Any]
    marks: Marks
    order: tuple[str, ...]
    depends_on: Mapping[str, tuple[str, ...]]


def translate(data: Mapping[str, Any], marks: Marks, results_dir: str,
              default_name: str) -> Translation:
    """The spec form of an orchestrator workflow; every problem at once as a SpecError."""
    problems: list[Diagnostic] = []
    entries = _entries(data["steps"], marks, problems)
    listed = {key: {e.name: _step_names(e, key, marks, problems) for e in entries}
              for key in _ORDERING}
    depends = listed["depends_on"]
    for entry in entries:
        _check_entry(entry, marks, problems)
    for key in _ORDERING:
        _check_dependencies(entries, key, listed[key], marks, problems)
    order: list[str] = []
    if not problems:
        waits = {e.name: list(dict.fromkeys(depends[e.name] + listed["after"][e.name]))
                 for e in entries}
        order = _execution_order(entries, waits, marks, problems)
    if problems:
        raise SpecError(problems)
    name = _workflow_name(data.get("name"), default_name)
    kept = workflow_results(results_dir, name)
    steps = [_spec_step(e, depends[e.name], kept) for e in entries]
    config = dict(data["config"]) if isinstance(data.get("config"), Mapping) else {}
    config.update({k: v for k, v in data.items() if k not in _TOP_KEYS})
    spec: dict[str, Any] = {"name": name, "steps": steps, "config": config}
    if isinstance(data.get("description"), str):
        spec["description"] = data["description"]
    if results_dir.startswith("/"):
        spec["output_roots"] = [results_dir]
    return Translation(spec, _moved_marks(data, entries, marks), tuple(order),
                       {k: tuple(v) for k, v in depends.items()})


def _entries(steps: Any, marks: Marks, problems: list[Diagnostic]) -> list[_Entry]:
    if isinstance(steps, Mapping):
        return [_Entry(str(name), raw, ("steps", name), (("steps", name), True))
                for name, raw in steps.items()]
    found = []
    for index, raw in enumerate(steps):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if not isinstance(name, str):
            problems.append(marks.diagnostic(("steps", index), f"step {index + 1} has no name",
                                             "give every step a 'name:'"))
            continue
        found.append(_Entry(name, raw, ("steps", index), (("steps", index, "name"), False)))
    return found


def _step_names(entry: _Entry, key: str, marks: Marks, problems: list[Diagnostic]) -> list[str]:
    """The step names listed under ``key`` (depends_on or after)."""
    raw = entry.raw.get(key) if isinstance(entry.raw, Mapping) else None
    if raw is None:
        return []
    where = (*entry.where, key)
    if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
        problems.append(marks.diagnostic(
            where, f"Step '{entry.name}': '{key}' must be a list of step names",
            f"for example: {key}: [{raw if isinstance(raw, str) else 'download'}]"))
        return []
    return list(dict.fromkeys(raw))


def _check_entry(entry: _Entry, marks: Marks, problems: list[Diagnostic]) -> None:
    raw, name = entry.raw, entry.name
    if not isinstance(raw, Mapping):
        problems.append(marks.diagnostic(entry.where, f"Step '{name}' must be a dictionary",
                                         "give it at least: function: 'package.module:function'"))
        return
    for key in raw:
        in_list = isinstance(entry.where[-1], int)  # the list form names steps by 'name:'
        if key not in STEP_KEYS and not (key == "name" and in_list):
            close = difflib.get_close_matches(str(key), STEP_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(STEP_KEYS)}"
            problems.append(marks.diagnostic((*entry.where, key),
                                             f"Step '{name}' has unknown key '{key}'", hint,
                                             key=True))
    function = raw.get("function")
    if function is None:
        problems.append(marks.diagnostic(entry.where, f"Step '{name}' missing 'function' field",
                                         "add: function: 'package.module:function'", key=True))
    elif not isinstance(function, str) or ":" not in function:
        problems.append(marks.diagnostic(
            (*entry.where, "function"), "Function reference must be in "
            f"'module.path:function_name' format, got: {function!r}",
            "write it as 'package.module:function', e.g. 'mylab.stats:summarise'"))
    params = raw.get("params")
    if params is not None and not isinstance(params, Mapping):
        problems.append(marks.diagnostic((*entry.where, "params"),
                                         f"Step '{name}': 'params' must be a mapping",
                                         "params: {name: value, ...} (keyword arguments)"))


def _check_dependencies(entries: list[_Entry], key: str, depends: Mapping[str, list[str]],
                        marks: Marks, problems: list[Diagnostic]) -> None:
    names = [e.name for e in entries]
    for entry in entries:
        for index, dep in enumerate(depends[entry.name]):
            if dep in names:
                continue
            close = difflib.get_close_matches(dep, names, n=1)
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"the steps are: {', '.join(names)}")
            problems.append(marks.diagnostic((*entry.where, key, index),
                                             f"Step '{entry.name}' depends on unknown step "
                                             f"'{dep}'", hint))


def _execution_order(entries: list[_Entry], depends: Mapping[str, list[str]], marks: Marks,
                     problems: list[Diagnostic]) -> list[str]:
    """Kahn's algorithm as MetaInformAnt runs it: ready steps in file order, first in first
    out; a cycle names every step left waiting, and the hint shows one cycle."""
    waiting = {e.name: len(depends[e.name]) for e in entries}
    dependents: dict[str, list[str]] = {e.name: [] for e in entries}
    for entry in entries:
        for dep in depends[entry.name]:
            dependents[dep].append(entry.name)
    ready = deque(name for name, count in waiting.items() if count == 0)
    order = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for downstream in dependents[current]:
            waiting[downstream] -= 1
            if waiting[downstream] == 0:
                ready.append(downstream)
    if len(order) < len(entries):
        stuck = sorted(name for name, count in waiting.items() if count > 0)
        cycle = _one_cycle(stuck, depends)
        where = next(e.where for e in entries if e.name == cycle[0])
        problems.append(marks.diagnostic(
            (*where, "depends_on"), f"Cycle detected in workflow DAG involving steps: {stuck}",
            f"{' -> '.join(cycle)}: remove one of these dependencies"))
    return order


def _one_cycle(stuck: list[str], depends: Mapping[str, list[str]]) -> list[str]:
    """A cycle among ``stuck`` (every stuck step waits, eventually, on a cycle)."""
    path: list[str] = []
    current = stuck[0]
    while current not in path:
        path.append(current)
        current = next(d for d in depends[current] if d in stuck)
    cycle = path[path.index(current):]
    # written in the direction of the data: a dependency before its dependent
    cycle.reverse()
    return [*cycle, cycle[0]]


def workflow_results(results_dir: str, workflow: str) -> str:
    """The folder of one workflow's kept results (workflows may share a state directory)."""
    return f"{results_dir.rstrip('/')}/{workflow}"


def result_path(results_dir: str, step: str) -> str:
    """Where step ``step`` keeps its return value."""
    return f"{results_dir.rstrip('/')}/{step}.result"


def _spec_step(entry: _Entry, depends: list[str], results_dir: str) -> dict[str, Any]:
    raw = entry.raw
    step: dict[str, Any] = {"name": entry.name, "uses": raw["function"],
                            "params": dict(raw.get("params") or {}),
                            "outputs": {"result": result_path(results_dir, entry.name)}}
    if depends:
        step["inputs"] = {dep: result_path(results_dir, dep) for dep in depends}
    step.update({key: raw[key] for key in _PASSED if key in raw})
    if "after" in step:  # a name also in depends_on is already waited for
        step["after"] = [name for name in step["after"] if name not in depends]
    return step


def _workflow_name(name: Any, default: str) -> str:
    """MetaInformAnt names are free text ("RNA workflow"); a spec's name is a word."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name if name is not None else default))
    return text.strip("-") or "workflow"


def _moved_marks(data: Mapping[str, Any], entries: list[_Entry], marks: Marks) -> Marks:
    """The source's line marks under the spec form's paths, so that every later check
    points into the user's file."""
    moved = Marks(path=marks.path)
    for table, target in ((marks.values, moved.values), (marks.keys, moved.keys)):
        for where, place in table.items():
            top = where[:1] in (("name",), ("description",), ("steps",), ()) and len(where) <= 1
            if top or where[:1] == ("config",):
                target[where] = place
            elif where and where[0] not in _TOP_KEYS:
                target[("config", *where)] = place
    for position, entry in enumerate(entries):
        prefix, size = ("steps", position), len(entry.where)
        name_where, as_key = entry.name_where
        name_place = (marks.keys if as_key else marks.values).get(name_where)
        for table, target in ((marks.values, moved.values), (marks.keys, moved.keys)):
            for where, place in table.items():
                if where[:size] == entry.where:
                    target[(*prefix, *_renamed(where[size:], entry.raw))] = place
        if name_place is not None:
            moved.values[(*prefix, "name")] = name_place
            moved.keys[(*prefix, "name")] = name_place
    return moved


def _renamed(rest: PathKey, raw: Any) -> PathKey:
    if not rest or rest[0] not in _RENAMED:
        return rest
    if rest[0] == "depends_on" and len(rest) > 1 and isinstance(raw, Mapping):
        deps = raw.get("depends_on")
        index = rest[1]
        if isinstance(deps, list) and isinstance(index, int) and index < len(deps):
            return ("inputs", str(deps[index]), *rest[2:])
    return (_RENAMED[str(rest[0])], *rest[1:])
