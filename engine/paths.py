"""Reading a step's ``inputs``/``outputs`` mappings: the path helpers every step library uses.

A step receives each input and output as a :class:`~pathlib.Path` or a list of them (a
fan-out gathered, an optional input rendered to ``[]``). These helpers turn that into what
the step expects and fail with a :class:`StepError` that says what to declare in the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.errors import StepError


def path_list(value: Any) -> list[Path]:
    """An input or output that may be absent (None), one path, or a list of paths."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [Path(v) for v in value]
    return [Path(value)]


def optional_path(paths: Mapping[str, Any], name: str, *, output: bool = False) -> Path | None:
    """The one path declared as ``name``; None when it is absent or an empty list (optional
    inputs are written as a template rendering to ``[]``). For an output (``output=True``)
    its directory is created."""
    found = [p for p in path_list(paths.get(name)) if str(p) != ""]
    kind = "output" if output else "input"
    if len(found) > 1:
        raise StepError(f"{kind} '{name}' must be one path, got {len(found)}",
                        hint=f"declare a single path: {kind}s: {{{name}: PATH}}")
    if not found:
        return None
    if output:
        found[0].parent.mkdir(parents=True, exist_ok=True)
    return found[0]


def single_path(paths: Mapping[str, Any], name: str | None = None, *,
                output: bool = False) -> Path:
    """The one path declared as ``name`` (required); without ``name``, the one path the
    whole mapping declares (for steps that read or write exactly one file)."""
    kind = "output" if output else "input"
    if name is None:
        every = [p for value in paths.values() for p in path_list(value)]
        if len(every) != 1:
            raise StepError(f"this step takes exactly one {kind}, but {len(every)} were declared",
                            hint=f"declare a single {kind}, e.g. '{kind}s: {{table: out/result.tsv}}'")
        if output:
            every[0].parent.mkdir(parents=True, exist_ok=True)
        return every[0]
    found = optional_path(paths, name, output=output)
    if found is None:
        raise StepError(f"missing {kind} '{name}'",
                        hint=f"declare it in the step's {kind}s: {{{name}: PATH}}")
    return found
