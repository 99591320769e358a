"""Fan-out: the items a ``foreach:`` yields (a list, a template, or rows of a table).

Tables (TSV/CSV) are read without pandas: planning must stay light.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


NOTHING = FanOut((), ())

# (table path) -> the step that writes it, among the steps expanded so far
ProducerOf = Callable[[str], "str | None"]


def fan_out(step: StepSpec, enabled: bool, context: Mapping[str, Any], problems: Problems,
            producer_of: ProducerOf, table_ready: Callable[[str], bool]) -> FanOut:
    if step.foreach is None:
        return FanOut()
    if isinstance(step.foreach, Mapping):
        return _table_items(step, enabled, context, problems, producer_of, table_ready)
    value = step.foreach
    if isinstance(value, str):
        try:
            value = compile_template(value).render(context)
        except TemplateError as exc:
            problems.at_step(step, ("foreach",), f"in 'foreach': {exc}")
            return NOTHING
        if isinstance(value, str):
            parsed = parse_scalar(value)
            value = parsed if isinstance(parsed, list) else value
    if isinstance(value, Mapping) or not isinstance(value, list | tuple):
        problems.at_step(step, ("foreach",), f"'foreach' must yield a list, got "
                         f"{type(value).__name__} {_short(value)}", "give a YAML list, a "
                         "template rendering to a list, or {table: PATH, column: COL}")
        return NOTHING
    return FanOut(tuple(value), tuple(_label(v, i) for i, v in enumerate(value)))


def _table_items(step: StepSpec, enabled: bool, context: Mapping[str, Any], problems: Problems,
                 producer_of: ProducerOf, table_ready: Callable[[str], bool]) -> FanOut:
    foreach = step.foreach
    try:
        table = compile_template(str(foreach["table"])).render(context)
    except TemplateError as exc:
        problems.at_step(step, ("foreach", "table"), f"in 'foreach.table': {exc}")
        return NOTHING
    if isinstance(table, list | tuple) and len(table) == 1:
        table = table[0]
    producer = producer_of(str(table))
    if producer is not None and not table_ready(producer):
        return FanOut((), (), (producer,))
    try:
        rows = read_rows(str(table))
    except FileNotFoundError:
        if enabled:
            problems.at_step(step, ("foreach", "table"), f"foreach table '{table}' does not exist",
                             "if another step writes it, refer to it as steps.<step>.outputs.<name>")
        return NOTHING
    except (OSError, UnicodeDecodeError) as exc:
        problems.at_step(step, ("foreach", "table"), f"cannot read foreach table '{table}': {exc}")
        return NOTHING
    header = sorted(rows[0]) if rows else []
    where = foreach.get("where") or {}
    key, column = foreach.get("key"), foreach.get("column")
    wanted: list[tuple[tuple[str, ...], Any]] = [(("foreach", "where", col), col) for col in where]
    wanted += [(("foreach", what), col) for what, col in (("key", key), ("column", column))
               if col is not None]
    for keys, col in wanted:
        if rows and col not in header:
            close = difflib.get_close_matches(str(col), header, n=1)
            problems.at_step(step, keys, f"table '{table}' has no column '{col}'",
                             f"did you mean '{close[0]}'?" if close else
                             f"columns: {', '.join(header)}")
            return NOTHING
    rows = select_rows(rows, where)
    if key is not None:
        return FanOut(tuple(rows), tuple(r[key] for r in rows))
    values = tuple(r[column] for r in rows)
    return FanOut(values, values)


def _label(value: Any, index: int) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return str(index)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a TSV (default) or CSV (``.csv``) file with a header line."""
    delimiter = "," if str(path).lower().endswith((".csv", ".csv.gz")) else "\t"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader((line for line in handle if not line.startswith("##")),
                            delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return []
        width = len(header)
        # csv.reader + zip is several times faster than DictReader on 100k-row sheets
        return [dict(zip(header, row + [""] * (width - len(row)))) for row in reader if row]


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
