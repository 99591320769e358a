"""Stage 5, plan: the DAG of step instances, with every dependency and every plan-time check.

Dependencies come from three places, merged: a path one instance reads that another writes
(file inference), a ``steps.X`` reference outside ``inputs:`` (ref), and ``after:``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Diagnostic
from engine.model import StepInstance
from engine.plan.blame import config_source
from engine.plan.expand import Expansion
from engine.plan.graph import Dag, EdgeKind
from engine.resources import is_bundled_example
from engine.spec.config import ResolvedConfig
from engine.spec.spec import Spec

MAX_REPEATS = 3  # per step and kind of problem: a 100k fan-out must not print 100k errors


@dataclass(frozen=True)
class PendingStep:
    """A fan-out that can only be expanded after ``waits_for`` steps have run."""

    node: str
    step: str
    waits_for: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "expands after " + ", ".join(self.waits_for)


@dataclass(frozen=True)
class Plan:
    workflow: str
    spec_path: str
    instances: Mapping[str, StepInstance]  # enabled and disabled, in a topological order
    disabled: frozenset[str]
    disabled_reasons: Mapping[str, str]  # step -> why
    pending: Mapping[str, PendingStep]
    graph: Dag = field(repr=False)
    step_order: tuple[str, ...]
    fanned_out: frozenset[str]
    forced_steps: frozenset[str] = frozenset()  # steps whose `force` is true: they always run
    descriptions: Mapping[str, str] = field(default_factory=dict)
    # file edges into disabled instances: drawn (greyed) in graphs, never scheduled
    disabled_edges: tuple[tuple[str, str, EdgeKind], ...] = ()

    @property
    def runnable(self) -> list[StepInstance]:
        return [i for i in self.instances.values() if i.id not in self.disabled]

    def depends_on(self, node: str) -> list[str]:
        return self.graph.predecessors(node)

    def step_of(self, node: str) -> str:
        if node in self.instances:
            return self.instances[node].step
        return self.pending[node].step


class _Checks:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, spec: Spec, step: str, kind: str, keys: tuple[str | int, ...], message: str,
            hint: str | None = None) -> None:
        self._counts[(step, kind)] += 1
        count = self._counts[(step, kind)]
        if count > MAX_REPEATS:
            return
        where = spec.step(step).where(*keys)
        self.diagnostics.append(spec.marks.diagnostic(where, message, hint))

    def add_at(self, step: str, kind: str, diagnostic: Diagnostic) -> None:
        """A problem located elsewhere than the spec (e.g. at a config file's line)."""
        self._counts[(step, kind)] += 1
        if self._counts[(step, kind)] <= MAX_REPEATS:
            self.diagnostics.append(diagnostic)

    def summary(self, spec: Spec) -> None:
        for (step, _kind), count in self._counts.items():
            if count > MAX_REPEATS:
                where = spec.step(step).where()
                self.diagnostics.append(spec.marks.diagnostic(
                    where, f"step '{step}': {count - MAX_REPEATS} more problems like the above"))


def build_plan(spec: Spec, expansion: Expansion,
               config: ResolvedConfig | None = None) -> tuple[Plan, list[Diagnostic]]:
    """``config``: to report a missing input at the user's config value that named it."""
    checks = _Checks()
    nodes = _collect(expansion)
    producers = _producers(spec, checks, nodes.instances, expansion.work_dir,
                           expansion.output_roots)
    edges = _file_edges(spec, checks, nodes, producers, expansion.work_dir, config)
    disabled_edges = _edges_into_disabled(nodes, producers, expansion.work_dir)
    edges += _step_edges(spec, expansion, nodes)
    checks.summary(spec)
    graph = Dag()
    graph.add_nodes(nodes.instances)
    graph.add_nodes(nodes.pending)
    graph.add_edges(edges)
    topo = graph.topological_order()
    if topo is None:
        _report_cycle(spec, checks, graph, nodes)
    if topo is None:
        order = list(nodes.instances)
    else:  # the graph's other nodes are the pending ones
        order = [n for n in topo if n in nodes.instances] if nodes.pending else topo
    in_order = nodes.instances  # most plans are expanded in a topological order already
    if order != list(in_order):
        in_order = {i: nodes.instances[i] for i in order}
    plan = Plan(
        workflow=spec.name,
        spec_path=spec.path,
        instances=in_order,
        disabled=frozenset(nodes.disabled),
        disabled_reasons={n: s.disabled_reason for n, s in expansion.steps.items() if not s.enabled},
        pending=nodes.pending,
        graph=graph,
        step_order=tuple(expansion.order),
        fanned_out=frozenset(n for n, s in expansion.steps.items() if s.fanned_out),
        forced_steps=frozenset(n for n, s in expansion.steps.items() if s.forced),
        descriptions={s.name: s.description for s in spec.steps if s.description},
        disabled_edges=disabled_edges,
    )
    return plan, checks.diagnostics


@dataclass
class _Nodes:
    """The plan's nodes while it is being built."""

    instances: dict[str, StepInstance] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    by_step: dict[str, list[str]] = field(default_factory=dict)
    pending: dict[str, PendingStep] = field(default_factory=dict)


def _collect(expansion: Expansion) -> _Nodes:
    nodes = _Nodes()
    for name in expansion.order:
        expanded = expansion.steps[name]
        if expanded.pending_on:
            node = f"{name}[*]" if expanded.fanned_out else name
            nodes.pending[node] = PendingStep(node, name, expanded.pending_on)
            nodes.by_step[name] = [node]
            continue
        ids = [instance.id for instance in expanded.instances]
        nodes.instances.update(zip(ids, expanded.instances))  # one C loop for 100,000
        if not expanded.enabled:
            nodes.disabled.update(ids)
        nodes.by_step[name] = ids
    return nodes


def _producers(spec: Spec, checks: _Checks, instances: Mapping[str, StepInstance],
               work_dir: str, roots: tuple[str, ...]) -> dict[str, str]:
    """Path key (:func:`path_key`) of each output -> the instance that writes it (two
    writers: a problem; a path outside every output root: a problem)."""
    producers: dict[str, str] = {}
    inside = tuple(root.rstrip("/") + "/" for root in roots)
    prefix = work_dir.rstrip("/") + "/"
    relative_inside = prefix.startswith(inside)  # then so is every path relative to it
    for instance in instances.values():
        for value in instance.outputs.values():  # once per output of every instance: inline
            for path in (value,) if isinstance(value, str) else value:
                key = path_key(path, work_dir)
                if not (relative_inside and key[:1] != "/"):
                    absolute = key if key[:1] == "/" else prefix + key
                    if not absolute.startswith(inside) and absolute not in roots:
                        _outside(spec, checks, instance, path, absolute, roots)
                other = producers.get(key)
                if other is None:
                    producers[key] = instance.id
                    continue
                _two_writers(spec, checks, instances[other], instance, path)
    return producers


def path_key(path: str, work_dir: str) -> str:
    """The key two paths are compared by in a plan: the normalised path relative to
    ``work_dir`` when it is inside, else absolute. A plain relative path is its own key, so
    the 100,000 paths of a fan-out cost no new string (and no new hash) to compare."""
    if path[:1] not in ("/", ".", "") and "/." not in path and "//" not in path:
        return path
    full = os.path.normpath(os.path.join(work_dir, path))
    prefix = work_dir.rstrip("/") + "/"
    return full[len(prefix):] if full.startswith(prefix) else full


def _two_writers(spec: Spec, checks: _Checks, other: StepInstance, instance: StepInstance,
                 path: str) -> None:
    if other.step == instance.step:
        hint = "make the output path depend on the fan-out item, e.g. {{ item }}"
        message = f"instances '{other.id}' and '{instance.id}' both write '{path}'"
    else:
        hint = "give each step its own output path"
        message = f"steps '{other.step}' and '{instance.step}' both write '{path}'"
    checks.add(spec, instance.step, "dup-output", ("outputs",), message, hint)


def _outside(spec: Spec, checks: _Checks, instance: StepInstance, path: str, key: str,
             roots: tuple[str, ...]) -> None:
    name = next((k for k, v in instance.outputs.items() if v == path or
                 (not isinstance(v, str) and path in v)), None)
    where = ", ".join(roots)
    checks.add(spec, instance.step, "outside", ("outputs", name) if name else ("outputs",),
               f"output '{path}' of '{instance.id}' is outside the directories outputs may be "
               f"written to ({where}): it resolves to {key}",
               "write outputs under the working directory or the configured work_dir; to allow "
               "another directory, list it under the spec's 'output_roots:'")


def _file_edges(spec: Spec, checks: _Checks, nodes: _Nodes, producers: Mapping[str, str],
                work_dir: str, config: ResolvedConfig | None) -> list[tuple[str, str, EdgeKind]]:
    """An edge from the writer of each input to its reader; inputs nobody writes must exist."""
    edges: list[tuple[str, str, EdgeKind]] = []
    file_kind = EdgeKind.FILE  # locals: this loop runs once per input of every instance
    disabled, exists = nodes.disabled, os.path.exists
    for instance in nodes.instances.values():
        if instance.id in disabled or not instance.inputs:
            continue
        for path in instance.input_paths():
            # a path that is some output's key is its own key (keys are normal paths):
            # a fan-in reading a fan-out's outputs skips path_key for every one of them
            source = producers.get(path)
            if source is None:
                source = producers.get(path_key(path, work_dir))
            if source == instance.id:
                checks.add(spec, instance.step, "self-input", ("inputs",),
                           f"step '{instance.step}' reads its own output '{path}'")
            elif source is None:
                if not exists(path):
                    _missing_input(spec, checks, instance, path, nodes.pending, config)
            else:
                if source in disabled and not exists(path):
                    producer = nodes.instances[source].step
                    checks.add(spec, instance.step, "disabled-input", ("inputs",),
                               f"step '{instance.step}' needs '{path}' from step '{producer}', "
                               f"which is disabled, and the file does not exist",
                               f"enable it (--set steps.{producer}.enabled=true) or create the file")
                edges.append((source, instance.id, file_kind))
    return edges


def _edges_into_disabled(nodes: _Nodes, producers: Mapping[str, str],
                         work_dir: str) -> tuple[tuple[str, str, EdgeKind], ...]:
    edges = []
    for node in nodes.disabled:
        for path in nodes.instances[node].input_paths():
            source = producers.get(path_key(path, work_dir))
            if source is not None and source != node:
                edges.append((source, node, EdgeKind.FILE))
    return tuple(sorted(set(edges)))


def _step_edges(spec: Spec, expansion: Expansion, nodes: _Nodes) -> list[tuple[str, str, EdgeKind]]:
    """Edges between every instance of two steps: ``after:``, ``steps.X`` references outside
    ``inputs:``, references to pending steps, and the writers of the tables and globbed
    files fan-outs read (pending or not)."""
    edges: list[tuple[str, str, EdgeKind]] = []
    by_step, pending = nodes.by_step, nodes.pending
    for name in expansion.order:
        spec_step = spec.step(name)
        upstream = (set(expansion.refs_outside_inputs.get(name, ())) | set(spec_step.after)
                    | {r for r in expansion.refs.get(name, ()) if _is_pending(r, by_step, pending)}
                    | {w for p in by_step.get(name, []) if p in pending for w in pending[p].waits_for}
                    | set(expansion.steps[name].fed_by))
        if _is_pending(name, by_step, pending):  # its file edges are not known yet
            upstream |= set(expansion.refs.get(name, ()))
        for dep in sorted(upstream):
            kind = EdgeKind.AFTER if dep in spec_step.after else EdgeKind.REF
            for src in by_step.get(dep, []):
                for dst in by_step.get(name, []):
                    edges.append((src, dst, kind))
    return edges


def _report_cycle(spec: Spec, checks: _Checks, graph: Dag, nodes: _Nodes) -> None:
    cycle = graph.find_cycle()
    if not cycle:
        return
    first = cycle[0]
    step = nodes.instances[first].step if first in nodes.instances else nodes.pending[first].step
    checks.diagnostics.append(spec.marks.diagnostic(
        spec.step(step).where(), "steps depend on each other in a cycle (through files): "
        + " -> ".join(cycle), "a step's output must not be an input of a step it feeds"))


def _is_pending(step: str, by_step: Mapping[str, list[str]], pending: Mapping[str, Any]) -> bool:
    return any(node in pending for node in by_step.get(step, []))


def _missing_input(spec: Spec, checks: _Checks, instance: StepInstance, path: str,
                   pending: Mapping[str, PendingStep], config: ResolvedConfig | None) -> None:
    message = f"input '{path}' of '{instance.id}' is not written by any step and does not exist"
    source = None if config is None else config_source(
        config, spec.config, spec.step(instance.step).inputs.values(), path)
    if source is not None:  # the user's config named the file: say so where they wrote it
        key, origin = source
        checks.add_at(instance.step, "missing-input", origin.diagnostic(
            f"{message} (its path comes from config '{key}')",
            f"put the file at '{path}', or correct '{key}'"))
        return
    hint = "check the path, or add the step that writes it"
    if is_bundled_example(os.path.join(instance.work_dir, path)):
        hint = ("it is the bundled example data, which this installation does not have "
                "(it ships in the repository's examples/ and in the wheel); point the "
                "workflow at your own data with --config FILE or --set KEY=PATH")
    if pending:
        hint += ("; a file written by a pending fan-out must be referenced as "
                 "steps.<step>.outputs.<name>")
    checks.add(spec, instance.step, "missing-input", ("inputs",), message, hint)


def group_ids(ids: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for node in ids:
        grouped[node.split("[", 1)[0]].append(node)
    return grouped
