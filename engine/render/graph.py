"""Drawing the plan: text, Graphviz dot, Mermaid, JSON, and files (.svg/.png via dot, .html).

By default one node per step, fan-outs collapsed (``quant ×120``) so a 10,000-instance
workflow stays readable; a step node says what will happen to its instances
(``3/12 will run, 9/12 up to date``; a mixed node is striped in dot pictures). ``jobs=True``
draws every instance, up to :data:`~engine.render.graphgroups.JOB_LIMIT` of them; past that,
groups (see :mod:`engine.render.graphgroups`), and the graph says so in its title and on
stderr. A graph whose widest rank is much wider than it is deep is drawn left to right, and a
PNG that graphviz had to scale down is reported, so that no unusable picture is written
silently. The HTML page is :mod:`engine.render.graphhtml`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import UsageError
from engine.model import Action
from engine.plan.graph import EdgeKind
from engine.render.dryrun import decision_of
from engine.render.graphgroups import job_grouping

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
ORDER = (Action.PENDING, Action.RUN, Action.TOUCH, Action.SKIP, Action.DISABLED)
WORDS = {Action.RUN: "will run", Action.SKIP: "up to date", Action.DISABLED: "disabled",
         Action.PENDING: "pending", Action.TOUCH: "to accept"}  # in a node's partial outcome
Edge = tuple[str, str, EdgeKind]


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    action: Action  # the main one (the first of ORDER that any member has)
    count: int
    actions: Mapping[str, int]  # action value -> members, in ORDER
    members: tuple[str, ...] = ()  # the instances (or pending fan-outs) the node stands for

    @property
    def partial(self) -> str:
        """What happens to the node's instances: ``3/12 will run, 9/12 up to date`` (one
        instance: the legend's words)."""
        if self.count <= 1:
            return STYLE[self.action][2]
        return ", ".join(f"{c}/{self.count} {WORDS[Action(a)]}" for a, c in self.actions.items())


@dataclass(frozen=True)
class GraphModel:
    nodes: list[Node]
    edges: list[Edge]
    note: str = ""  # how instances were grouped (said in the title and on stderr)


def graph_model(plan: Plan, decisions: Mapping[str, Decision] | None, jobs: bool) -> GraphModel:
    """Nodes and edges to draw: per step (collapsed), per instance, or per group of them."""
    per_node = {n: decision_of(plan, n, decisions)[0] for n in [*plan.instances, *plan.pending]}
    if not jobs:
        return _collapsed(plan, per_node, plan.step_of, plan.step_order, steps=True)
    grouping = job_grouping(plan)
    if grouping is None:
        nodes = [Node(n, n, a, 1, {a.value: 1}, (n,)) for n, a in per_node.items()]
        return GraphModel(nodes, sorted(set(plan.graph.edges()) | set(plan.disabled_edges)))
    groups = dict.fromkeys(grouping.group_of(n) for n in per_node)
    model = _collapsed(plan, per_node, grouping.group_of, groups, steps=False)
    return GraphModel(model.nodes, model.edges, grouping.note)


def _collapsed(plan: Plan, per_node: Mapping[str, Action], group_of: Callable[[str], str],
               order: Iterable[str], steps: bool) -> GraphModel:
    _, edges = plan.graph.collapse(group_of)
    edges |= {(group_of(u), group_of(v), k) for u, v, k in plan.disabled_edges
              if group_of(u) != group_of(v)}
    members: dict[str, list[str]] = {}
    for node in per_node:
        members.setdefault(group_of(node), []).append(node)
    nodes = []
    for group in order:
        inside = members.get(group, [])
        actions = Counter(per_node[n] for n in inside)
        ordered = {a.value: actions[a] for a in ORDER if actions[a]}
        main = next((a for a in ORDER if actions[a]), Action.RUN)
        # a fanned-out step (steps), or a group of instances (jobs): "NAME ×N"
        fan = (group in plan.fanned_out and not actions[Action.PENDING]) if steps else (
            inside != [group])
        label = f"{group} ×{len(inside)}" if fan else group
        nodes.append(Node(group, label, main, len(inside), ordered, tuple(inside)))
    return GraphModel(nodes, sorted(edges))


