"""Shared fixtures for the RNA step tests: call a registered step the way the engine does.

Plain helpers (EXAMPLES, write, checked_params, make_context, ...) are in tests/helpers/rna.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.registry import get_step
from tests.helpers.rna import StepCaller, checked_params, make_context


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
