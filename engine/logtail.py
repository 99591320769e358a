"""The last lines of a log file (a failure's summary, the run record, the report).

Kept apart from :mod:`engine.context`, the step API, which brings logging and subprocess:
the engine reads log tails in runs that import neither.
"""

from __future__ import annotations

from pathlib import Path


def tail_of(path: Path, lines: int) -> str:
    """The last ``lines`` lines of the file's last 16 KiB ("" if it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
