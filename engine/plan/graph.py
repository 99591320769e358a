"""The DAG of step instances, with string node ids. networkx lives here and nowhere else.

Adjacency is kept in plain dicts because the planner builds it for every dry-run and it must
stay cheap at 100k instances (networkx's own node/edge bookkeeping costs ~10x more); the
networkx view is built on demand for the analyses that need it (cycles, step ordering).

Edges carry a ``kind``: ``file`` (an input is another instance's output), ``ref`` (a
``steps.X`` reference outside the inputs), ``after`` (explicit ordering).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class EdgeKind(StrEnum):
    FILE = "file"  # an input of the target is an output of the source
    REF = "ref"  # a ``steps.X`` reference outside ``inputs:``
    AFTER = "after"  # explicit ordering


class Dag:
    """Built once by the planner, then only queried."""

    __slots__ = ("_kinds", "_nodes", "_pred", "_succ")

    def __init__(self) -> None:
        self._nodes: dict[str, None] = {}  # insertion-ordered node set
        # Adjacency only for nodes that have edges: most of a 100k fan-out has one edge at most.
        self._pred: dict[str, list[str]] = {}
        self._succ: dict[str, list[str]] = {}
        self._kinds: dict[tuple[str, str], EdgeKind] = {}  # only edges whose kind is not FILE

    # construction -----------------------------------------------------------------------
    def add_nodes(self, nodes: Iterable[str]) -> None:
        self._nodes.update(dict.fromkeys(nodes))

    def add_edges(self, edges: Iterable[tuple[str, str, EdgeKind]]) -> None:
        """Add edges (and their nodes, when new); an edge already there is not added again
        and keeps its first kind."""
        pred, succ, kinds, known = self._pred, self._succ, self._kinds, self._nodes
        crowds: dict[str, set[str]] = {}  # predecessors of targets that have many, as sets
        file_kind = EdgeKind.FILE  # a local: an Enum member lookup costs ~60 ns per edge
        for src, dst, kind in edges:  # once per edge at 100k instances: no tuple, no call
            before = pred.get(dst)
            if before is None:
                if dst not in known:
                    if src not in known:  # new nodes join in edge order: source first
                        known[src] = None
                    known[dst] = None
                pred[dst] = [src]
            elif len(before) < 16:  # a few: scan them
                if src in before:
                    continue
                before.append(src)
            else:  # a fan-in: a set of them, made once
                crowd = crowds.get(dst)
                if crowd is None:
                    crowd = crowds[dst] = set(before)
                if src in crowd:
                    continue
                crowd.add(src)
                before.append(src)
            after = succ.get(src)
            if after is None:
                if src not in known:
                    known[src] = None
                succ[src] = [dst]
            else:
                after.append(dst)
            if kind is not file_kind:
                kinds[(src, dst)] = EdgeKind(kind)

    def __contains__(self, node: str) -> bool:
        return node in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def nodes(self) -> list[str]:
        return list(self._nodes)

    def kind(self, src: str, dst: str) -> EdgeKind:
        return self._kinds.get((src, dst), EdgeKind.FILE)

    def edges(self) -> list[tuple[str, str, EdgeKind]]:
        kinds = self._kinds
        return [(u, v, kinds.get((u, v), EdgeKind.FILE)) for u, vs in self._succ.items() for v in vs]

    def predecessors(self, node: str) -> list[str]:
        return list(self._pred.get(node, ()))

    def successors(self, node: str) -> list[str]:
        return list(self._succ.get(node, ()))

    def predecessor_map(self) -> Mapping[str, Sequence[str]]:
        """node -> predecessors, for nodes that have any (use ``.get(node, ())``); read-only."""
        return MappingProxyType(self._pred)

    def successor_map(self) -> Mapping[str, Sequence[str]]:
        """node -> successors, for nodes that have any (use ``.get(node, ())``); read-only."""
        return MappingProxyType(self._succ)

    def to_networkx(self) -> Any:
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self._nodes)
        graph.add_edges_from((u, v, {"kind": k}) for u, v, k in self.edges())
        return graph

    def find_cycle(self) -> list[str] | None:
        """One cycle as a node list with the first node repeated at the end, or None."""
        import networkx as nx

        try:
            edges = nx.find_cycle(self.to_networkx())
        except nx.NetworkXNoCycle:
            return None
        return [edges[0][0], *[v for _, v, *_ in edges]]

    def topological_order(self) -> list[str] | None:
        """Kahn's algorithm, ties broken by insertion order (deterministic); None on a cycle."""
        succ, pred = self._succ, self._pred
        waiting = {node: len(pred[node]) for node in self._nodes if node in pred}
        ready = [node for node in self._nodes if node not in waiting]
        position = 0
        while position < len(ready):
            node = ready[position]
            position += 1
            for child in succ.get(node, ()):
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        return ready if len(ready) == len(self._nodes) else None

    def remaining_path_lengths(self, weight: Callable[[str], float] | None = None) -> dict[str, float]:
        """Longest path (sum of weights) from each node to any sink: the critical-path priority."""
        result: dict[str, float] = {}
        succ = self._succ
        for node in reversed(self.topological_order() or []):
            best = 0.0
            for child in succ.get(node, ()):
                if result[child] > best:
                    best = result[child]
            result[node] = best + (weight(node) if weight else 1.0)
        return result

    def longest_path(self, weight: Callable[[str], float]) -> list[str]:
        """The heaviest chain of nodes (sum of ``weight``), first node first: the critical
        path of a run when ``weight`` is each instance's duration. It starts and ends with a
        node of positive weight (nodes of weight 0 may lie between)."""
        remaining = self.remaining_path_lengths(weight)
        if not remaining or max(remaining.values()) <= 0:
            return []
        node = max(remaining, key=remaining.__getitem__)  # the first of the heaviest
        while weight(node) <= 0:  # a start that adds nothing: go down the heavy side
            node = max(self._succ[node], key=remaining.__getitem__)
        path = [node]
        while children := self._succ.get(node):
            node = max(children, key=remaining.__getitem__)
            if remaining[node] <= 0:
                break
            path.append(node)
        return path

    def collapse(self, group_of: Callable[[str], str]
                 ) -> tuple[dict[str, int], set[tuple[str, str, EdgeKind]]]:
        """Quotient graph: group -> member count, and edges between distinct groups."""
        counts: dict[str, int] = {}
        for node in self._nodes:
            group = group_of(node)
            counts[group] = counts.get(group, 0) + 1
        edges: set[tuple[str, str, EdgeKind]] = set()
        for u, v, kind in self.edges():
            gu, gv = group_of(u), group_of(v)
            if gu != gv:
                edges.add((gu, gv, kind))
        return counts, edges


def order_groups(
    nodes: Iterable[str], needs: Mapping[str, Iterable[str]]
) -> tuple[list[str], list[str] | None]:
    """Stable topological order of named groups (file order breaks ties), or a cycle."""
    import heapq

    listed = list(nodes)
    position = {n: i for i, n in enumerate(listed)}
    dag = Dag()
    dag.add_nodes(listed)
    dag.add_edges((dep, node, EdgeKind.REF) for node, deps in needs.items() for dep in deps
                  if dep in position and node in position)
    waiting = {n: len(dag.predecessor_map().get(n, ())) for n in listed}
    heap = [position[n] for n in listed if waiting[n] == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        node = listed[heapq.heappop(heap)]
        order.append(node)
        for child in dag.successor_map().get(node, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(heap, position[child])
    if len(order) == len(listed):
        return order, None
    return [], dag.find_cycle()
