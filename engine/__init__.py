"""metainformant-flow's engine: YAML spec -> validated plan -> incremental parallel run.

Public API (what step libraries and scripts import)::

    from engine import step, StepContext, StepError, ToolMissingError
    wf = engine.load("specs/rna/amalgkit.yaml", overrides={"threads": 4})
    plan = wf.plan()
    result = engine.run(wf, jobs=2)

Heavy modules are imported lazily so that ``import engine`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.context import StepContext
from engine.errors import MiError, SpecError, StepError, ToolMissingError
from engine.registry import step

__version__ = "0.1.0"

__all__ = [
    "MiError",
    "SpecError",
    "StepContext",
    "StepError",
    "ToolMissingError",
    "__version__",
    "load",
    "run",
    "step",
]

if TYPE_CHECKING:
    from engine.workflow import Workflow


def load(spec: Any, config_files: Any = (), overrides: Any = None, **kwargs: Any) -> Workflow:
    """Load and validate a spec (path) with config layers; see :func:`engine.workflow.load`."""
    from engine.workflow import load as _load

    return _load(spec, config_files=config_files, overrides=overrides or {}, **kwargs)


def run(workflow_or_spec: Any, **options: Any) -> Any:
    """Run a workflow (or a spec path); see :func:`engine.orchestrate.run_workflow`."""
    from engine.orchestrate import run_workflow

    return run_workflow(workflow_or_spec, **options)
