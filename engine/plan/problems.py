"""Collecting planning problems as located diagnostics (every problem is reported at once).

One mistake, one message:
- a template that fails for each of 300 fan-out items is reported once, "(300 instances)",
  at the faulty expression inside the value (block scalars included), not at the key;
- a missing key that is the value of a config key (``--set genome=hg19`` where ``genomes``
  has no ``hg19``) is reported once, at that config value, however many templates it breaks;
- a problem of one fan-out instance (a param, an output's suffix, a resource) is usually the
  problem of many: :meth:`Problems.in_instance` gathers the instances that share one, and the
  diagnostic names how many they are and the first few.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace

from engine.errors import Diagnostic, find_in_source
from engine.spec.config import Origin, ResolvedConfig
from engine.spec.spec import Spec, StepSpec
from engine.spec.templates import TemplateError, referenced_names

_Key = tuple[str, int, int, str]

EXAMPLES = 3  # instances named in a shared problem's message


@dataclass
class _Counted:
    """A diagnostic and how many instances gave it (``counted``: say so in the message)."""

    diagnostic: Diagnostic
    times: int
    counted: bool


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

    def __init__(self, spec: Spec, config: ResolvedConfig | None = None):
        self._spec = spec
        self._config = config
        # in order found: ("diagnostic", key of _counted) or a key of _shared
        self._items: list[Hashable] = []
        self._counted: dict[_Key, _Counted] = {}
        self._shared: dict[Hashable, _Shared] = {}
        self._sizes: dict[str, int] = {}  # step -> how many instances it has
        self.unknown_steps: set[str] = set()  # ``steps.X`` references already reported

    @property
    def found(self) -> list[Diagnostic]:
        result = []
        for item in self._items:
            if isinstance(item, tuple) and item[0] == "diagnostic":
                entry = self._counted[item[1]]
                diagnostic = entry.diagnostic
                if entry.counted and entry.times > 1:
                    diagnostic = replace(diagnostic,
                                         message=f"{diagnostic.message} ({entry.times} instances)")
                result.append(diagnostic)
            else:
                result.append(self._render(self._shared[item]))
        return result

    def add(self, diagnostic: Diagnostic, counted: bool = True) -> None:
        """A diagnostic; the same one again (another instance) is counted, not repeated."""
        key = (diagnostic.path, diagnostic.line, diagnostic.col, diagnostic.message)
        entry = self._counted.get(key)
        if entry is None:
            self._counted[key] = _Counted(diagnostic, 1, counted)
            self._items.append(("diagnostic", key))
        else:
            entry.times += 1

    def at_step(self, step: StepSpec, keys: tuple[str | int, ...], message: str,
                hint: str | None = None, origin: Origin | None = None,
                needle: str | None = None) -> None:
        """A problem of ``step``: at the config value that set it (``origin``) if one did,
        else at ``keys`` inside the step in the spec (at ``needle`` in it, when given)."""
        text = f"step '{step.name}': {message}"
        if origin is not None:
            self.add(origin.diagnostic(text, hint))
            return
        line, col = self._spec.marks.at(step.where(*keys))
        if needle and line:
            line, col = find_in_source(self._spec.path, line, col, needle, 4000,
                                       self._next_step_line(step))
        self.add(Diagnostic(text, self._spec.path, line, col, hint))

    def _next_step_line(self, step: StepSpec) -> int:
        if step.position + 1 < len(self._spec.steps):
            return self._spec.marks.at(("steps", step.position + 1))[0] or 1 << 30
        return 1 << 30

    def template(self, step: StepSpec, keys: tuple[str | int, ...], exc: TemplateError,
                 origin: Origin | None = None) -> None:
        """A template of ``step`` (at ``keys``) failed: say where and what, once."""
        if exc.missing in self.unknown_steps or self._blame_config(exc):
            return  # the root cause is reported already
        what = ".".join(str(k) for k in keys)
        text = f"step '{step.name}': in '{what}': {exc}"
        if origin is not None:
            self.add(origin.diagnostic(text, exc.suggestion))
            return
        line, col = self._spec.marks.at(step.where(*keys))
        if exc.needle and line:
            line, col = find_in_source(self._spec.path, line, col, exc.needle,
                                       len(exc.source or "") + 200, self._next_step_line(step))
        self.add(Diagnostic(text, self._spec.path, line, col, exc.suggestion))

    def _blame_config(self, exc: TemplateError) -> bool:
        """A missing key that is the value of a config key the template reads: the config
        value is the mistake (``genome: hg19``), reported once at the place that set it."""
        if self._config is None or exc.missing is None or exc.source is None:
            return False
        try:
            names = referenced_names(exc.source)
        except TemplateError:
            return False
        values = self._config.values
        for name in sorted(names):
            if name in values and not isinstance(values[name], Mapping | list) \
                    and str(values[name]) == exc.missing:
                origin = self._config.origin((name,))
                mapping = next((n for n in sorted(names) if isinstance(values.get(n), Mapping)
                                and set(map(str, values[n])) == set(exc.choices)), None)
                owner = f"'{mapping}'" if mapping else "the mapping it selects from"
                message = f"config '{name}' is '{exc.missing}', but {owner} has no key '{exc.missing}'"
                hint = exc.suggestion
                if mapping and hint and not hint.startswith("did you"):
                    hint = f"{mapping} has: " + ", ".join(sorted(exc.choices))
                if origin is None:
                    self.add(Diagnostic(message, "<config>", hint=hint), counted=False)
                else:
                    self.add(origin.diagnostic(message, hint), counted=False)
                return True
        return False

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
