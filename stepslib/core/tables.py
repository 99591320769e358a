"""Table toolbox (pandas): concat, filter, join, aggregate, select.

Tables are TSV, or CSV when the file name ends in ``.csv`` (``sep`` overrides); every table has
a header line. A param naming a column that does not exist fails with the available columns.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.core.common import (
    SEP_PARAM,
    as_list,
    compile_pattern,
    file_stem,
    flat_inputs,
    read_table,
    require_columns,
    source_value,
    write_table,
)

AGG_FUNCS = ["sum", "mean", "median", "min", "max", "count", "std", "first", "last", "nunique"]

_COLUMNS = {"type": "array", "items": {"type": "string"}}
_ONE_OR_MORE = {"type": ["string", "array"], "items": {"type": "string"}}  # "a" or [a, b]


def _done(context: StepContext, frame: Any, target: Any) -> dict[str, Any]:
    context.log.info("wrote %d rows x %d columns to %s", len(frame), len(frame.columns), target)
    return {"status": "completed", "metadata": {"rows": len(frame), "columns": len(frame.columns)}}


# core.table_concat -------------------------------------------------------------------------
@step(
    "core.table_concat",
    inputs={"tables": "the tables to stack, in order"},
    outputs={"table": "the stacked table"},
    version="1",
    params={
        "properties": {
            "source_column": {
                "type": ["string", "null"],
                "default": "source",
                "description": "Name of the column (inserted first) telling which file a row came "
                               "from; null for none.",
            },
            "source_pattern": {
                "type": ["string", "null"],
                "default": None,
                "description": "Regular expression searched in each input path; its group "
                               "'source' or first group is the source value (default: the file "
                               "name without extensions), e.g. 'quant/([^/]+)/abundance'.",
            },
            "sep": SEP_PARAM,
        },
    },
)
def table_concat(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                 context: StepContext) -> dict[str, Any]:
    """Stack several tables into one; columns are matched by name (missing ones stay empty)."""
    import pandas as pd

    paths = flat_inputs(inputs)
    target = single_path(outputs, output=True)
    if not paths:
        raise StepError("core.table_concat got no input tables")
    pattern = compile_pattern(config["source_pattern"], "source_pattern")
    column = config["source_column"]
    frames = []
    sources = []
    for path in paths:
        frame = read_table(path, config["sep"])
        if column:
            if column in frame.columns:
                raise StepError(f"table '{path}' already has a column '{column}'",
                                hint="choose another 'source_column' or set it to null")
            sources.append(source_value(path, pattern))
            frame.insert(0, column, sources[-1])
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True, sort=False)
    write_table(result, target, config["sep"])
    warnings = [f"source value '{value}' comes from {count} files"
                for value, count in Counter(sources).items() if count > 1]
    return {**_done(context, result, target), "warnings": warnings}


# core.table_filter -------------------------------------------------------------------------
@step(
    "core.table_filter",
    inputs={"table": "the table to filter"},
    outputs={"table": "the rows kept"},
    version="1",
    params={
        "properties": {
            "query": {
                "type": ["string", "null"],
                "default": None,
                "description": "pandas query expression selecting rows, e.g. "
                               "\"count > 10 and sample != 'ctl'\" (backquote column names with "
                               "spaces: `my col`); null keeps every row.",
            },
            "columns": {
                **_COLUMNS, "default": [],
                "description": "Columns to keep, in this order (empty: all).",
            },
            "sep": SEP_PARAM,
        },
    },
)
def table_filter(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                 context: StepContext) -> dict[str, Any]:
    """Keep the rows matching a pandas query, and optionally only some columns."""
    path = _single_input(inputs, "core.table_filter")
    target = single_path(outputs, output=True)
    frame = read_table(path, config["sep"])
    query = config["query"]
    if query:
        frame = _query(frame, query, str(path))
    if config["columns"]:
        require_columns(frame.columns, config["columns"], f"'{path}'", "columns")
        frame = frame[config["columns"]]
    write_table(frame, target, config["sep"])
    return _done(context, frame, target)


def _query(frame: Any, query: str, where: str) -> Any:
    import pandas as pd

    try:
        result = frame.query(query)
    except pd.errors.UndefinedVariableError as exc:
        raise StepError(f"param 'query' {query!r}: {exc} in {where}; available columns: "
                        f"{', '.join(map(str, frame.columns))}",
                        hint="quote string values (\"name == 'x'\") and backquote column "
                             "names with spaces") from None
    except (SyntaxError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StepError(f"param 'query' {query!r} is not a valid query on {where}: "
                        f"{type(exc).__name__}: {exc}",
                        hint="see pandas DataFrame.query; columns: "
                             + ", ".join(map(str, frame.columns))) from None
    if not isinstance(result, pd.DataFrame):
        raise StepError(f"param 'query' {query!r} does not select rows")
    return result


def _single_input(inputs: dict[str, Any], name: str) -> Any:
    paths = flat_inputs(inputs)
    if len(paths) != 1:
        raise StepError(f"{name} reads exactly one input table, but {len(paths)} were declared")
    return paths[0]


# core.table_join ---------------------------------------------------------------------------
@step(
    "core.table_join",
    inputs={"tables": "two or more tables with the key columns"},
    outputs={"table": "the joined table"},
    version="1",
    params={
        "properties": {
            "on": {**_ONE_OR_MORE, "description": "Key column(s) present in every table."},
            "how": {
                "enum": ["inner", "left", "outer"],
                "default": "inner",
                "description": "inner: keys in every table; left: keys of the first table; "
                               "outer: keys in any table.",
            },
            "sep": SEP_PARAM,
        },
        "required": ["on"],
    },
)
def table_join(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: StepContext) -> dict[str, Any]:
    """Join two or more tables on key columns, left to right in declared order.

    A non-key column found in several tables is renamed ``<column>_<file stem>`` in each.
    """
    paths = flat_inputs(inputs)
    target = single_path(outputs, output=True)
    if len(paths) < 2:
        raise StepError(f"core.table_join needs two or more tables, got {len(paths)}")
    keys = as_list(config["on"])
    if not keys:
        raise StepError("param 'on' names no key column")
    frames = [read_table(p, config["sep"]) for p in paths]
    for path, frame in zip(paths, frames):
        require_columns(frame.columns, keys, f"table '{path}'", "on")
    frames = _disambiguate(frames, [file_stem(p) for p in paths], keys)
    result = frames[0]
    for path, frame in zip(paths[1:], frames[1:]):
        result = _merge(result, frame, keys, config["how"], str(path))
    write_table(result, target, config["sep"])
    return _done(context, result, target)


def _disambiguate(frames: list[Any], stems: list[str], keys: list[str]) -> list[Any]:
    seen = Counter(c for f in frames for c in f.columns if c not in keys)
    clashing = {c for c, n in seen.items() if n > 1}
    if not clashing:
        return frames
    labels = stems if len(set(stems)) == len(stems) else [str(i + 1) for i in range(len(stems))]
    return [f.rename(columns={c: f"{c}_{label}" for c in f.columns if c in clashing})
            for f, label in zip(frames, labels)]


def _merge(left: Any, right: Any, keys: list[str], how: str, where: str) -> Any:
    for key in keys:  # 1 vs "1": compare keys as text when the tables disagree on the type
        if left[key].dtype != right[key].dtype:
            left = left.assign(**{key: left[key].astype(str)})
            right = right.assign(**{key: right[key].astype(str)})
    try:
        return left.merge(right, on=keys, how=how)
    except (ValueError, TypeError) as exc:
        raise StepError(f"cannot join '{where}' on {', '.join(keys)}: {exc}") from None


# core.table_aggregate ----------------------------------------------------------------------
@step(
    "core.table_aggregate",
    inputs={"table": "the table to aggregate"},
    outputs={"table": "one row per group"},
    version="1",
    params={
        "properties": {
            "by": {
                **_ONE_OR_MORE, "default": [],
                "description": "Column(s) to group by (empty: aggregate the whole table into "
                               "one row).",
            },
            "aggregations": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {
                    "oneOf": [
                        {"enum": AGG_FUNCS},
                        {"type": "array", "items": {"enum": AGG_FUNCS}, "minItems": 1},
                    ],
                },
                "description": "column -> function or list of functions (" + ", ".join(AGG_FUNCS)
                               + "). One function keeps the column name; a list makes columns "
                               "<column>_<function>.",
            },
            "sep": SEP_PARAM,
        },
        "required": ["aggregations"],
    },
)
def table_aggregate(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                    context: StepContext) -> dict[str, Any]:
    """Group rows by some columns and summarise other columns (sum, mean, count, ...)."""
    import pandas as pd

    path = _single_input(inputs, "core.table_aggregate")
    target = single_path(outputs, output=True)
    frame = read_table(path, config["sep"])
    by = as_list(config["by"])
    aggregations: dict[str, Any] = config["aggregations"]
    require_columns(frame.columns, by, f"'{path}'", "by")
    require_columns(frame.columns, list(aggregations), f"'{path}'", "aggregations")
    columns: dict[str, Any] = {}
    # without 'by' every row is in one group (Series.agg lacks 'first'/'last')
    keys: Any = by or [0] * len(frame)
    grouped = frame.groupby(keys, dropna=False, sort=True)
    for column, funcs in aggregations.items():
        many = isinstance(funcs, list)
        for func in as_list(funcs):
            name = f"{column}_{func}" if many else column
            if name in by or name in columns:
                raise StepError(f"param 'aggregations': the output column '{name}' is made twice",
                                hint="aggregate a column that is not a 'by' column, or use a "
                                     "list of functions to get <column>_<function> names")
            try:
                columns[name] = grouped[column].agg(func)
            except (TypeError, ValueError) as exc:
                raise StepError(f"cannot compute {func} of column '{column}' "
                                f"(type {frame[column].dtype}): {exc}",
                                hint="numeric functions need a numeric column") from None
    result = pd.DataFrame(columns)
    result = result.reset_index() if by else result.reset_index(drop=True)
    write_table(result, target, config["sep"])
    return _done(context, result, target)


# core.table_select -------------------------------------------------------------------------
@step(
    "core.table_select",
    inputs={"table": "the table to reshape"},
    outputs={"table": "the selected columns and rows"},
    version="1",
    params={
        "properties": {
            "columns": {**_COLUMNS, "default": [],
                        "description": "Columns to keep, in this order (empty: all)."},
            "rename": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": {},
                "description": "old name -> new name.",
            },
            "sort_by": {**_ONE_OR_MORE, "default": [],
                        "description": "Column(s) to sort rows by (old or new names)."},
            "descending": {"type": "boolean", "default": False,
                           "description": "Sort from largest to smallest."},
            "limit": {"type": ["integer", "null"], "minimum": 0, "default": None,
                      "description": "Keep only the first N rows (after sorting)."},
            "sep": SEP_PARAM,
        },
    },
)
def table_select(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                 context: StepContext) -> dict[str, Any]:
    """Select, reorder and rename columns; optionally sort rows and keep the first N."""
    path = _single_input(inputs, "core.table_select")
    target = single_path(outputs, output=True)
    frame = read_table(path, config["sep"])
    rename: dict[str, str] = config["rename"]
    require_columns(frame.columns, config["columns"], f"'{path}'", "columns")
    require_columns(frame.columns, list(rename), f"'{path}'", "rename")
    if config["columns"]:
        frame = frame[config["columns"]]
    frame = frame.rename(columns=rename)
    sort_by = [c if c in frame.columns else rename.get(c, c) for c in as_list(config["sort_by"])]
    if sort_by:
        require_columns(frame.columns, sort_by, f"'{path}' (after selecting and renaming)",
                        "sort_by")
        frame = frame.sort_values(sort_by, ascending=not config["descending"], kind="stable")
    if config["limit"] is not None:
        frame = frame.head(config["limit"])
    write_table(frame, target, config["sep"])
    return _done(context, frame, target)
