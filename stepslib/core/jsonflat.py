"""``core.json_to_table``: pick values out of JSON reports (fastp, MultiQC, ...) into a table.

Plain ``json`` and ``csv``: no pandas needed for a handful of values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.core.common import file_stem, flat_inputs, separator_for

_MISSING = object()


@step(
    "core.json_to_table",
    inputs={"reports": "the JSON files, one table row each"},
    outputs={"table": "the table (.csv: comma-separated, else tabs)"},
    version="1",
    params={
        "properties": {
            "fields": {
                "type": ["object", "array"],
                "additionalProperties": {"type": "string"},
                "items": {"type": "string"},
                "default": {},
                "description": "Values to extract: column -> dotted path into the JSON "
                               "('summary.after_filtering.total_reads'; list items by number, "
                               "'a.0.b'), or a list of dotted paths (the path is the column "
                               "name). Empty: every scalar value, lists skipped.",
            },
            "constants": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                "default": {},
                "description": "Extra columns with a fixed value (put first), e.g. "
                               "{sample: '{{ item }}'}.",
            },
            "source_column": {
                "type": ["string", "null"],
                "default": None,
                "description": "If set, a column with each input file's name without "
                               "extensions.",
            },
            "missing": {
                "enum": ["error", "empty"],
                "default": "error",
                "description": "A path not found in a JSON file: fail, or leave the cell empty.",
            },
            "sep": {"type": ["string", "null"], "default": None,
                    "description": "Output separator; default: ',' for .csv, else a tab."},
        },
    },
)
def json_to_table(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                  context: StepContext) -> dict[str, Any]:
    """One table row per input JSON file, with the selected values as columns."""
    paths = flat_inputs(inputs)
    target = single_path(outputs, output=True)
    if not paths:
        raise StepError("core.json_to_table got no input files")
    fields = config["fields"]
    if isinstance(fields, list):
        fields = {path: path for path in fields}
    rows: list[dict[str, Any]] = []
    for path in paths:
        document = _load(path)
        row: dict[str, Any] = dict(config["constants"])
        if config["source_column"]:
            row[config["source_column"]] = file_stem(path)
        if fields:
            for column, dotted in fields.items():
                row[column] = _value(document, dotted, path, config["missing"])
        else:
            row.update(_scalars(document))
        rows.append(row)
    header = list(dict.fromkeys(column for row in rows for column in row))
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=separator_for(target, config["sep"]),
                            lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(row.get(column)) for column in header])
    context.log.info("wrote %d row(s) x %d column(s) to %s", len(rows), len(header), target)
    return {"status": "completed", "metadata": {"rows": len(rows), "columns": len(header)}}


def _load(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise StepError(f"input JSON file '{path}' does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StepError(f"'{path}' is not valid JSON: {exc}") from None


def _value(document: Any, dotted: str, path: Path, missing: str) -> Any:
    node = document
    for depth, part in enumerate(dotted.split(".")):
        child = _child(node, part)
        if child is _MISSING:
            if missing == "empty":
                return None
            here = ".".join(dotted.split(".")[:depth]) or "the top level"
            if isinstance(node, dict):
                keys = ", ".join(list(map(str, node))[:30])
                detail = f"keys at {here}: {keys}"
            elif isinstance(node, list):
                detail = f"{here} is a list of {len(node)} item(s)"
            else:
                detail = f"{here} is a single value"
            raise StepError(f"'{path}' has no '{dotted}' ('{part}' not found); {detail}",
                            hint="fix the path in 'fields', or set missing: empty")
        node = child
    if isinstance(node, dict | list):
        raise StepError(f"'{dotted}' in '{path}' is a {type(node).__name__}, not a single value",
                        hint="name a deeper path, e.g. '" + dotted + "."
                             + (str(next(iter(node), "0")) if isinstance(node, dict) else "0")
                             + "'")
    return node


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and part.lstrip("-").isdigit():
        index = int(part)
        return node[index] if -len(node) <= index < len(node) else _MISSING
    return _MISSING


def _scalars(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _scalars(value, f"{prefix}{key}.")
    elif not isinstance(node, list):
        yield prefix.rstrip("."), node


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
