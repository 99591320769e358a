"""Small helpers for what the user reads: paths as they would type them, clipped lines."""

from __future__ import annotations

import os


def shown_path(path: str) -> str:
    """A path as the user would type it: relative when it lies below the current directory."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def clip(line: str, width: int = 240) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."
