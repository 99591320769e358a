"""Input/output plumbing shared by the GWAS steps (no heavy imports: loaded at planning)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import StepError


def _single(mapping: Mapping[str, Any], name: str, kind: str) -> Path | None:
    value = mapping.get(name)
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise StepError(f"{kind} '{name}' must be one file, got {len(value)}")
        value = value[0] if value else None
    if value is None or str(value) == "":
        return None
    return Path(value)


def optional_in(inputs: Mapping[str, Any], name: str) -> Path | None:
    """The single path of input ``name``; an absent input or an empty list gives None.

    Optional inputs are written in specs as a list template that renders to ``[]`` when the
    producing step is disabled, e.g. ``pcs: "{{ [pcs_path] if use_pcs else [] }}"``.
    """
    return _single(inputs, name, "input")


def in_path(inputs: Mapping[str, Any], name: str) -> Path:
    path = _single(inputs, name, "input")
    if path is None:
        raise StepError(f"missing input '{name}'",
                        hint=f"declare it in the step's inputs: {{{name}: PATH}}")
    return path


def optional_out(outputs: Mapping[str, Any], name: str) -> Path | None:
    """The output path ``name`` with its directory created, or None when not declared."""
    path = _single(outputs, name, "output")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def out_path(outputs: Mapping[str, Any], name: str) -> Path:
    path = optional_out(outputs, name)
    if path is None:
        raise StepError(f"missing output '{name}'",
                        hint=f"declare it in the step's outputs: {{{name}: PATH}}")
    return path
