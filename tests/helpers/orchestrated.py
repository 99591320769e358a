"""Plain functions for the orchestrator tests, importable by worker processes by name
(``tests.helpers.orchestrated:...``) once the checkout is on PYTHONPATH.

Each call appends its name to the file named by ``$MI_TEST_CALLS`` (when set), so a test can
see which steps really ran, whatever backend ran them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _note(name: str) -> None:
    calls = os.environ.get("MI_TEST_CALLS")
    if calls:
        with open(calls, "a", encoding="utf-8") as handle:
            handle.write(name + "\n")


def make_numbers(count: int, start: int = 1) -> list[int]:
    """The numbers start, start+1, ... (count of them)."""
    _note("make_numbers")
    return list(range(start, start + count))


def total(make: list[int], scale: int = 1) -> int:
    """The sum of the numbers of the step ``make``, times ``scale``."""
    _note("total")
    return sum(make) * scale


def describe(total: int, make: list[int], label: str = "sum") -> dict[str, Any]:
    """A summary of two upstream results (a dict: kept as JSON)."""
    _note("describe")
    return {"label": label, "n": len(make), "total": total, "mean": total / len(make)}


def as_tuple(make: list[int]) -> tuple[int, ...]:
    """A value JSON cannot keep exactly (a tuple): kept as a pickle."""
    _note("as_tuple")
    return tuple(make)


def explode(message: str = "boom", **upstream: Any) -> None:
    """Always fails."""
    _note("explode")
    raise ValueError(message)


def after_explode(**upstream: Any) -> str:
    _note("after_explode")
    return "never"


def independent(word: str = "alone") -> str:
    _note("independent")
    return word.upper()


def seed_failure(**upstream: Any) -> dict[str, Any]:
    """Fails the seed's way: returns the result standard with status 'failed'."""
    _note("seed_failure")
    return {"status": "failed", "errors": ["the input was empty"], "output": {}}


def count_words(text: Path, counts: Path, min_len: int = 0) -> dict[str, Any]:
    """A plain function as a normal spec's ``uses:``: reads an input, writes an output."""
    _note("count_words")
    words = [w for w in text.read_text().split() if len(w) >= min_len]
    counts.write_text(f"{len(words)}\n")
    return {"status": "completed", "output": {"words": len(words)}}


NOT_CALLABLE = 42


def calls_since(folder: Path) -> list[str]:
    """The functions called (in call order) since the last look; then forgotten."""
    log = folder / "calls.log"
    if not log.exists():
        return []
    names = log.read_text().split()
    log.unlink()
    return names
