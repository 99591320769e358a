"""Helpers for testing step libraries: call a registered step the way the engine does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.context import StepContext
from engine.params import fill_defaults, params_problems
from engine.registry import get_step


def call_step(name: str, params: Mapping[str, Any] | None = None, *,
              inputs: Mapping[str, Any], outputs: Mapping[str, Any],
              work_dir: str | Path, threads: int = 1, item: Any = None) -> Any:
    """Validate ``params`` against the step's schema (defaults filled), build a context with a
    private tmp dir and a log under ``work_dir``, and call the step; returns what it returns.

    Invalid params, and input or output names the step does not declare (or required ones
    missing), raise ``AssertionError`` listing every problem (this is for tests).
    """
    info = get_step(name)
    filled = fill_defaults(info.params_schema, dict(params or {}))
    problems = [*params_problems(info.params_schema, filled),
                *info.port_problems("inputs", inputs), *info.port_problems("outputs", outputs)]
    assert not problems, problems
    folder = Path(work_dir)
    tmp_dir = folder / "step-tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    context = StepContext(instance_id=name, step=name, threads=threads, work_dir=folder,
                          tmp_dir=tmp_dir, log_path=folder / f"{name}.log",
                          log=logging.getLogger(f"mi-run.test.{name}"), item=item)
    return info.function(filled, inputs=inputs, outputs=outputs, context=context)
