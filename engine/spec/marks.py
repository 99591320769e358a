"""What :mod:`engine.spec.yamlload` returns: a loaded document and where each value was
written (shared with the parser, :mod:`engine.spec.yamlparse`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import Diagnostic

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Marks:
    """Where each value (and each mapping key) of a loaded document was written."""

    path: str
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def at(self, where: PathKey, *, key: bool = False) -> tuple[int, int]:
        """(line, col) of ``where``, falling back to the nearest enclosing value."""
        table = self.keys if key else self.values
        probe = tuple(where)
        while True:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return (0, 0)
            probe = probe[:-1]

    def diagnostic(
        self, where: PathKey, message: str, hint: str | None = None, *, key: bool = False
    ) -> Diagnostic:
        line, col = self.at(where, key=key)
        return Diagnostic(message=message, path=self.path, line=line, col=col, hint=hint)


@dataclass(frozen=True)
class Document:
    data: Any
    marks: Marks
    warnings: tuple[Diagnostic, ...] = ()  # repeated keys, when they are allowed
