"""The pipeline of stages from a spec file to a Plan (the Python API's entry point).

``load`` = load YAML -> validate (schema, step functions) -> Spec -> resolve config layers.
``Workflow.plan`` = expand templates and fan-outs -> Plan. Each stage returns frozen values
and reports every problem it finds as one :class:`SpecError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Diagnostic, SpecError, UnknownStepError
from engine.plan.expand import ExpandOptions, expand
from engine.plan.plan import Plan, build_plan
from engine.plan.settings import Limits, step_key_problems
from engine.plan.stepchecks import port_diagnostics
from engine.registry import get_step
from engine.spec.config import ResolvedConfig, resolve_config
from engine.spec.configkeys import accepted_unused, unknown_key_problems
from engine.spec.schema import schema_diagnostics
from engine.spec.spec import Spec, build_spec
from engine.spec.yamlload import load_yaml_file


@dataclass(frozen=True)
class Workflow:
    spec: Spec
    config: ResolvedConfig
    work_dir: str  # absolute: the directory mi-run started in; relative paths resolve here
    warnings: tuple[Diagnostic, ...] = ()  # e.g. unknown keys in a --config file
    # config keys the spec accepts without using, and why (listed by the dry-run)
    accepted_unused: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    def plan(self, table_ready: Callable[[str], bool] | None = None,
             max_threads: int | None = None,
             resources: Mapping[str, int] | None = None) -> Plan:
        """Expand and plan. ``table_ready(step)`` says whether a fan-out may read the tables
        that ``step`` writes now (it ran, or is up to date); otherwise such fan-outs stay
        pending. ``max_threads`` caps every step's threads (a run passes its ``-j``); a step
        needing more of a resource than ``resources`` (``--resources``) allows is an error."""
        limits = Limits(max_threads, dict(resources or {}))
        options = ExpandOptions(table_ready or _never, limits=limits)
        expansion = expand(self.spec, self.config, self.work_dir, options)
        if expansion.diagnostics:
            raise SpecError(expansion.diagnostics)
        plan, plan_problems = build_plan(self.spec, expansion, self.config)
        if plan_problems:
            raise SpecError(plan_problems)
        return plan


def load(
    spec: str | os.PathLike[str],
    config_files: Iterable[str | os.PathLike[str]] = (),
    overrides: Mapping[str, Any] | Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
) -> Workflow:
    """Load, validate and configure a workflow. Raises :class:`SpecError` listing every problem.
    ``strict``: unknown config keys from ``--config`` files are errors, not warnings."""
    path = str(spec)
    document = load_yaml_file(path)
    data = document.data
    if not isinstance(data, dict):
        raise SpecError([document.marks.diagnostic((), "a workflow spec must be a YAML mapping "
                                                   "with 'name' and 'steps'")])
    problems = schema_diagnostics(data, document.marks)
    if problems:
        raise SpecError(problems)
    spec_dir = str(Path(path).resolve().parent)
    parsed = build_spec(data, document.marks, path, spec_dir)
    problems = [*_check_step_functions(parsed), *port_diagnostics(parsed)]
    config = resolve_config(parsed.config, document.marks, [str(f) for f in config_files],
                            overrides, environ, {"spec_dir": spec_dir})
    keys = unknown_key_problems(parsed, config, strict)
    problems += [*keys.errors, *step_key_problems(parsed, config)]
    if problems:
        raise SpecError(problems)
    return Workflow(spec=parsed, config=config, work_dir=os.getcwd(),
                    warnings=(*config.warnings, *keys.warnings),
                    accepted_unused=accepted_unused(parsed, config))


def _never(step: str) -> bool:
    return False


def _check_step_functions(spec: Spec) -> list[Diagnostic]:
    problems = []
    for step in spec.steps:
        if step.uses is None:
            continue
        try:
            get_step(step.uses)
        except UnknownStepError as exc:
            hint = (f"did you mean '{exc.suggestions[0]}'?" if exc.suggestions
                    else "list the registered steps with: mi-run steps")
            problems.append(spec.marks.diagnostic(step.where("uses"),
                                                  f"step '{step.name}' uses {exc}", hint))
    return problems
