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

from engine import envvars
from engine.errors import Diagnostic, FunctionImportError, SpecError, UnknownStepError
from engine.plan.expand import ExpandOptions, expand
from engine.plan.plan import Plan, build_plan
from engine.plan.settings import Limits, step_key_problems
from engine.plan.stepchecks import port_diagnostics
from engine.spec.config import ResolvedConfig, resolve_config
from engine.spec.configkeys import accepted_unused, unknown_key_problems
from engine.spec.schema import schema_diagnostics
from engine.spec.spec import Spec, build_spec, is_orchestrator_form
from engine.spec.yamlload import Marks, load_yaml_file


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
    state_dir: str | os.PathLike[str] | None = None,
) -> Workflow:
    """Load, validate and configure a workflow. Raises :class:`SpecError` listing every problem.
    ``strict``: unknown config keys from ``--config`` files are errors, not warnings.
    A file in MetaInformAnt's orchestrator form (``steps:`` a mapping of ``function:`` and
    ``depends_on:``) is translated into a spec first (:mod:`engine.spec.orchestrator`); its
    steps keep their results in ``results/`` of ``state_dir`` (default: ``$MI_STATE_DIR`` or
    ``.mi``)."""
    path = str(spec)
    document = load_yaml_file(path)
    data, marks = document.data, document.marks
    if not isinstance(data, dict):
        raise SpecError([document.marks.diagnostic((), "a workflow spec must be a YAML mapping "
                                                   "with 'name' and 'steps'")])
    if is_orchestrator_form(data):
        from engine.spec.orchestrator import translate  # only for MetaInformAnt's form

        translation = translate(data, marks, results_dir(environ, state_dir), Path(path).stem)
        data, marks = translation.data, translation.marks
    return load_data(data, marks, path, config_files=config_files, overrides=overrides,
                     environ=environ, strict=strict)


def results_dir(environ: Mapping[str, str] | None = None,
                state_dir: str | os.PathLike[str] | None = None) -> str:
    """Where orchestrator-form steps keep their return values: ``results/`` in the state
    directory (``state_dir``, else ``$MI_STATE_DIR``, else ``.mi``)."""
    state = str(state_dir or envvars.read(envvars.STATE_DIR, environ) or ".mi")
    return os.path.join(state, "results")


def load_data(data: dict[str, Any], marks: Marks, path: str,
              config_files: Iterable[str | os.PathLike[str]] = (),
              overrides: Mapping[str, Any] | Iterable[str] = (),
              environ: Mapping[str, str] | None = None, strict: bool = False,
              work_dir: str | None = None) -> Workflow:
    """:func:`load` for data already read (with its line marks): validate, build the Spec,
    resolve the config layers. ``work_dir``: where relative paths resolve (default: here)."""
    problems = schema_diagnostics(data, marks)
    if problems:
        raise SpecError(problems)
    spec_dir = str(Path(path).resolve().parent)
    parsed = build_spec(data, marks, path, spec_dir)
    problems = [*_check_step_functions(parsed), *port_diagnostics(parsed)]
    config = resolve_config(parsed.config, marks, [str(f) for f in config_files],
                            overrides, environ, {"spec_dir": spec_dir})
    keys = unknown_key_problems(parsed, config, strict)
    problems += [*keys.errors, *step_key_problems(parsed, config)]
    if problems:
        raise SpecError(problems)
    return Workflow(spec=parsed, config=config, work_dir=work_dir or os.getcwd(),
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
            from engine.registry import get_step

            get_step(step.uses)
        except FunctionImportError as exc:
            problems.append(spec.marks.diagnostic(step.where("uses"),
                                                  f"step '{step.name}': {exc}", exc.hint))
            continue
        except UnknownStepError as exc:
            hint = (f"did you mean '{exc.suggestions[0]}'?" if exc.suggestions
                    else "list the registered steps with: mi-run steps")
            problems.append(spec.marks.diagnostic(step.where("uses"),
                                                  f"step '{step.name}' uses {exc}", hint))
    return problems
