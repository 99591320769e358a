"""Collecting planning problems as located diagnostics (every problem is reported at once)."""

from __future__ import annotations

from engine.errors import Diagnostic
from engine.spec.config import Origin
from engine.spec.spec import Spec, StepSpec


class Problems:
    """The diagnostics found while expanding one spec, in the order they were found."""

    def __init__(self, spec: Spec):
        self._spec = spec
        self.found: list[Diagnostic] = []

    def at_step(self, step: StepSpec, keys: tuple[str | int, ...], message: str,
                hint: str | None = None, origin: Origin | None = None) -> None:
        """A problem of ``step``: at the config value that set it (``origin``) if one did,
        else at ``keys`` inside the step in the spec."""
        text = f"step '{step.name}': {message}"
        if origin is not None:
            self.found.append(origin.diagnostic(text, hint))
        else:
            self.found.append(self._spec.marks.diagnostic(step.where(*keys), text, hint))

    def add(self, diagnostic: Diagnostic) -> None:
        self.found.append(diagnostic)
