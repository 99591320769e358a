"""Collecting planning problems as located diagnostics (every problem is reported at once).

One mistake, one message: a template that fails for each of 300 fan-out items is reported
once, "(300 instances)"; a template error is placed at the faulty expression inside the value
(block scalars included), not at the key; and a missing key that is the value of a config key
(``--set genome=hg19`` where ``genomes`` has no ``hg19``) is reported once, at that config
value, however many templates it breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.errors import Diagnostic, find_in_source
from engine.spec.config import Origin, ResolvedConfig
from engine.spec.spec import Spec, StepSpec
from engine.spec.templates import TemplateError, referenced_names

_Key = tuple[str, int, int, str]


class Problems:
    """The diagnostics found while expanding one spec, in the order they were found."""

    def __init__(self, spec: Spec, config: ResolvedConfig | None = None):
        self._spec = spec
        self._config = config
        self._found: dict[_Key, list[Any]] = {}  # key -> [diagnostic, instances, counted]
        self.unknown_steps: set[str] = set()  # ``steps.X`` references already reported

    @property
    def found(self) -> list[Diagnostic]:
        return [d if n == 1 or not counted else replace(d, message=f"{d.message} ({n} instances)")
                for d, n, counted in self._found.values()]

    def add(self, diagnostic: Diagnostic, counted: bool = True) -> None:
        key = (diagnostic.path, diagnostic.line, diagnostic.col, diagnostic.message)
        entry = self._found.get(key)
        if entry is None:
            self._found[key] = [diagnostic, 1, counted]
        else:
            entry[1] += 1

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
