"""``mi-run report`` and ``--report``: one self-contained HTML file from a run record.

The page carries everything it needs: the step-level DAG as an SVG laid out here
(:mod:`engine.render.daglayout`), the static tables (:mod:`engine.render.reporttables`), the
compact data (:mod:`engine.render.reportdata`) as JSON, and the script and style from
``engine/render/assets/`` inline -- ``report.js``, ``report.css`` and the vendored
``svg-pan-zoom`` (BSD-2-Clause, its licence in ``assets/``) -- so it opens offline, from a
file, in any current browser. What it shows is described in ``docs/report.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources
from typing import Any

from engine.render import reporttables as tables
from engine.render.daglayout import Layout, layout
from engine.render.reportdata import log_tails, page_data, step_status
from engine.render.reporttables import esc

ASSETS = ("svg-pan-zoom.min.js", "report.js")
STATUS_FILL = {"failed": "#f6c4c3", "interrupted": "#fbd9b5", "not started": "#eeeeee",
               "running": "#fff1bf", "completed": "#cde8c6", "skipped": "#ffffff",
               "up to date": "#d8e6f3", "not selected": "#fafafa"}
STATUS_BAR = {"failed": "#d62728", "interrupted": "#ff7f0e", "not started": "#bbbbbb",
              "running": "#e7ba52", "completed": "#2ca02c", "skipped": "#ffffff",
              "up to date": "#6baed6", "not selected": "#e0e0e0"}
NODE_HEIGHT = 56.0


def asset(name: str) -> str:
    return (resources.files("engine.render") / "assets" / name).read_text(encoding="utf-8")


def write_report(record: Mapping[str, Any], path: str | os.PathLike[str]) -> int:
    """Write the report of ``record`` to ``path``; returns its size in bytes."""
    text = report_html(record)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    data = text.encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(data)
    return len(data)


def report_html(record: Mapping[str, Any], use_dot: bool = True) -> str:
    tails = log_tails(record)
    data = json.dumps(page_data(record, tails), separators=(",", ":"), ensure_ascii=False,
                      default=str).replace("<", "\\u003c")
    scripts = "".join(f"<script>{asset(name)}</script>" for name in ASSETS)
    title = f"{record['workflow']} — mi-run report {record['run_id']}"
    sections = [
        tables.failures(record, tails),
        tables.notes(record),
        _dag_section(record, use_dot),
        _timeline_section(record),
        tables.resources(record),
        tables.metrics(record),
        tables.config(record),
        tables.versions(record),
    ]
    shown = {"failures": bool(sections[0]), "notes": bool(sections[1])}
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label in (
        ("failures", "Failures"), ("notes", "Skipped/warnings"), ("dag", "DAG"),
        ("timeline", "Timeline"), ("resources", "Resources"), ("metrics", "Metrics"),
        ("config", "Config"), ("versions", "Versions")) if shown.get(key, True))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{asset('report.css')}</style></head>"
            f'<body><nav>{nav}</nav>{tables.header(record)}<main>{"".join(sections)}</main>'
            f'<aside id="details" hidden><button id="close" title="close">×</button>'
            f'<div id="details-body"></div></aside><div id="tip" hidden></div>'
            f'<script type="application/json" id="mi-data">{data}</script>{scripts}'
            "</body></html>\n")


def _dag_section(record: Mapping[str, Any], use_dot: bool) -> str:
    legend = "".join(f'<span class="key" style="background:{STATUS_FILL[s]};border-color:'
                     f'{STATUS_BAR[s]}">{esc(s)}</span>' for s in STATUS_FILL)
    return ('<section id="dag"><h2>DAG <small>one box per step; click one for its '
            "instances, + to expand a fan-out</small></h2>"
            '<div class="toolbar"><button id="expand-all">expand all</button>'
            '<button id="collapse-all">collapse all</button>'
            f'<button id="dag-fit">fit</button> {legend}</div>'
            f'<div class="frame">{dag_svg(record, use_dot)}</div></section>')


def _timeline_section(record: Mapping[str, Any]) -> str:
    attempts = sum(len(e.get("attempt_list", ())) for e in record["instances"])
    return ('<section id="timeline"><h2>Timeline <small>every attempt by worker slot, '
            f"{attempts} attempts; colour = step, red outline = failed, dashed = retried or "
            "interrupted, thick = critical path</small></h2>"
            '<div class="toolbar"><button id="timeline-fit">fit</button>'
            '<span id="timeline-legend"></span></div>'
            '<div class="frame"><svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg">'
            "</svg></div></section>")


def _step_counts(record: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {s["name"]: {} for s in record.get("steps", [])}
    for entry in record["instances"]:
        found = counts.setdefault(entry["step"], {})
        found[entry["status"]] = found.get(entry["status"], 0) + 1
    return counts


def dag_svg(record: Mapping[str, Any], use_dot: bool = True) -> str:
    """The step-level DAG as SVG: a box per step coloured by its outcome, a bar of its
    instances' outcomes, and ``data-*`` attributes the page's script uses."""
    counts = _step_counts(record)
    labels = {s: _label(s, sum(c.values())) for s, c in counts.items()}
    sizes = {s: (max(120.0, 8.0 * len(labels[s]) + 44, 6.2 * len(_short(c)) + 20), NODE_HEIGHT)
             for s, c in counts.items()}
    edges = [(src, s["name"]) for s in record.get("steps", []) for src, _kind in s.get("needs", [])]
    placed = layout(sizes, edges, use_dot)
    single = {}
    for entry in record["instances"]:
        single[entry["step"]] = None if entry["step"] in single else entry["id"]
    critical = {e["step"] for e in record["instances"]
                if e["id"] in set(record.get("critical_path", {}).get("instances", []))}
    parts = [f'<svg id="dag-svg" xmlns="http://www.w3.org/2000/svg" data-layout="{placed.engine}"'
             f' viewBox="0 0 {placed.width:.0f} {placed.height:.0f}" width="100%"'
             f' height="{min(max(placed.height, 200.0), 700.0):.0f}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker>'
             "</defs><g>", _edges_svg(placed)]
    for step, box in placed.boxes.items():
        parts.append(_node_svg(step, labels[step], counts[step], box.x - box.width / 2,
                               box.y - box.height / 2, box.width, single.get(step),
                               step in critical))
    parts.append('<g id="dag-cells"></g></g></svg>')
    return "".join(parts)


def _label(step: str, count: int) -> str:
    return f"{step} ×{count}" if count > 1 else step


def _edges_svg(placed: Layout) -> str:
    paths = []
    for src, dst, points in placed.edges:
        if not points:
            continue
        d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
        for i in range(1, len(points) - 2, 3):
            d += " C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in points[i:i + 3])
        paths.append(f'<path class="edge" data-from="{esc(src)}" data-to="{esc(dst)}" d="{d}" '
                     'marker-end="url(#arrow)"/>')
    return "".join(paths)


def _node_svg(step: str, label: str, counts: Mapping[str, int], x: float, y: float,
              width: float, instance: str | None, critical: bool) -> str:
    status = step_status(counts)
    total = sum(counts.values())
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    attrs = f' data-instance="{esc(instance)}"' if instance is not None else ""
    parts = [f'<g class="node{" critical" if critical else ""}" data-step="{esc(step)}" '
             f'data-status="{esc(status)}" data-count="{total}"{attrs} '
             f'transform="translate({x:.1f},{y:.1f})"><title>{esc(step)}: {esc(summary)}</title>'
             f'<rect class="box" width="{width:.1f}" height="{NODE_HEIGHT:.0f}" rx="7" '
             f'fill="{STATUS_FILL.get(status, "#eeeeee")}" stroke="{STATUS_BAR.get(status)}"/>'
             f'<text class="label" x="{width / 2:.1f}" y="20">{esc(label)}</text>'
             f'<text class="sub" x="{width / 2:.1f}" y="36">{esc(_short(counts))}</text>']
    left = 8.0
    for state, count in sorted(counts.items(), key=lambda kv: _order(kv[0])):
        part = (width - 16) * count / max(1, total)
        parts.append(f'<rect class="bar" x="{left:.1f}" y="{NODE_HEIGHT - 12:.0f}" '
                     f'width="{part:.2f}" height="6" fill="{STATUS_BAR.get(state, "#bbb")}"/>')
        left += part
    if total > 1:
        parts.append(f'<g class="toggle" data-step="{esc(step)}"><rect x="{width - 20:.1f}" y="3" '
                     f'width="17" height="17" rx="3"/><text x="{width - 11.5:.1f}" y="16">+</text></g>')
    parts.append("</g>")
    return "".join(parts)


def _order(status: str) -> int:
    return list(STATUS_FILL).index(status) if status in STATUS_FILL else len(STATUS_FILL)


def _short(counts: Mapping[str, int]) -> str:
    names = {"completed": "done", "up to date": "up to date", "failed": "failed",
             "not started": "not started", "interrupted": "interrupted",
             "not selected": "not selected", "skipped": "skipped/disabled",
             "running": "running"}
    return " · ".join(f"{n} {names.get(s, s)}" for s, n in
                      sorted(counts.items(), key=lambda kv: _order(kv[0])))
