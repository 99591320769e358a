"""Plain helpers for the RNA step tests: example data, a step context, checked params (fixtures
live in tests/rna/conftest.py)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine import StepContext
from engine.params import fill_defaults, params_problems
from engine.registry import get_step

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "rna"
DATA = ROOT / "tests" / "rna" / "data"
KALLISTO_TEST = Path("/usr/share/doc/kallisto/test")

needs_kallisto = pytest.mark.skipif(shutil.which("kallisto") is None,
                                    reason="kallisto not installed (apt-get install kallisto)")

StepCaller = Callable[..., Any]


def make_context(tmp_path: Path, step: str = "rna.test", item: Any = None,
                 threads: int = 1) -> StepContext:
    tmp = tmp_path / "step-tmp"
    tmp.mkdir(exist_ok=True)
    return StepContext(instance_id="x", step=step, threads=threads, work_dir=tmp_path,
                       tmp_dir=tmp, log_path=tmp_path / "x.log", log=logging.getLogger("x"),
                       item=item, index=None if item is None else 0)


def checked_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Params with defaults filled, after the same schema check the engine does."""
    schema = get_step(name).params_schema
    problems = params_problems(schema, params)
    assert not problems, problems
    return fill_defaults(schema, dict(params))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
