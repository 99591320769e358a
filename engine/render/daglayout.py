"""Where the boxes of a step-level DAG go: Graphviz ``dot`` when it is installed, else a
simple layered layout, so that a report never needs more than Python.

Both give a :class:`Layout` in pixels, y downwards: a box per node (its centre and size, as
asked) and each edge as a list of points -- with ``dot`` the control points of its cubic
Bézier spline (``1 + 3k`` points), else a single cubic from the bottom of one box to the top
of the other.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Point = tuple[float, float]
DPI = 72.0  # dot's points per inch
MARGIN = 12.0
_RANK_GAP = 56.0  # pixels between layers (fallback layout)
_NODE_GAP = 28.0


@dataclass(frozen=True)
class Box:
    x: float  # centre
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Layout:
    boxes: Mapping[str, Box]
    edges: Sequence[tuple[str, str, list[Point]]]
    width: float
    height: float
    engine: str  # "dot" or "layers"


def layout(nodes: Mapping[str, tuple[float, float]], edges: Sequence[tuple[str, str]],
           use_dot: bool = True) -> Layout:
    """Place ``nodes`` (name -> (width, height) in pixels) joined by ``edges``."""
    if use_dot and shutil.which("dot") is not None:
        try:
            return _dot_layout(nodes, edges)
        except (OSError, ValueError, subprocess.SubprocessError):
            pass  # a broken graphviz: the simple layout still draws the report
    return _layered(nodes, edges)


def _dot_layout(nodes: Mapping[str, tuple[float, float]],
                edges: Sequence[tuple[str, str]]) -> Layout:
    names = list(nodes)
    ids = {name: f"n{i}" for i, name in enumerate(names)}
    lines = ["digraph g {", "rankdir=TB; nodesep=0.35; ranksep=0.5;",
             "node [shape=box, fixedsize=true, label=\"\"];"]
    for name, (width, height) in nodes.items():
        lines.append(f"{ids[name]} [width={width / DPI:.3f}, height={height / DPI:.3f}];")
    lines.extend(f"{ids[a]} -> {ids[b]};" for a, b in edges if a in ids and b in ids)
    lines.append("}")
    proc = subprocess.run(["dot", "-Tplain"], input="\n".join(lines).encode(),
                          capture_output=True, timeout=60, check=True)
    back = {v: k for k, v in ids.items()}
    boxes: dict[str, Box] = {}
    spline: list[tuple[str, str, list[Point]]] = []
    height = 0.0
    width = 0.0
    for raw in proc.stdout.decode().splitlines():
        parts = raw.split()
        if not parts:
            continue
        if parts[0] == "graph":
            width, height = float(parts[2]) * DPI, float(parts[3]) * DPI
        elif parts[0] == "node":
            name = back[parts[1]]
            boxes[name] = Box(float(parts[2]) * DPI, height - float(parts[3]) * DPI,
                              *nodes[name])
        elif parts[0] == "edge":
            count = int(parts[3])
            coords = [float(v) * DPI for v in parts[4:4 + 2 * count]]
            points = [(coords[i], height - coords[i + 1]) for i in range(0, len(coords), 2)]
            spline.append((back[parts[1]], back[parts[2]], points))
    if len(boxes) != len(nodes):
        raise ValueError("dot left out nodes")
    return _with_margin(Layout(boxes, spline, width, height, "dot"))


def _layered(nodes: Mapping[str, tuple[float, float]],
             edges: Sequence[tuple[str, str]]) -> Layout:
    """Longest-path layers, each ordered by the mean position of its parents."""
    names = list(nodes)
    parents: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        if a in parents and b in parents and a != b:
            parents[b].append(a)
    depth: dict[str, int] = {}

    def level(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in depth:
            ups = [p for p in parents[node] if p not in seen]
            depth[node] = 1 + max((level(p, seen | {node}) for p in ups), default=-1)
        return depth[node]

    for node in names:
        level(node)
    layers: dict[int, list[str]] = {}
    for node in names:
        layers.setdefault(depth[node], []).append(node)
    boxes: dict[str, Box] = {}
    y = 0.0
    width = 0.0
    for index in sorted(layers):
        row = layers[index]
        if index:
            row.sort(key=lambda n: sum(boxes[p].x for p in parents[n] if p in boxes)
                     / max(1, sum(1 for p in parents[n] if p in boxes)))
        tallest = max(nodes[n][1] for n in row)
        x = 0.0
        for node in row:
            w, h = nodes[node]
            boxes[node] = Box(x + w / 2, y + tallest / 2, w, h)
            x += w + _NODE_GAP
        width = max(width, x - _NODE_GAP)
        y += tallest + _RANK_GAP
    curves = [(a, b, _curve(boxes[a], boxes[b])) for a, b in edges
              if a in boxes and b in boxes and a != b]
    return _with_margin(Layout(boxes, curves, width, max(0.0, y - _RANK_GAP), "layers"))


def _curve(src: Box, dst: Box) -> list[Point]:
    start = (src.x, src.y + src.height / 2)
    end = (dst.x, dst.y - dst.height / 2 - 6)  # room for the arrowhead
    bend = (end[1] - start[1]) / 2
    return [start, (start[0], start[1] + bend), (end[0], end[1] - bend), end]


def _with_margin(found: Layout) -> Layout:
    def shift(p: Point) -> Point:
        return p[0] + MARGIN, p[1] + MARGIN

    boxes = {n: Box(b.x + MARGIN, b.y + MARGIN, b.width, b.height) for n, b in found.boxes.items()}
    edges = [(a, b, [shift(p) for p in pts]) for a, b, pts in found.edges]
    return Layout(boxes, edges, found.width + 2 * MARGIN, found.height + 2 * MARGIN, found.engine)
