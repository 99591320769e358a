"""Shared fixtures for the RNA step tests: call a registered step the way the engine does."""

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
DATA = Path(__file__).resolve().parent / "data"
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


@pytest.fixture
def run_step(tmp_path: Path) -> StepCaller:
    """run_step("rna.merge", {params}, inputs={...}, outputs={...}, item=row) -> the result."""

    def call(name: str, params: Mapping[str, Any] | None = None, *,
             inputs: Mapping[str, Any], outputs: Mapping[str, Any], item: Any = None,
             context_dir: Path | None = None) -> Any:
        info = get_step(name)
        where = context_dir or tmp_path
        where.mkdir(parents=True, exist_ok=True)
        return info.function(checked_params(name, params or {}), inputs=dict(inputs),
                             outputs=dict(outputs),
                             context=make_context(where, name, item=item))

    return call


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
