"""metainformant-flow's engine: YAML spec -> validated plan -> incremental parallel run.

Public API. Step libraries import only these names (an import-linter contract checks it)::

    from engine import step, StepContext, StepError, ToolMissingError
    from engine import require_tool, require_tools   # external tools, engine.tools.TOOLS
    from engine import single_path, optional_path, path_list, bundled_spec
    from engine import execute_bundled, SeedResult   # execute_<domain>_workflow entry points
    from engine import bundled_entry_point           # ... the plain ones, made

and scripts drive workflows with::

    wf = engine.load("specs/rna/amalgkit.yaml", overrides={"threads": 4})
    plan = wf.plan()
    result = engine.run(wf, jobs=2)

or build them as MetaInformAnt does (``engine.BaseWorkflowOrchestrator``: ``add_step``,
``run_workflow``; docs/orchestrator.md).

Heavy modules are imported lazily so that ``import engine`` stays cheap.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import MiError, SpecError, StepError, ToolMissingError, UsageError
from engine.version import __version__

# The step API is imported on first use, so that `mi-run` planning a shell-only workflow never
# pays for it (engine.context brings logging, subprocess and shutil: ~8 ms of start-up).
_LAZY = {
    "StepContext": "engine.context", "run_tool": "engine.context",
    "require_tool": "engine.tools", "require_tools": "engine.tools",
    "optional_path": "engine.paths", "path_list": "engine.paths", "single_path": "engine.paths",
    "step": "engine.registry", "bundled_spec": "engine.resources",
    "BaseWorkflowOrchestrator": "engine.running.orchestrator",
    "execute_bundled": "engine.running.seedresult", "SeedResult": "engine.running.seedresult",
    "bundled_entry_point": "engine.running.seedresult",
}

__all__ = [
    "BaseWorkflowOrchestrator",
    "MiError",
    "SeedResult",
    "SpecError",
    "StepContext",
    "StepError",
    "ToolMissingError",
    "UsageError",
    "__version__",
    "bundled_entry_point",
    "bundled_spec",
    "execute_bundled",
    "load",
    "optional_path",
    "path_list",
    "require_tool",
    "require_tools",
    "run",
    "run_tool",
    "single_path",
    "step",
]

if TYPE_CHECKING:
    from engine.context import StepContext, run_tool
    from engine.paths import optional_path, path_list, single_path
    from engine.plan.workflow import Workflow
    from engine.registry import step
    from engine.resources import bundled_spec
    from engine.running.orchestrate import run_workflow as run
    from engine.running.orchestrator import BaseWorkflowOrchestrator
    from engine.running.seedresult import SeedResult, bundled_entry_point, execute_bundled
    from engine.tools import require_tool, require_tools
else:

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'engine' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # once imported, a plain module attribute
        return value

    def run(workflow_or_spec, **settings):
        """Run a workflow (or a spec path): :func:`engine.running.orchestrate.run_workflow`."""
        from engine.running.orchestrate import run_workflow

        return run_workflow(workflow_or_spec, **settings)


def load(spec: str | os.PathLike[str], config_files: Iterable[str | os.PathLike[str]] = (),
         overrides: Mapping[str, object] | Iterable[str] = (),
         environ: Mapping[str, str] | None = None, strict: bool = False,
         state_dir: str | os.PathLike[str] | None = None) -> Workflow:
    """Load and validate a spec with its config layers: :func:`engine.plan.workflow.load`.
    Unknown config keys from files and the environment are in ``Workflow.warnings``.
    ``state_dir``: where a MetaInformAnt orchestrator-form file keeps its steps' results
    (pass the one you run with, if not the default)."""
    from engine.plan.workflow import load as _load

    return _load(spec, config_files=config_files, overrides=overrides, environ=environ,
                 strict=strict, state_dir=state_dir)
