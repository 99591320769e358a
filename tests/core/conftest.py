"""Shared fixtures for the core step tests: call a registered step the way the engine does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.testing import call_step

StepCaller = Callable[..., Any]


@pytest.fixture
def run_step(tmp_path: Path) -> StepCaller:
    """run_step("core.concat", {params}, inputs={...}, outputs={...}) -> the step's result."""

    def call(name: str, params: Mapping[str, Any] | None = None, *,
             inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        return call_step(name, params, inputs=dict(inputs), outputs=dict(outputs),
                         work_dir=tmp_path)

    return call