def to_text(model: GraphModel) -> str:
    nodes, edges = model.nodes, model.edges
    preds: dict[str, list[str]] = {}
    for src, dst, kind in edges:
        preds.setdefault(dst, []).append(src if kind is EdgeKind.FILE else f"{src} ({kind})")
    depth: dict[str, int] = {}
    for node in nodes:  # nodes come in topological order
        depth[node.id] = 1 + max((depth.get(p.split(" ")[0], 0) for p in preds.get(node.id, [])),
                                 default=0)
    width = max((len(n.label) for n in nodes), default=4) + 2
    lines = [f"# {model.note}"] if model.note else []
    for node in sorted(nodes, key=lambda n: depth[n.id]):
        mark = {"run": "*", "skip": "=", "disabled": "-", "pending expansion": "?",
                "touch": "~"}[node.action.value]
        after = ("  <- " + ", ".join(preds[node.id])) if node.id in preds else ""
        lines.append(f"{'  ' * (depth[node.id] - 1)}{mark} {node.label:<{width}} "
                     f"[{node.partial}]{after}")
    lines.append("legend: * will run  = up to date  - disabled  ? pending expansion")
    return "\n".join(lines)


def to_dot(model: GraphModel, name: str) -> str:
    lines = [f'digraph "{_q(name)}" {{', f"  rankdir={_direction(model)};",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    if model.note:
        lines.append(f'  labelloc=t; fontname="Helvetica"; label="{_q(name)}: {_q(model.note)}";')
    for node in model.nodes:
        fill, border, _ = STYLE[node.action]
        style = f"rounded,filled,{border}" if border != "solid" else "rounded,filled"
        if len(node.actions) > 1:  # partial outcomes: a stripe per action, as wide as its share
            fill = ":".join(f"{STYLE[Action(a)][0]};{c / node.count:.3f}"
                            for a, c in node.actions.items())
            style = "striped" if border == "solid" else f"striped,{border}"
        label = node.label if node.count <= 1 else f"{node.label}\n{node.partial}"
        lines.append(f'  "{_q(node.id)}" [label="{_q(label)}", '
                     f'fillcolor="{fill}", style="{style}", '
                     f'tooltip="{_q(node.label + ": " + node.partial)}"];')
    disabled = {node.id for node in model.nodes if node.action is Action.DISABLED}
    for src, dst, kind in model.edges:
        attrs = ' [style=dashed, label="after"]' if kind is EdgeKind.AFTER else (
            ' [style=dotted]' if kind is EdgeKind.REF else "")
        if dst in disabled or src in disabled:
            attrs = ' [color="#aaaaaa", fontcolor="#aaaaaa", style=dashed]'
        lines.append(f'  "{_q(src)}" -> "{_q(dst)}"{attrs};')
    lines.append("}")
    return "\n".join(lines)


def _direction(model: GraphModel) -> str:
    """LR when the widest rank holds many more nodes than there are ranks (a fan-out drawn
    top to bottom is a hairline); TB otherwise."""
    preds: dict[str, list[str]] = {}
    for src, dst, _ in model.edges:
        preds.setdefault(dst, []).append(src)
    depth: dict[str, int] = {}
    for node in model.nodes:
        depth[node.id] = 1 + max((depth.get(p, 0) for p in preds.get(node.id, ())), default=0)
    ranks = Counter(depth.values())
    widest = max(ranks.values(), default=0)
    return "LR" if widest > max(12, 3 * len(ranks)) else "TB"


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_mermaid(model: GraphModel) -> str:
    nodes = model.nodes
    ids = {node.id: f"n{i}" for i, node in enumerate(nodes)}
    lines = [f"---\ntitle: {model.note}\n---"] if model.note else []
    lines.append(f"flowchart {'TD' if _direction(model) == 'TB' else 'LR'}")
    for node in nodes:
        label = node.label if node.count <= 1 else f"{node.label}<br/>{node.partial}"
        lines.append(f'  {ids[node.id]}["{label.replace(chr(34), chr(39))}"]:::'
                     f"{node.action.name.lower()}")
    disabled = {node.id for node in nodes if node.action is Action.DISABLED}
    greyed, drawn = [], 0
    for src, dst, kind in model.edges:
        grey = dst in disabled or src in disabled
        arrow = "-.->" if kind is not EdgeKind.FILE or grey else "-->"
        if src in ids and dst in ids:
            if grey:
                greyed.append(drawn)  # mermaid styles links by their order of appearance
            lines.append(f"  {ids[src]} {arrow} {ids[dst]}")
            drawn += 1
    for index in greyed:
        lines.append(f"  linkStyle {index} stroke:#aaaaaa")
    for action, (fill, border, _) in styles(nodes).items():
        dash = ",stroke-dasharray: 5 5" if border != "solid" else ""
        lines.append(f"  classDef {action.name.lower()} fill:{fill},stroke:#333{dash}")
    return "\n".join(lines)


def styles(nodes: list[Node]) -> dict[Action, tuple[str, str, str]]:
    """The legend: every action but 'touch', which only a ``--touch`` dry-run shows."""
    used = {Action(a) for node in nodes for a in node.actions}
    return {a: style for a, style in STYLE.items() if a is not Action.TOUCH or a in used}


def to_json(model: GraphModel) -> str:
    return json.dumps({
        "nodes": [{"id": n.id, "label": n.label, "action": n.action.value, "count": n.count,
                   "actions": dict(n.actions)} for n in model.nodes],
        "edges": [{"from": s, "to": d, "kind": k} for s, d, k in model.edges],
        "note": model.note or None,
    }, indent=2)


def render_dot(dot_source: str, fmt: str) -> bytes:
    """``dot -T<fmt>``; a picture graphviz had to scale down is reported on stderr."""
    from engine.tools import require_tool  # only --graph to a picture needs it

    exe = require_tool("dot")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode(), capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise UsageError(f"graphviz 'dot' failed: {proc.stderr.decode(errors='replace')[:500]}")
    if b"Scaling by" in proc.stderr:
        print(f"mi-run: --graph: the {fmt.upper()} is too big for graphviz, which scaled it down "
              "(its text may be unreadable); an .svg or .html file keeps every detail",
              file=sys.stderr)
    return proc.stdout


def _render_text_format(kind: str, model: GraphModel, name: str) -> str:
    if kind == "text":
        return to_text(model)
    if kind == "dot":
        return to_dot(model, name)
    if kind == "mermaid":
        return to_mermaid(model)
    return to_json(model)


def write_graph(
    plan: Plan, decisions: Mapping[str, Decision] | None, target: str, jobs: bool = False
) -> None:
    """Print the graph in a format (text, dot, mermaid, json) or write it to a file."""
    model = graph_model(plan, decisions, jobs)
    if model.note:
        print(f"mi-run: --graph-jobs: {model.note}", file=sys.stderr)
    if target in FORMATS:
        sys.stdout.write(_render_text_format(target, model, plan.workflow) + "\n")
        return
    path = Path(target)
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--graph: unknown format or file extension '{target}'",
                         "use text, dot, mermaid, json, or a file ending in "
                         + ", ".join(sorted(EXTENSIONS)))
    data: bytes
    if kind in ("svg", "png"):
        data = render_dot(to_dot(model, plan.workflow), kind)
    elif kind == "html":
        from engine.render.graphhtml import to_html

        svg = render_dot(to_dot(model, plan.workflow), "svg").decode()
        data = to_html(model, plan, decisions, svg, styles(model.nodes)).encode()
    else:
        data = _render_text_format(kind, model, plan.workflow).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"graph written to {path}", file=sys.stderr)
