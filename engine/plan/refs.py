"""Which steps each step refers to (``steps.X`` in templates, ``after:``), and the order in
which steps must be expanded so that a template can read the paths of the steps it names."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.plan.graph import order_groups
from engine.plan.problems import Problems
from engine.spec.spec import Spec
from engine.spec.templates import referenced_steps


@dataclass(frozen=True)
class StepRefs:
    order: tuple[str, ...]  # expansion order (empty when the references form a cycle)
    refs: Mapping[str, frozenset[str]]  # step -> steps its templates name
    refs_outside_inputs: Mapping[str, frozenset[str]]  # ... outside its ``inputs:``


def check_unique_names(spec: Spec, problems: Problems) -> None:
    seen: set[str] = set()
    for step in spec.steps:
        if step.name in seen:
            problems.at_step(step, ("name",), f"duplicate step name '{step.name}'",
                             "step names must be unique")
        seen.add(step.name)


def step_references(spec: Spec, problems: Problems) -> StepRefs:
    names = spec.step_names
    seen = set(names)
    refs: dict[str, frozenset[str]] = {}
    outside: dict[str, frozenset[str]] = {}
    needs: dict[str, set[str]] = {}
    for step in spec.steps:
        found = referenced_steps(step.template_sources())
        for missing in sorted(found - seen):
            problems.unknown_steps.add(missing)
            problems.at_step(step, (), f"refers to unknown step '{missing}'",
                             _did_you_mean(missing, names), needle=f"steps.{missing}")
        for i, dep in enumerate(step.after):
            if dep not in seen:
                problems.at_step(step, ("after", i), f"'after' names unknown step '{dep}'",
                                 _did_you_mean(dep, names))
        refs[step.name] = frozenset(found & seen - {step.name})
        non_input = [step.run, step.foreach, step.params, step.enabled, step.threads,
                     step.outputs, step.resources]
        outside[step.name] = frozenset(referenced_steps(strings_in(non_input)) & seen - {step.name})
        needs[step.name] = set(refs[step.name]) | (set(step.after) & seen)
    order, cycle = order_groups(names, needs)
    if cycle:
        problems.at_step(spec.step(cycle[0]), (), "steps depend on each other in a cycle: "
                         + " -> ".join(cycle), "remove one of the references or 'after' entries")
        return StepRefs((), refs, outside)
    return StepRefs(tuple(order), refs, outside)


def _did_you_mean(name: str, names: list[str]) -> str | None:
    close = difflib.get_close_matches(name, names, n=1)
    return f"did you mean '{close[0]}'?" if close else None


def strings_in(values: Any) -> list[str]:
    """Every string inside nested lists, tuples and mappings."""
    found: list[str] = []
    stack = [values]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list | tuple):
            stack.extend(reversed(value))
    return found
