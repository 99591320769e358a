"""JSON on stdout, the one way every ``--json`` output is written."""

from __future__ import annotations

import json
import sys
from typing import Any

COMPACT_ABOVE = 200  # steps: beyond this a listing is for programs, not for eyes


def print_json(value: Any) -> None:
    """Indented for small documents, compact for big plans; one ``dumps`` and one write
    (json.dump's chunked writes cost seconds at 100k instances)."""
    steps = value.get("steps") if isinstance(value, dict) else None
    compact = isinstance(steps, list) and len(steps) > COMPACT_ABOVE
    text = json.dumps(value, separators=(",", ":") if compact else None,
                      indent=None if compact else 2, default=str)
    sys.stdout.write(text + "\n")
