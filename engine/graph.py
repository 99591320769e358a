"""The DAG of step instances. networkx lives here and nowhere else; node ids are strings.

Edges carry a ``kind``: ``file`` (an input is another instance's output), ``ref`` (a
``steps.X`` reference outside the inputs), ``after`` (explicit ordering).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import networkx as nx


class Dag:
    """A thin, read-mostly wrapper: built once by the planner, then only queried."""

    __slots__ = ("_g",)

    def __init__(self) -> None:
        self._g = nx.DiGraph()

    # construction -----------------------------------------------------------------------
    def add_nodes(self, nodes: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        self._g.add_nodes_from(nodes)

    def add_edges(self, edges: Iterable[tuple[str, str, str]]) -> None:
        g = self._g
        for src, dst, kind in edges:
            if not g.has_edge(src, dst):
                g.add_edge(src, dst, kind=kind)

    # queries ----------------------------------------------------------------------------
    def __contains__(self, node: str) -> bool:
        return node in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def nodes(self) -> list[str]:
        return list(self._g.nodes)

    def attrs(self, node: str) -> Mapping[str, Any]:
        return self._g.nodes[node]

    def edges(self) -> list[tuple[str, str, str]]:
        return [(u, v, d.get("kind", "file")) for u, v, d in self._g.edges(data=True)]

    def predecessors(self, node: str) -> list[str]:
        return list(self._g.predecessors(node))

    def successors(self, node: str) -> list[str]:
        return list(self._g.successors(node))

    def predecessor_map(self) -> dict[str, list[str]]:
        return {n: list(p) for n, p in self._g.pred.items()}

    def successor_map(self) -> dict[str, list[str]]:
        return {n: list(s) for n, s in self._g.succ.items()}

    def find_cycle(self) -> list[str] | None:
        """One cycle as a node list with the first node repeated at the end, or None."""
        try:
            edges = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return None
        return [edges[0][0], *[v for _, v, *_ in edges]]

    def topological_order(self) -> list[str]:
        return list(nx.lexicographical_topological_sort(self._g))

    def remaining_path_lengths(self, weight: Callable[[str], float] | None = None) -> dict[str, float]:
        """Longest path (sum of weights) from each node to any sink: the critical-path priority."""
        weight = weight or (lambda _n: 1.0)
        result: dict[str, float] = {}
        succ = self._g.succ
        for node in reversed(list(nx.topological_sort(self._g))):
            best = 0.0
            for child in succ[node]:
                best = max(best, result[child])
            result[node] = best + weight(node)
        return result

    def collapse(self, group_of: Callable[[str], str]) -> tuple[dict[str, int], set[tuple[str, str, str]]]:
        """Quotient graph: group -> member count, and edges between distinct groups."""
        counts: dict[str, int] = {}
        for node in self._g.nodes:
            group = group_of(node)
            counts[group] = counts.get(group, 0) + 1
        edges: set[tuple[str, str, str]] = set()
        for u, v, data in self._g.edges(data=True):
            gu, gv = group_of(u), group_of(v)
            if gu != gv:
                edges.add((gu, gv, data.get("kind", "file")))
        return counts, edges


def order_groups(nodes: Iterable[str], needs: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str] | None]:
    """Stable topological order of named groups (file order breaks ties), or a cycle."""
    g = nx.DiGraph()
    listed = list(nodes)
    position = {n: i for i, n in enumerate(listed)}
    g.add_nodes_from(listed)
    for node, deps in needs.items():
        for dep in deps:
            if dep in position:
                g.add_edge(dep, node)
    try:
        return list(nx.lexicographical_topological_sort(g, key=lambda n: position[n])), None
    except nx.NetworkXUnfeasible:
        edges = nx.find_cycle(g)
        return [], [edges[0][0], *[v for _, v, *_ in edges]]
