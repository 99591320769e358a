"""The report's static parts, as HTML: the header, failures, resources and critical path,
the step metrics, the config with origins and the versions.

Everything here is drawn once in Python (the page's script only draws the DAG's instance
cells, the timeline and the details panel), so these parts read the same with scripts off.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.render.reportdata import distribution, step_resources

MAX_FAILURES = 100  # failed instances shown in full
MAX_METRIC_ROWS = 200  # instances per step in a metrics table
MAX_METRIC_COLUMNS = 12


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:02.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes):02d} min"


def megabytes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1024:.2f} GB" if value >= 1024 else f"{value:.1f} MB"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """An HTML table; cells are HTML already."""
    top = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>'


def header(record: Mapping[str, Any]) -> str:
    counts = record.get("counts", {})
    shown = ", ".join(f'<span class="pill st-{esc(k).replace(" ", "-")}">{v} {esc(k)}</span>'
                      for k, v in counts.items())
    spec = record.get("spec", {})
    command = " ".join(record.get("argv", []))
    rows = [
        ("run", f"<code>{esc(record['run_id'])}</code>"),
        ("status", f'<b class="run-{esc(record.get("status"))}">{esc(record.get("status"))}</b>'),
        ("started", esc(when(record.get("started")))),
        ("ended", esc(when(record.get("ended")))),
        ("wall time", esc(seconds(record.get("elapsed")))),
        ("instances", shown or "none"),
        ("spec", f"<code>{esc(spec.get('path'))}</code> <small>sha256 "
                 f"{esc((spec.get('sha256') or '')[:16])}…</small>"),
        ("command", f"<code>{esc(command)}</code>"),
        ("host", esc(f"{record.get('host', {}).get('name')} "
                     f"({record.get('host', {}).get('cpus')} CPUs)")),
    ]
    items = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<header><h1>{esc(record["workflow"])} <small>mi-run report</small></h1>'
            f'<table class="facts">{items}</table></header>')


def failures(record: Mapping[str, Any], tails: Mapping[int, str]) -> str:
    """Failed (and interrupted) instances first: the error, the hint, the log and its tail."""
    found = [(i, e) for i, e in enumerate(record["instances"])
             if e["status"] in ("failed", "interrupted")]
    if not found:
        return ""
    parts = [f'<section id="failures"><h2>Failures <small>{len(found)}</small></h2>']
    for index, entry in found[:MAX_FAILURES]:
        tail = tails.get(index, "")
        parts.append(
            f'<div class="failure" data-instance="{esc(entry["id"])}">'
            f'<h3><a href="#" class="show" data-i="{index}">{esc(entry["id"])}</a> '
            f'<small>{esc(entry["status"])}</small></h3>'
            f'<pre class="error">{esc(entry.get("error") or entry["status"])}</pre>'
            + (f'<p class="hint">hint: {esc(entry["hint"])}</p>' if entry.get("hint") else "")
            + (f'<p>log: <code>{esc(entry["log"])}</code></p>' if entry.get("log") else "")
            + (f'<pre class="tail">{esc(tail)}</pre>' if tail else "")
            + "</div>")
    if len(found) > MAX_FAILURES:
        parts.append(f"<p>… and {len(found) - MAX_FAILURES} more (see the DAG and the "
                     "run record)</p>")
    parts.append("</section>")
    return "".join(parts)


def notes(record: Mapping[str, Any]) -> str:
    """What steps said without failing: the ones that returned ``skipped`` (with their
    reason) and every warning a step returned."""
    skipped = [(i, e) for i, e in enumerate(record["instances"]) if "skip_reason" in e]
    warned = [(i, e) for i, e in enumerate(record["instances"]) if e.get("warnings")]
    if not skipped and not warned:
        return ""
    parts = [f'<section id="notes"><h2>Skipped and warnings <small>{len(skipped)} skipped, '
             f"{sum(len(e['warnings']) for _, e in warned)} warnings</small></h2>"]

    def link(index: int, entry: Mapping[str, Any]) -> str:
        return f'<a href="#" class="show" data-i="{index}">{esc(entry["id"])}</a>'

    if skipped:
        parts.append(table(["skipped by the step", "reason"],
                           [[link(i, e), esc(e["skip_reason"])] for i, e in skipped]))
    if warned:
        parts.append(table(["instance", "warning"],
                           [[link(i, e), esc(w)] for i, e in warned for w in e["warnings"]]))
    parts.append("</section>")
    return "".join(parts)


def _spread(dist: Mapping[str, float] | None, show: Any) -> str:
    if dist is None:
        return "–"
    if dist["n"] == 1:
        return esc(show(dist["median"]))
    return (f'{esc(show(dist["min"]))} / <b>{esc(show(dist["median"]))}</b> / '
            f'{esc(show(dist["max"]))}')


def resources(record: Mapping[str, Any]) -> str:
    rows = []
    for row in step_resources(record):
        duration = row["duration"]
        rows.append([
            f"<b>{esc(row['step'])}</b>", str(row["ran"]), _spread(duration, seconds),
            esc(seconds(duration["total"] if duration else None)),
            _spread(row["cpu"], seconds),
            esc(f"{row['cpu_percent']:.0f} %" if row["cpu_percent"] is not None else "–"),
            _spread(row["mem"], megabytes),
        ])
    if not rows:
        body = "<p>No instance ran in this run.</p>"
    else:
        body = table(["step", "ran", "duration min / median / max", "duration total",
                      "CPU time min / median / max", "CPU use", "peak memory min / median / max"],
                     rows, "numbers")
    return (f'<section id="resources"><h2>Resources</h2>{body}'
            f"{critical_path(record)}</section>")


def critical_path(record: Mapping[str, Any]) -> str:
    path = record.get("critical_path", {})
    ids = path.get("instances", [])
    if not ids:
        return ""
    by_id = {e["id"]: e for e in record["instances"] if e["id"] in set(ids)}
    rows = [[f"<code>{esc(i)}</code>", esc(by_id[i]["step"]), esc(seconds(by_id[i].get("duration"))),
             esc(by_id[i]["status"])] for i in ids if i in by_id]
    return (f'<h3 id="critical">Critical path <small>{esc(seconds(path.get("seconds")))} of '
            f'{esc(seconds(record.get("elapsed")))} wall time</small></h3>'
            "<p>The chain of dependent instances whose run times add up the most: what bounded "
            "the run's length (outlined in the DAG and the timeline).</p>"
            + table(["instance", "step", "duration", "status"], rows))


# Keys the engine adds to every instance's metadata: shown under Resources, not as metrics.
ENGINE_METADATA = frozenset({"execution_time", "peak_mem_mb"})


def step_metrics(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What a step returned as its results: ``output`` (the seed's metrics) and the scalar
    values of its own ``metadata`` (where the GWAS correction puts lambda_GC and its hit
    counts, the RNA quant its mapping rate)."""
    found = dict(entry.get("output") or {})
    for key, value in (entry.get("metadata") or {}).items():
        if key not in ENGINE_METADATA and key not in found and (
                value is None or isinstance(value, str | int | float | bool)):
            found[key] = value
    return found


