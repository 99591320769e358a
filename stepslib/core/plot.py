"""``core.plot``: a scatter, line, bar or histogram chart of a table, as PNG, SVG or PDF.

matplotlib is used without pyplot (a bare ``Figure`` with the Agg canvas): no global state, no
display needed, safe in worker threads. SVG/PDF are written without dates and with a fixed
hash salt so an unchanged table gives an unchanged file (and no needless downstream reruns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.core.common import (
    SEP_PARAM,
    as_list,
    flat_inputs,
    read_table,
    require_columns,
)

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_OPTIONAL_TEXT = {"type": ["string", "null"], "default": None}


@step(
    "core.plot",
    inputs={"table": "the table to draw (TSV, or CSV by its suffix)"},
    outputs={"plot": {"description": "the chart; its suffix picks the format",
                "suffixes": list(FORMATS)}},
    version="1",
    params={
        "properties": {
            "kind": {"enum": ["scatter", "line", "bar", "histogram"], "default": "scatter",
                     "description": "Chart type; a histogram counts the values of 'x'."},
            "x": {"type": "string", "description": "Column for the x axis."},
            "y": {
                "type": ["string", "array"],
                "items": {"type": "string"},
                "default": [],
                "description": "Column(s) for the y axis, one series each (not for histograms).",
            },
            "hue": {**_OPTIONAL_TEXT,
                    "description": "Column splitting the rows into coloured series."},
            "title": {**_OPTIONAL_TEXT, "description": "Chart title."},
            "xlabel": {**_OPTIONAL_TEXT, "description": "x axis label (default: the x column)."},
            "ylabel": {**_OPTIONAL_TEXT,
                       "description": "y axis label (default: the y column, or 'count')."},
            "log_x": {"type": "boolean", "default": False, "description": "Logarithmic x axis."},
            "log_y": {"type": "boolean", "default": False, "description": "Logarithmic y axis."},
            "bins": {"type": "integer", "minimum": 1, "default": 30,
                     "description": "Number of histogram bins."},
            "width": {"type": "number", "exclusiveMinimum": 0, "default": 6.4,
                      "description": "Figure width in inches."},
            "height": {"type": "number", "exclusiveMinimum": 0, "default": 4.8,
                       "description": "Figure height in inches."},
            "dpi": {"type": "integer", "minimum": 10, "maximum": 1200, "default": 100,
                    "description": "Resolution of PNG output (dots per inch)."},
            "sep": SEP_PARAM,
        },
        "required": ["x"],
    },
)
def plot(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Draw a chart of one table; the output's extension (.png, .svg, .pdf) picks the format."""
    paths = flat_inputs(inputs)
    if len(paths) != 1:
        raise StepError(f"core.plot reads exactly one input table, but {len(paths)} were declared")
    target = single_path(outputs, output=True)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise StepError(f"core.plot cannot write '{target.name}': unknown image format",
                        hint="name the output *.png, *.svg or *.pdf")
    frame = read_table(paths[0], config["sep"])
    kind, x, ys, hue = config["kind"], config["x"], as_list(config["y"]), config["hue"]
    if kind == "histogram" and ys:
        raise StepError("core.plot: a histogram counts the values of 'x'; 'y' is not used",
                        hint="remove 'y', or choose kind scatter, line or bar")
    if kind != "histogram" and not ys:
        raise StepError(f"core.plot: kind '{kind}' needs 'y' (a column or a list of columns)")
    where = f"'{paths[0]}'"
    require_columns(frame.columns, [x], where, "x")
    require_columns(frame.columns, ys, where, "y")
    if hue:
        require_columns(frame.columns, [hue], where, "hue")
    if frame.empty:
        raise StepError(f"core.plot: table {where} has no rows to plot")
    _draw(frame, config, kind, x, ys, hue, target, fmt)
    context.log.info("wrote %s chart of %d rows to %s", kind, len(frame), target)
    return {"status": "completed", "metadata": {"rows": len(frame), "format": fmt}}


def _series(frame: Any, ys: list[str], hue: str | None) -> list[tuple[str, Any, str]]:
    """(label, rows, y column) for every series: one per y column, times one per hue value."""
    groups = [(None, frame)] if not hue else list(frame.groupby(hue, sort=False, dropna=False))
    result = []
    for y in ys or [""]:
        for value, rows in groups:
            parts = ([y] if len(ys) > 1 else []) + ([str(value)] if hue else [])
            result.append((" / ".join(parts) or y, rows, y))
    return result


def _draw(frame: Any, config: dict[str, Any], kind: str, x: str, ys: list[str], hue: str | None,
          target: Path, fmt: str) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    series = _series(frame, ys, hue)
    with matplotlib.rc_context({"svg.hashsalt": "mi-run", "svg.fonttype": "path"}):
        figure = Figure(figsize=(config["width"], config["height"]), dpi=config["dpi"])
        axes = figure.add_subplot()
        if kind == "bar":
            _bars(axes, frame, x, series)
        for label, rows, y in series:
            if kind == "scatter":
                axes.scatter(rows[x], rows[y], label=label, s=12)
            elif kind == "line":
                ordered = rows.sort_values(x, kind="stable")
                axes.plot(ordered[x], ordered[y], label=label, marker=".")
            elif kind == "histogram":
                values = rows[x].dropna()
                if values.dtype.kind not in "iufb":
                    raise StepError(f"core.plot: histogram needs a numeric 'x'; column '{x}' "
                                    f"is {values.dtype}")
                axes.hist(values, bins=config["bins"], alpha=0.6 if hue else 1.0, label=label)
        axes.set_xlabel(config["xlabel"] or x)
        axes.set_ylabel(config["ylabel"] or (", ".join(ys) if ys else "count"))
        if config["title"]:
            axes.set_title(config["title"])
        if config["log_x"]:
            axes.set_xscale("log")
        if config["log_y"]:
            axes.set_yscale("log")
        if len(series) > 1:
            axes.legend(fontsize="small")
        figure.tight_layout()
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
        figure.savefig(target, format=fmt, metadata=metadata)


def _bars(axes: Any, frame: Any, x: str, series: list[tuple[str, Any, str]]) -> None:
    """Grouped bars: one slot per distinct x value (first-seen order), one bar per series."""
    categories = list(dict.fromkeys(frame[x].tolist()))
    position = {value: i for i, value in enumerate(categories)}
    width = 0.8 / len(series)
    for n, (label, rows, y) in enumerate(series):
        if rows[x].duplicated().any():
            repeated = rows[x][rows[x].duplicated()].iloc[0]
            raise StepError(f"core.plot: x value {repeated!r} appears more than once in series "
                            f"'{label or y}'; a bar chart needs one row per bar",
                            hint="sum the rows first with core.table_aggregate, or use 'hue'")
        offsets = [position[v] - 0.4 + width * (n + 0.5) for v in rows[x]]
        axes.bar(offsets, rows[y], width=width, label=label)
    axes.set_xticks(range(len(categories)))
    rotate = len(categories) > 6 or max(len(str(c)) for c in categories) > 8
    axes.set_xticklabels([str(c) for c in categories], rotation=45 if rotate else 0,
                         ha="right" if rotate else "center")
