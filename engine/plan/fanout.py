"""Fan-out: the items a ``foreach:`` yields (a list, a template, or rows of a table).

Tables (TSV/CSV) are read without pandas: planning must stay light.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import glob
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.errors import value_words
from engine.plan.problems import Problems
from engine.spec.config import parse_scalar
from engine.spec.spec import StepSpec
from engine.spec.templates import TemplateError, compile_template


@dataclass(frozen=True)
class FanOut:
    """What a step fans out over: one (item, label) per instance, or the steps whose tables
    must be written before it can be expanded."""

    items: tuple[Any, ...] = (None,)
    labels: tuple[Any, ...] = (None,)
    pending_on: tuple[str, ...] = ()
    fed_by: tuple[str, ...] = ()  # steps that write the table or the globbed files
    glob: str = ""  # a glob fan-out's rendered pattern, absolute


NOTHING = FanOut((), ())


class Writers(Protocol):
    """Which of the steps expanded so far write a path (the planner's index of outputs)."""

    def producer_of(self, path: str) -> str | None:
        """The step that writes ``path`` (any spelling of it), if any."""

    def writers_matching(self, matches: Callable[[str], bool]) -> list[str]:
        """The steps with an output whose normalised absolute path ``matches``."""

    def absolute(self, path: str) -> str:
        """``path`` normalised and made absolute the way outputs are indexed."""


def fan_out(step: StepSpec, enabled: bool, context: Mapping[str, Any], problems: Problems,
            writers: Writers, table_ready: Callable[[str], bool]) -> FanOut:
    if step.foreach is None:
        return FanOut()
    if isinstance(step.foreach, Mapping) and ("product" in step.foreach or "zip" in step.foreach):
        return _combined_items(step, context, problems)
    if isinstance(step.foreach, Mapping) and "glob" in step.foreach:
        return _glob_items(step, context, problems, writers, table_ready)
    if isinstance(step.foreach, Mapping) and "items" in step.foreach:
        return _keyed_items(step, context, problems)
    if isinstance(step.foreach, Mapping):
        return _table_items(step, enabled, context, problems, writers, table_ready)
    value = _as_list(step, step.foreach, ("foreach",), context, problems)
    if value is None:
        return NOTHING
    return FanOut(tuple(value), tuple(_label(v, i) for i, v in enumerate(value)))


_LIST_HINT = ("give a YAML list, a template rendering to a list, {table: PATH, column: COL}, "
              "{product: {NAME: LIST, ...}} or {zip: {NAME: LIST, ...}}")


def _as_list(step: StepSpec, value: Any, where: tuple[str, ...], context: Mapping[str, Any],
             problems: Problems) -> list[Any] | None:
    """A list as written, or a template rendering to one; None after reporting a problem."""
    if isinstance(value, str):
        try:
            value = compile_template(value).render(context)
        except TemplateError as exc:
            problems.template(step, where, exc)
            return None
        if isinstance(value, str):
            parsed = parse_scalar(value)
            value = parsed if isinstance(parsed, list) else value
    if isinstance(value, Mapping) or not isinstance(value, list | tuple):
        problems.at_step(step, where, f"'{'.'.join(where)}' must yield a list, got "
                         f"{value_words(value)}", _LIST_HINT)
        return None
    return list(value)


def _keyed_items(step: StepSpec, context: Mapping[str, Any], problems: Problems) -> FanOut:
    """``{items: LIST, key: id}``: a list of mappings whose instances are named by one field."""
    assert step.foreach is not None
    items = _as_list(step, step.foreach["items"], ("foreach", "items"), context, problems)
    if items is None:
        return NOTHING
    key = step.foreach.get("key")
    if key is None:
        return FanOut(tuple(items), tuple(_label(v, i) for i, v in enumerate(items)))
    labels = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or key not in item:
            problems.at_step(step, ("foreach", "key"), f"item {index + 1} of 'foreach.items' has "
                             f"no '{key}': {_short(item)}", "every item must be a mapping with "
                             f"a '{key}' field (it names the instance)")
            return NOTHING
        labels.append(str(item[key]))
    return FanOut(tuple(items), tuple(labels))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _glob_items(step: StepSpec, context: Mapping[str, Any], problems: Problems,
                writers: Writers, table_ready: Callable[[str], bool]) -> FanOut:
    """``{glob: "data/{sample}_R{read}.fq.gz"}``: one instance per existing file that matches,
    ``item.sample``/``item.read``/``item.path``; ``group_by: sample`` gives one instance per
    sample with ``item.path`` (and the other parts) as lists, in sorted order. When a step
    expanded earlier writes files the glob matches (or a directory they would lie in), the
    fan-out waits for that step, as a table fan-out waits for the step writing its table."""
    assert step.foreach is not None
    try:
        pattern = str(compile_template(str(step.foreach["glob"])).render(context))
    except TemplateError as exc:
        problems.template(step, ("foreach", "glob"), exc)
        return NOTHING
    names = _PLACEHOLDER.findall(pattern)
    group_by = step.foreach.get("group_by") or []
    group_by = [group_by] if isinstance(group_by, str) else list(group_by)
    unknown = [g for g in group_by if g not in names]
    if not names or unknown:
        problems.at_step(step, ("foreach", "group_by" if unknown else "glob"),
                         f"'foreach.group_by' names '{unknown[0]}', which the glob does not have"
                         if unknown else f"'foreach.glob' has no {{name}} part: '{pattern}'",
                         "write the varying parts as {name}, e.g. data/{sample}_R{read}.fastq.gz")
        return NOTHING
    absolute = writers.absolute(pattern)
    producers = tuple(writers.writers_matching(glob_matcher(absolute)))
    waiting = tuple(p for p in producers if not table_ready(p))
    if waiting:
        return FanOut((), (), waiting, glob=absolute)
    matches = _glob_matches(pattern, names)
    if not group_by:
        return FanOut(tuple({**parts, "path": path} for path, parts in matches),
                      tuple(",".join(parts[n] for n in names) for _, parts in matches),
                      fed_by=producers, glob=absolute)
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for path, parts in matches:
        key = tuple(parts[g] for g in group_by)
        item = groups.setdefault(key, {g: parts[g] for g in group_by} | {"path": []} | {
            n: [] for n in names if n not in group_by})
        item["path"].append(path)
        for name in names:
            if name not in group_by:
                item[name].append(parts[name])
    return FanOut(tuple(groups.values()), tuple(",".join(key) for key in groups),
                  fed_by=producers, glob=absolute)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """``data/{sample}_R{read}.fq`` as a regex with one named group per part (a part named
    twice must match the same text twice); a part never spans a ``/``."""
    regex_parts, last = [], 0
    seen: set[str] = set()
    for found in _PLACEHOLDER.finditer(pattern):
        regex_parts.append(re.escape(pattern[last:found.start()]))
        name = found.group(1)
        regex_parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)")
        seen.add(name)
        last = found.end()
    return re.compile("".join(regex_parts) + re.escape(pattern[last:]) + r"\Z")


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """Does a path match the glob ``pattern``, or name a directory a match would lie in?
    (An output ``out/trimmed`` is a directory the files of ``out/trimmed/{s}.fq`` lie in.)"""
    parts = pattern.split("/")
    prefixes = [_pattern_regex("/".join(parts[:depth])) for depth in range(1, len(parts) + 1)]

    def matches(path: str) -> bool:
        depth = path.count("/") + 1
        return depth <= len(prefixes) and prefixes[depth - 1].match(path) is not None
    return matches


