"""Drawing the plan: text, Graphviz dot, Mermaid, JSON, and files (.svg/.png via dot, .html).

By default one node per step, fan-outs collapsed (``quant ×120``) so a 10,000-instance
workflow stays readable; ``jobs=True`` draws every instance. Node style shows the action.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ToolMissingError, UsageError
from engine.model import Action
from engine.plan.graph import EdgeKind
from engine.render.dryrun import decision_of

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.running.decide import Decision

FORMATS = ("text", "dot", "mermaid", "json")
EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".json": "json", ".svg": "svg",
              ".png": "png", ".html": "html", ".txt": "text"}
STYLE = {  # action -> (fill colour, border style, legend text)
    Action.RUN: ("#cfe8ff", "solid", "will run"),
    Action.SKIP: ("#e6e6e6", "solid", "up to date"),
    Action.DISABLED: ("#ffffff", "dashed", "disabled"),
    Action.PENDING: ("#fff4cc", "dotted", "pending expansion"),
    Action.TOUCH: ("#e0f5e0", "solid", "accepted as up to date (--touch)"),
}


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    action: Action
    count: int
    actions: Mapping[str, int]


def graph_model(plan: Plan, decisions: Mapping[str, Decision] | None,
                jobs: bool) -> tuple[list[Node], list[tuple[str, str, EdgeKind]]]:
    """Nodes and edges to draw: per step (collapsed) or per instance."""
    per_node = {n: decision_of(plan, n, decisions)[0] for n in [*plan.instances, *plan.pending]}
    if jobs:
        nodes = [Node(n, n, a, 1, {a.value: 1}) for n, a in per_node.items()]
        return nodes, sorted(set(plan.graph.edges()) | set(plan.disabled_edges))
    counts, edges = plan.graph.collapse(plan.step_of)
    edges |= {(plan.step_of(u), plan.step_of(v), k) for u, v, k in plan.disabled_edges
              if plan.step_of(u) != plan.step_of(v)}
    grouped: dict[str, Counter[Action]] = {}
    for node, action in per_node.items():
        grouped.setdefault(plan.step_of(node), Counter())[action] += 1
    nodes = []
    for step in plan.step_order:
        actions = grouped.get(step, Counter())
        count = counts.get(step, 0)
        main = _main_action(actions)
        fan = step in plan.fanned_out and not any(a is Action.PENDING for a in actions)
        label = f"{step} ×{count}" if fan else step
        nodes.append(Node(step, label, main, count, {a.value: c for a, c in actions.items()}))
    return nodes, sorted(edges)


def _main_action(actions: Counter[Action]) -> Action:
    for action in (Action.PENDING, Action.RUN, Action.TOUCH, Action.SKIP, Action.DISABLED):
        if actions.get(action):
            return action
    return Action.RUN


def to_text(nodes: list[Node], edges: list[tuple[str, str, EdgeKind]]) -> str:
    preds: dict[str, list[str]] = {}
    for src, dst, kind in edges:
        preds.setdefault(dst, []).append(src if kind is EdgeKind.FILE else f"{src} ({kind})")
    depth: dict[str, int] = {}
    for node in nodes:  # nodes come in topological order
        depth[node.id] = 1 + max((depth.get(p.split(" ")[0], 0) for p in preds.get(node.id, [])),
                                 default=0)
    width = max((len(n.label) for n in nodes), default=4) + 2
    lines = []
    for node in sorted(nodes, key=lambda n: depth[n.id]):
        mark = {"run": "*", "skip": "=", "disabled": "-", "pending expansion": "?",
                "touch": "~"}[node.action.value]
        detail = _actions_text(node) if node.count > 1 else node.action.value
        after = ("  <- " + ", ".join(preds[node.id])) if node.id in preds else ""
        lines.append(f"{'  ' * (depth[node.id] - 1)}{mark} {node.label:<{width}} [{detail}]{after}")
    lines.append("legend: * will run  = up to date  - disabled  ? pending expansion")
    return "\n".join(lines)


def to_dot(nodes: list[Node], edges: list[tuple[str, str, EdgeKind]], name: str) -> str:
    lines = [f'digraph "{name}" {{', "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for node in nodes:
        fill, border, _ = STYLE[node.action]
        style = f"rounded,filled,{border}" if border != "solid" else "rounded,filled"
        tooltip = ", ".join(f"{a} {c}" for a, c in node.actions.items())
        lines.append(f'  "{_q(node.id)}" [label="{_q(node.label)}", fillcolor="{fill}", '
                     f'style="{style}", tooltip="{_q(tooltip)}"];')
    disabled = {node.id for node in nodes if node.action is Action.DISABLED}
    for src, dst, kind in edges:
        attrs = ' [style=dashed, label="after"]' if kind is EdgeKind.AFTER else (
            ' [style=dotted]' if kind is EdgeKind.REF else "")
        if dst in disabled or src in disabled:
            attrs = ' [color="#aaaaaa", fontcolor="#aaaaaa", style=dashed]'
        lines.append(f'  "{_q(src)}" -> "{_q(dst)}"{attrs};')
    lines.append("}")
    return "\n".join(lines)


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_mermaid(nodes: list[Node], edges: list[tuple[str, str, EdgeKind]]) -> str:
    ids = {node.id: f"n{i}" for i, node in enumerate(nodes)}
    lines = ["flowchart TD"]
    for node in nodes:
        label = node.label.replace('"', "'")
        lines.append(f'  {ids[node.id]}["{label}"]:::{node.action.name.lower()}')
    disabled = {node.id for node in nodes if node.action is Action.DISABLED}
    greyed, drawn = [], 0
    for src, dst, kind in edges:
        grey = dst in disabled or src in disabled
        arrow = "-.->" if kind is not EdgeKind.FILE or grey else "-->"
        if src in ids and dst in ids:
            if grey:
                greyed.append(drawn)  # mermaid styles links by their order of appearance
            lines.append(f"  {ids[src]} {arrow} {ids[dst]}")
            drawn += 1
    for index in greyed:
        lines.append(f"  linkStyle {index} stroke:#aaaaaa")
    for action, (fill, border, _) in _styles(nodes).items():
        dash = ",stroke-dasharray: 5 5" if border != "solid" else ""
        lines.append(f"  classDef {action.name.lower()} fill:{fill},stroke:#333{dash}")
    return "\n".join(lines)


def _styles(nodes: list[Node]) -> dict[Action, tuple[str, str, str]]:
    """The legend: every action but 'touch', which only a ``--touch`` dry-run shows."""
    used = {node.action for node in nodes}
    return {a: style for a, style in STYLE.items() if a is not Action.TOUCH or a in used}


def to_json(nodes: list[Node], edges: list[tuple[str, str, EdgeKind]]) -> str:
    return json.dumps({
        "nodes": [{"id": n.id, "label": n.label, "action": n.action.value, "count": n.count,
                   "actions": dict(n.actions)} for n in nodes],
        "edges": [{"from": s, "to": d, "kind": k} for s, d, k in edges],
    }, indent=2)


def render_dot(dot_source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise ToolMissingError("dot", "graphviz")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode(), capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise UsageError(f"graphviz 'dot' failed: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout


def to_html(nodes: list[Node], edges: list[tuple[str, str, EdgeKind]], name: str) -> str:
    svg = render_dot(to_dot(nodes, edges, name), "svg").decode()
    svg = svg[svg.find("<svg"):]
    legend = "".join(
        f'<span class="key" style="background:{fill};border-style:{border}">{html.escape(text)}</span>'
        for fill, border, text in _styles(nodes).values())
    rows = "".join(f"<tr><td>{html.escape(n.label)}</td><td>{html.escape(_actions_text(n))}</td></tr>"
                   for n in nodes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)} — mi-run plan</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;margin:2em}}.key{{display:inline-block;
padding:2px 8px;margin-right:6px;border:1px solid #333}}table{{border-collapse:collapse;margin-top:1em}}
td{{border:1px solid #ccc;padding:2px 8px}}svg{{max-width:100%;height:auto}}</style></head>
<body><h1>{html.escape(name)}</h1><p>{legend}</p>{svg}
<table><tr><th>step</th><th>actions</th></tr>{rows}</table></body></html>
"""


