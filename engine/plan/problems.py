"""Collecting planning problems as located diagnostics (every problem is reported at once).

A problem of one fan-out instance (a param, an output's suffix, a resource) is usually the
problem of many: :meth:`Problems.in_instance` gathers the instances that share one, and the
diagnostic names how many they are and the first few, instead of one error per instance.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from engine.errors import Diagnostic
from engine.spec.config import Origin
from engine.spec.spec import Spec, StepSpec

EXAMPLES = 3  # instances named in a shared problem's message


@dataclass
class _Shared:
    """One problem at one place, and the instances that have it."""

    step: StepSpec
    keys: tuple[str | int, ...]
    problem: str
    hint: str | None
    origin: Origin | None
    at_key: bool
    hints: set[str | None] = field(default_factory=set)
    values: set[str | None] = field(default_factory=set)
    examples: list[tuple[str | None, str | None]] = field(default_factory=list)
    count: int = 0


class Problems:
    """The diagnostics found while expanding one spec, in the order they were found."""

    def __init__(self, spec: Spec):
        self._spec = spec
        self._items: list[Diagnostic | Hashable] = []  # a diagnostic, or a _shared key
        self._shared: dict[Hashable, _Shared] = {}
        self._sizes: dict[str, int] = {}  # step -> how many instances it has

    @property
    def found(self) -> list[Diagnostic]:
        return [item if isinstance(item, Diagnostic) else self._render(self._shared[item])
                for item in self._items]

    def at_step(self, step: StepSpec, keys: tuple[str | int, ...], message: str,
                hint: str | None = None, origin: Origin | None = None) -> None:
        """A problem of ``step``: at the config value that set it (``origin``) if one did,
        else at ``keys`` inside the step in the spec."""
        text = f"step '{step.name}': {message}"
        if origin is not None:
            self._items.append(origin.diagnostic(text, hint))
        else:
            self._items.append(self._spec.marks.diagnostic(step.where(*keys), text, hint))

    def add(self, diagnostic: Diagnostic) -> None:
        self._items.append(diagnostic)

    def instances(self, step: StepSpec, count: int) -> None:
        """``step`` fans out into ``count`` instances (for 'in 3 of 40 instances')."""
        self._sizes[step.name] = count

    def in_instance(self, step: StepSpec, instance: str | None, keys: tuple[str | int, ...],
                    problem: str, got: str | None = None, hint: str | None = None,
                    origin: Origin | None = None, at_key: bool = False) -> None:
        """``problem`` (``got``: the offending value) in the fan-out instance ``instance``
        (None: in the step as a whole, or a step without fan-out). The instances with the
        same problem at the same place share one diagnostic."""
        key = (step.name, keys, problem, origin)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = _Shared(step, keys, problem, hint, origin, at_key)
            self._items.append(key)
        shared.count += 1
        shared.hints.add(hint)
        if len(shared.values) <= EXAMPLES:
            shared.values.add(got)
        if len(shared.examples) < EXAMPLES:
            shared.examples.append((instance, got))

    def _render(self, shared: _Shared) -> Diagnostic:
        step = shared.step
        subject = f"step '{step.name}'" + (f" ({step.uses})" if step.uses else "")
        text = f"{subject}: {shared.problem}"
        first_value = shared.examples[0][1]
        same_value = len(shared.values) == 1
        if same_value and first_value is not None:
            text += f", got {first_value}"
        named = [(i, v) for i, v in shared.examples if i is not None]
        total = self._sizes.get(step.name, 0)
        if named and total:
            scope = (f"all {total} instances" if shared.count >= total
                     else f"{shared.count} of {total} instance{'s' if total != 1 else ''}")
            shown = ", ".join(i if same_value or v is None else f"{i} (got {v})"
                              for i, v in named)
            more = shared.count - len(named)
            text += f" (in {scope}: {shown}{f', and {more} more' if more > 0 else ''})"
        hint = shared.hint if len(shared.hints) == 1 else None
        if shared.origin is not None:
            return shared.origin.diagnostic(text, hint)
        return self._spec.marks.diagnostic(step.where(*shared.keys), text, hint,
                                           key=shared.at_key)