def _glob_matches(pattern: str, names: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(path, {name: part}) of every existing file matching ``pattern``, sorted by path."""
    regex = _pattern_regex(pattern)
    wildcard = _PLACEHOLDER.sub("*", pattern)
    result = []
    for path in sorted(glob.glob(wildcard)):
        match = regex.match(path)
        if match is not None:
            result.append((path, {n: match.group(n) for n in names}))
    return result


def _combined_items(step: StepSpec, context: Mapping[str, Any], problems: Problems) -> FanOut:
    """``{product: {a: [...], b: [...]}}``: every combination; ``{zip: {...}}``: lists of equal
    length side by side. Items are mappings (``item.a``); labels name the values (``x,1``)."""
    assert step.foreach is not None
    kind = "product" if "product" in step.foreach else "zip"
    named = step.foreach[kind]
    lists: dict[str, list[Any]] = {}
    for name, value in named.items():
        found = _as_list(step, value, ("foreach", kind, name), context, problems)
        if found is None:
            return NOTHING
        lists[name] = found
    if kind == "zip":
        lengths = {name: len(values) for name, values in lists.items()}
        if len(set(lengths.values())) > 1:
            problems.at_step(step, ("foreach", "zip"), "'foreach.zip' lists differ in length: "
                             + ", ".join(f"{n} has {k}" for n, k in lengths.items()),
                             "zip pairs the lists item by item; use product for combinations")
            return NOTHING
        rows = list(zip(*lists.values()))
    else:
        rows = list(itertools.product(*lists.values()))
    items = tuple(dict(zip(lists, row)) for row in rows)
    return FanOut(items, tuple(",".join(str(v) for v in row) for row in rows))


def _table_items(step: StepSpec, enabled: bool, context: Mapping[str, Any], problems: Problems,
                 writers: Writers, table_ready: Callable[[str], bool]) -> FanOut:
    foreach = step.foreach
    try:
        table = compile_template(str(foreach["table"])).render(context)
    except TemplateError as exc:
        problems.template(step, ("foreach", "table"), exc)
        return NOTHING
    if isinstance(table, list | tuple) and len(table) == 1:
        table = table[0]
    producer = writers.producer_of(str(table))
    if producer is not None and not table_ready(producer):
        return FanOut((), (), (producer,))
    fed_by = (producer,) if producer is not None else ()
    where = foreach.get("where") or {}
    key, column = foreach.get("key"), foreach.get("column")
    try:
        if not where and key is None:  # the usual sheet of samples: one column is enough
            names, values = read_column(str(table), column)
            rows = None
        else:
            rows = read_rows(str(table))
            names, values = list(rows[0]) if rows else [], []
    except FileNotFoundError:
        if enabled:
            problems.at_step(step, ("foreach", "table"), f"foreach table '{table}' does not exist",
                             "if another step writes it, refer to it as steps.<step>.outputs.<name>")
        return NOTHING
    except (OSError, UnicodeDecodeError) as exc:
        problems.at_step(step, ("foreach", "table"), f"cannot read foreach table '{table}': {exc}")
        return NOTHING
    has_rows = bool(rows) if rows is not None else bool(values)
    header = sorted(names) if has_rows else []
    wanted: list[tuple[tuple[str, ...], Any]] = [(("foreach", "where", col), col) for col in where]
    wanted += [(("foreach", what), col) for what, col in (("key", key), ("column", column))
               if col is not None]
    for keys, col in wanted:
        if has_rows and col not in header:
            close = difflib.get_close_matches(str(col), header, n=1)
            problems.at_step(step, keys, f"table '{table}' has no column '{col}'",
                             f"did you mean '{close[0]}'?" if close else
                             f"columns: {', '.join(header)}")
            return NOTHING
    if rows is None:
        items = tuple(values)
        return FanOut(items, items, fed_by=fed_by)
    rows = select_rows(rows, where)
    if key is not None:
        return FanOut(tuple(rows), tuple(r[key] for r in rows), fed_by=fed_by)
    chosen = tuple(r[column] for r in rows)
    return FanOut(chosen, chosen, fed_by=fed_by)


def _label(value: Any, index: int) -> str:
    """An instance's label from its item's value, never its position (so reordering a list
    renames nothing): a scalar as is, a mapping as its values joined by commas."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping) and value:
        return ",".join(_part(v) for v in value.values())
    if isinstance(value, list | tuple) and value:
        return ",".join(_part(v) for v in value)
    return str(index)  # None, booleans, empty containers: nothing better to name them by


def _part(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


@contextlib.contextmanager
def _table(path: str | Path) -> Iterator[tuple[list[str] | None, Iterator[list[str]]]]:
    """(header or None for an empty file, the rows after it) of a TSV (default) or CSV
    (``.csv``) file; lines starting with ``##`` are comments."""
    delimiter = "," if str(path).lower().endswith((".csv", ".csv.gz")) else "\t"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader((line for line in handle if not line.startswith("##")),
                            delimiter=delimiter)
        yield next(reader, None), reader


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a TSV (default) or CSV (``.csv``) file with a header line."""
    with _table(path) as (header, reader):
        if header is None:
            return []
        width = len(header)
        # csv.reader + zip is several times faster than DictReader on 100k-row sheets
        return [dict(zip(header, row + [""] * (width - len(row)))) for row in reader if row]


def read_column(path: str | Path, column: Any) -> tuple[list[str], list[str]]:
    """(the table's column names, ``column``'s value in each row): what ``read_rows`` gives
    as ``rows[0]``'s keys and ``[r[column] for r in rows]``, without a dict per row (100,000
    of them for a 100,000-row sheet). A column the header lacks gives "" for every row."""
    with _table(path) as (header, reader):
        if header is None:
            return [], []
        # as read_rows' dicts: the last of repeated names wins; a short row is padded with
        # "", a long one cut
        if column in header:
            at = len(header) - 1 - header[::-1].index(column)
            values = [row[at] if at < len(row) else "" for row in reader if row]
        else:
            values = ["" for row in reader if row]
    return list(dict.fromkeys(header)), values


def select_rows(rows: list[dict[str, str]], where: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not where:
        return rows
    wanted = {k: (v if isinstance(v, list) else [v]) for k, v in where.items()}
    wanted_text = {k: {_text(x) for x in values} for k, values in wanted.items()}
    return [r for r in rows if all(r.get(k) in vals for k, vals in wanted_text.items())]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