def metrics(record: Mapping[str, Any]) -> str:
    """What steps returned, one table per step: instances by metric."""
    per_step: dict[str, list[dict[str, Any]]] = {}
    for entry in record["instances"]:
        if found := step_metrics(entry):
            per_step.setdefault(entry["step"], []).append({"id": entry["id"], "values": found})
    if not per_step:
        return ('<section id="metrics"><h2>Step metrics</h2><p>No step returned metrics '
                "in this run.</p></section>")
    parts = ['<section id="metrics"><h2>Step metrics</h2>']
    for step, entries in per_step.items():
        keys = list(dict.fromkeys(k for e in entries for k in e["values"]))[:MAX_METRIC_COLUMNS]
        rows = [[f"<code>{esc(e['id'])}</code>", *(_cell(e["values"].get(k)) for k in keys)]
                for e in entries[:MAX_METRIC_ROWS]]
        if len(entries) > 1:
            rows.append(["<i>min / median / max</i>", *(_summary(entries, k) for k in keys)])
        more = (f"<p>… {len(entries) - MAX_METRIC_ROWS} more instances in the run record</p>"
                if len(entries) > MAX_METRIC_ROWS else "")
        parts.append(f"<h3>{esc(step)}</h3>{table(['instance', *keys], rows, 'numbers')}{more}")
    parts.append("</section>")
    return "".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return esc(f"{value:.6g}")
    if isinstance(value, str | int | bool):
        return esc(value)
    text = json.dumps(value, default=str)
    return f"<code>{esc(text if len(text) <= 80 else text[:77] + '...')}</code>"


def _summary(entries: Sequence[Mapping[str, Any]], key: str) -> str:
    numbers = [e["values"].get(key) for e in entries]
    found = distribution(v for v in numbers if isinstance(v, int | float)
                         and not isinstance(v, bool))
    if found is None:
        return ""
    return esc(f'{found["min"]:.4g} / {found["median"]:.4g} / {found["max"]:.4g}')


def config(record: Mapping[str, Any]) -> str:
    rows = [[f"<code>{esc(c['key'])}</code>", f"<code>{esc(json.dumps(c['value'], default=str))}</code>",
             esc(c.get("origin", ""))] for c in record.get("config", [])]
    body = table(["key", "value", "set by"], rows) if rows else "<p>The workflow has no config.</p>"
    return f'<section id="config"><h2>Config</h2>{body}</section>'


def versions(record: Mapping[str, Any]) -> str:
    engine = record.get("engine", {})
    host = record.get("host", {})
    rows = [["mi-run", esc(engine.get("version")), ""],
            ["Python", esc(f"{engine.get('implementation', '')} {engine.get('python')}"),
             f"<code>{esc(engine.get('executable', ''))}</code>"],
            ["host", esc(host.get("name")), esc(host.get("platform", ""))]]
    for name, tool in record.get("tools", {}).items():
        said = tool.get("version") or f"unknown ({tool.get('error')})"
        rows.append([esc(name), esc(said), f"<code>{esc(tool.get('path') or '')}</code> "
                     f"<small>used by {esc(', '.join(tool.get('steps', [])))}</small>"])
    return (f'<section id="versions"><h2>Versions</h2>'
            f'{table(["what", "version", "where"], rows)}</section>')
