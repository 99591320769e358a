"""Files shipped with the engine: the spec JSON Schema, the bundled workflow specs and the
example data those specs default to.

In a wheel they sit inside the package (``engine/schemas``, ``engine/specs``,
``engine/examples/{rna,gwas}``: see ``[tool.hatch.build.targets.wheel.force-include]`` in
pyproject.toml); in a checkout they are the top-level ``schemas/``, ``specs/`` and
``examples/`` folders. The functions here are the only places that know this. The package is
looked in first, so an installed wheel never reads a checkout beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(folder: str, name: str) -> Path:
    for root in (_PACKAGE / folder, _PACKAGE.parent / folder):
        candidate = root / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder}/{name} is not shipped with this engine ({_PACKAGE})")


def schema_path(name: str = "spec.schema.json") -> Path:
    """A JSON Schema shipped with the engine."""
    return _shipped("schemas", name)


def bundled_spec(name: str) -> Path:
    """A workflow spec shipped with the engine, e.g. ``bundled_spec("rna/amalgkit.yaml")``."""
    return _shipped("specs", name)


def is_bundled_example(path: str) -> bool:
    """Whether ``path`` (absolute, or relative to the current directory) lies in the
    bundled example data, present or not: a missing input there means this installation
    lacks the examples, not that the user mistyped a path."""
    found = os.path.normpath(os.path.abspath(path))
    return any(found.startswith(str(root / "examples") + os.sep)
               for root in (_PACKAGE, _PACKAGE.parent))
