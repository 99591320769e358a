"""Files shipped with the engine: the spec JSON Schema and the bundled workflow specs.

In a wheel they sit inside the package (``engine/schemas``, ``engine/specs``: see
``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml); in a checkout they are
the top-level ``schemas/`` and ``specs/`` folders. These two functions are the only places
that know this.
"""

from __future__ import annotations

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