def _actions_text(node: Node) -> str:
    return ", ".join(f"{a} {c}" for a, c in node.actions.items())


def _render_text_format(kind: str, nodes: list[Node], edges: list[tuple[str, str, EdgeKind]],
                        name: str) -> str:
    if kind == "text":
        return to_text(nodes, edges)
    if kind == "dot":
        return to_dot(nodes, edges, name)
    if kind == "mermaid":
        return to_mermaid(nodes, edges)
    return to_json(nodes, edges)


def write_graph(
    plan: Plan, decisions: Mapping[str, Decision] | None, target: str, jobs: bool = False
) -> None:
    """Print the graph in a format (text, dot, mermaid, json) or write it to a file."""
    nodes, edges = graph_model(plan, decisions, jobs)
    if target in FORMATS:
        sys.stdout.write(_render_text_format(target, nodes, edges, plan.workflow) + "\n")
        return
    path = Path(target)
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--graph: unknown format or file extension '{target}'",
                         "use text, dot, mermaid, json, or a file ending in "
                         + ", ".join(sorted(EXTENSIONS)))
    data: bytes
    if kind in ("svg", "png"):
        data = render_dot(to_dot(nodes, edges, plan.workflow), kind)
    elif kind == "html":
        data = to_html(nodes, edges, plan.workflow).encode()
    else:
        data = _render_text_format(kind, nodes, edges, plan.workflow).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"graph written to {path}", file=sys.stderr)
