"""MetaInformAnt's ``BaseWorkflowOrchestrator`` in Python, run by this engine.

Two shapes, both MetaInformAnt's:

- steps added in code or read from ``config["steps"]``::

      wf = BaseWorkflowOrchestrator({"name": "demo"})
      wf.add_step("make", make_numbers, {"count": 4}).add_step("total", "mylab:total",
                                                                depends_on=["make"])
      result = wf.run_workflow()   # {success, results, errors, execution_order, total_duration}

- a subclass that lists its steps (``get_steps()``, run one after the other) and runs each
  (``execute_step(step_name, step_config)``, returning the seed's result dict).

Nothing here runs a step: the steps become the orchestrator form
(:mod:`engine.spec.orchestrator`), then a Spec, planned and run by :func:`run_workflow` like
any spec, with the same state store, reruns, logs and run records (``<working_dir>/.mi``).

Where a callable can run: worker processes (the ``processes``, ``loky`` and ``dask``
backends) import a step function by its ``module:name``, so only functions defined at the top
level of an importable module can go there. Lambdas, nested functions, functions defined in a
script run as ``__main__`` and the subclass pattern's methods run in this process
(``threads``, the default for them, or ``serial``); asking for a process backend for them is
an error that says so.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import callables
from engine.errors import FunctionImportError, MiError, SpecError
from engine.model import Status
from engine.plan.workflow import load_data
from engine.registry import REGISTRY, function_step
from engine.running.orchestrate import run_workflow
from engine.running.reporter import Reporter
from engine.running.result import RunResult
from engine.spec.orchestrator import Translation, result_path, translate, workflow_results
from engine.spec.yamlload import Marks

IN_PROCESS_BACKENDS = ("threads", "serial")
_STATUS_WORDS = {Status.COMPLETED: "completed", Status.UP_TO_DATE: "completed",
                 Status.FAILED: "failed", Status.SKIPPED: "skipped",
                 Status.NOT_STARTED: "skipped", Status.INTERRUPTED: "failed"}


@dataclass(frozen=True)
class _StepDef:
    name: str
    function: Callable[..., Any] | str | None  # None: a config step without 'function'
    params: Mapping[str, Any]
    depends_on: tuple[str, ...]
    after: tuple[str, ...] = ()  # ordering only (the subclass pattern's chain)


class BaseWorkflowOrchestrator:
    """Build a workflow in Python and run it on the engine; see the module docstring.

    ``config``: MetaInformAnt's config mapping (its ``steps`` are loaded at run time, its
    ``name`` names the workflow). As in MetaInformAnt's guide, the first argument may instead
    be the workflow's name, with ``config`` third. ``working_dir``: where relative paths
    resolve and the state (``.mi``: records, logs, the steps' kept results) lives; default
    the current directory. ``backend``: default ``processes`` when every step function is
    importable by name, else ``threads``. ``jobs``: parallel steps (default: every core).
    """

    def __init__(self, config: Mapping[str, Any] | str | None = None,
                 working_dir: str | os.PathLike[str] | None = None,
                 config_mapping: Mapping[str, Any] | None = None, *, name: str | None = None,
                 backend: str | None = None, jobs: int | None = None, quiet: bool = True,
                 **run_settings: Any):
        if isinstance(config, str):  # the guide's (name, work_dir, config)
            name, config = config, config_mapping
        self.config: dict[str, Any] = dict(config or config_mapping or {})
        self.name = name or str(self.config.get("name") or type(self).__name__)
        self.working_dir = Path(working_dir or os.getcwd()).resolve()
        self.state_dir = self.working_dir / ".mi"
        self.backend, self.jobs, self.quiet = backend, jobs, quiet
        self.run_settings = run_settings
        self.steps: dict[str, _StepDef] = {}
        self._status: dict[str, str] = {}
        self.last_run: RunResult | None = None  # the engine's own account of the last run

    # -- building ---------------------------------------------------------------------------

    def add_step(self, name: str, function: Callable[..., Any] | str,
                 config: Mapping[str, Any] | None = None,
                 depends_on: Iterable[str] | None = ()) -> BaseWorkflowOrchestrator:
        """Add step ``name``: ``function`` (a callable, or ``"package.module:function"``,
        imported when the workflow runs) is called with ``config`` and each dependency's
        result as keyword arguments. Returns ``self``, for chaining."""
        if isinstance(depends_on, str):  # depends_on="make": one name, not four letters
            depends_on = [depends_on]
        self.steps[name] = _StepDef(name, function, dict(config or {}),
                                    tuple(depends_on or ()))
        self._status[name] = "pending"
        return self

    def get_steps(self) -> Sequence[str]:
        """The subclass pattern: step names, run one after the other by
        :meth:`execute_step`. The base class has none (steps come from :meth:`add_step`)."""
        return []

    def execute_step(self, step_name: str, step_config: Mapping[str, Any]) -> Any:
        """The subclass pattern: run ``step_name`` and return the seed's result dict
        (``{"status": "completed"|"failed"|"skipped", "output": ..., "errors": [...]}``)."""
        raise NotImplementedError(f"{type(self).__name__} lists step '{step_name}' in "
                                  "get_steps() but does not implement execute_step()")

    def get_step_status(self) -> dict[str, str]:
        """Each step's status: pending, completed, failed or skipped."""
        for name in self._listed_steps():
            self._status.setdefault(name, "pending")
        return dict(self._status)

    # -- running ----------------------------------------------------------------------------

    def run_workflow(self) -> dict[str, Any]:
        """Run every step on the engine; MetaInformAnt's result dict: ``success``,
        ``results`` (each completed or up-to-date step's return value), ``errors``,
        ``execution_order`` and ``total_duration`` (seconds). Problems with the workflow
        itself (unknown dependencies, cycles, functions that do not import) come back in
        ``errors`` with nothing run, as in MetaInformAnt."""
        started = time.monotonic()
        try:
            steps = self._all_steps()
            backend = self._backend(steps)
            translation, workflow = self._workflow(steps)
        except SpecError as exc:
            return _result(False, {}, [d.message for d in exc.diagnostics], [], started)
        except MiError as exc:
            return _result(False, {}, [str(exc) + (f" ({exc.hint})" if exc.hint else "")], [],
                           started)
        settings: dict[str, Any] = {"keep_going": True, **self.run_settings}
        run = run_workflow(workflow, backend=backend, jobs=self.jobs,
                           state_dir=str(self.state_dir), reporter=Reporter(quiet=self.quiet),
                           **settings)
        self.last_run = run
        return self._summarise(run, translation, started)

    def _listed_steps(self) -> list[str]:
        return [*self.steps, *(n for n in self.get_steps() if n not in self.steps)]

    def _all_steps(self) -> list[_StepDef]:
        """Added steps, then the config's ``steps`` (MetaInformAnt's order: added ones win),
        then the subclass's ``get_steps()`` as a chain."""
        found = dict(self.steps)
        for name, raw in (self.config.get("steps") or {}).items():
            if name not in found and isinstance(raw, Mapping):
                found[name] = _StepDef(name, raw.get("function"), raw.get("params") or {},
                                       tuple(raw.get("depends_on") or ()))
        previous: tuple[str, ...] = ()
        for name in self.get_steps():
            if name not in found:
                found[name] = _StepDef(name, self._method_step(name), self.config, (),
                                       previous)
            previous = (name,)
        for name in found:
            self._status.setdefault(name, "pending")
        return list(found.values())

    def _method_step(self, name: str) -> Callable[..., Any]:
        def run_one(**step_config: Any) -> Any:
            return self.execute_step(name, step_config)

        run_one.__wrapped__ = type(self).execute_step  # type: ignore[attr-defined]
        return run_one

    def _backend(self, steps: list[_StepDef]) -> str:
        local = [s.name for s in steps if callable(s.function) and not _importable(s.function)]
        if self.backend is None:
            return "threads" if local else "processes"
        if local and self.backend not in IN_PROCESS_BACKENDS:
            raise MiError(
                f"step{'s' if len(local) > 1 else ''} {', '.join(map(repr, local))}: the "
                f"'{self.backend}' backend runs steps in worker processes, which import a "
                "step function by name, and this one cannot be imported (a lambda, a nested "
                "function, a method, or a function of a script run as __main__)",
                "define it at the top level of an importable module, or use "
                "backend='threads' or 'serial', which run it in this process")
        return self.backend

    def _workflow(self, steps: list[_StepDef]) -> tuple[Translation, Any]:
        entries: dict[str, Any] = {}
        for step in steps:
            entry: dict[str, Any] = {"params": step.params}
            if step.function is not None:
                entry["function"] = self._reference(step)
            if step.depends_on:
                entry["depends_on"] = list(step.depends_on)
            if step.after:
                entry["after"] = list(step.after)
            entries[step.name] = entry
        results = str(self.state_dir / "results")
        where = str(self.working_dir / f"{_word(self.name)}.orchestrator")
        translation = translate({"name": self.name, "steps": entries}, Marks(path=where),
                                results, self.name)
        workflow = load_data(translation.data, translation.marks, where,
                             work_dir=str(self.working_dir))
        return translation, workflow

    def _reference(self, step: _StepDef) -> str:
        """The ``uses:`` name of a step's function; a callable that worker processes could
        not import is registered in this process under a name of this workflow's own."""
        function = step.function
        if isinstance(function, str) or not callable(function):
            return str(function)
        if _importable(function):
            return f"{function.__module__}:{function.__qualname__}"
        reference = f"mi_in_process.{_word(self.name, '_')}:{_word(step.name, '_')}"
        REGISTRY.add(function_step(reference, function))
        return reference

    def _summarise(self, run: RunResult, translation: Translation,
                   started: float) -> dict[str, Any]:
        workflow_name = str(translation.data["name"])
        results_dir = workflow_results(str(self.state_dir / "results"), workflow_name)
        results: dict[str, Any] = {}
        errors: list[str] = []
        failures = {f.id: f for f in run.failed}
        for name in translation.order:
            status = run.statuses.get(name, Status.NOT_STARTED)
            self._status[name] = _STATUS_WORDS.get(status, "skipped")
            if name in failures:
                errors.append(f"Step '{name}' failed: {failures[name].error}")
            elif status is Status.NOT_STARTED:
                errors.append(f"Step '{name}' skipped due to failed dependency")
            elif status in (Status.COMPLETED, Status.UP_TO_DATE):
                kept = Path(result_path(results_dir, name))
                if kept.exists():
                    results[name] = callables.read_result(kept)
        return _result(not errors, results, errors, list(translation.order), started)


def _result(success: bool, results: dict[str, Any], errors: list[str], order: list[str],
            started: float) -> dict[str, Any]:
    return {"success": success, "results": results, "errors": errors,
            "execution_order": order, "total_duration": time.monotonic() - started}


def _importable(function: Callable[..., Any]) -> bool:
    """Whether a worker process finds this very callable by ``module:qualname``."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return False
    try:
        return callables.resolve(f"{module}:{qualname}") is function
    except FunctionImportError:
        return False


def _word(text: str, joiner: str = "-") -> str:
    word = re.sub(r"\W+", joiner, text).strip(joiner) or "workflow"
    return f"_{word}" if word[0].isdigit() else word
