"""Plain helpers for the planning-stage tests (fixtures live in tests/engine/conftest.py)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
DATA = CHECKOUT / "tests" / "data"
PYTHON = sys.executable
CliCall = Callable[..., tuple[int, str, str]]


def write(path: Path, text: str) -> Path:
    """Write dedented text (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def dry_run_json(cli: CliCall, spec: Path, *args: str) -> dict[str, Any]:
    code, out, err = cli(str(spec), "--dry-run", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def rows_by_id(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in doc["steps"]}


def subprocess_env() -> dict[str, str]:
    """The test's environment without MI_* variables, with the checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MI_")}
    env["PYTHONPATH"] = str(CHECKOUT)
    return env
