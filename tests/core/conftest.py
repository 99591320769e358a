"""Shared fixtures for the core step tests: call a registered step the way the engine does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine import StepContext
from engine.params import fill_defaults, params_problems
from engine.registry import get_step

StepCaller = Callable[..., Any]


def make_context(tmp_path: Path, step: str = "core.test") -> StepContext:
    tmp = tmp_path / "step-tmp"
    tmp.mkdir(exist_ok=True)
    return StepContext(instance_id="x", step=step, threads=1, work_dir=tmp_path, tmp_dir=tmp,
                       log_path=tmp_path / "x.log", log=logging.getLogger("x"))


def checked_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Params with defaults filled, after the same schema check the engine does."""
    schema = get_step(name).params_schema
    problems = params_problems(schema, params)
    assert not problems, problems
    return fill_defaults(schema, dict(params))


@pytest.fixture
def run_step(tmp_path: Path) -> StepCaller:
    """run_step("core.concat", {params}, inputs={...}, outputs={...}) -> the step's result."""

    def call(name: str, params: Mapping[str, Any] | None = None, *,
             inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        info = get_step(name)
        return info.function(checked_params(name, params or {}), inputs=dict(inputs),
                             outputs=dict(outputs), context=make_context(tmp_path, name))

    return call

