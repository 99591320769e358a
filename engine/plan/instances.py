"""Rendering one step into its instances: paths, params, numbers and the shell command of each
fan-out item, and publishing the step's paths for the templates of later steps."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from engine.model import PathValue, StepInstance
from engine.plan.fanout import FanOut
from engine.plan.problems import Problems
from engine.plan.settings import (
    BadSetting,
    Limits,
    Numbers,
    StepSettings,
    has_template,
    render_numbers,
    static_numbers,
)
from engine.plan.stepchecks import StepChecks
from engine.spec.spec import StepSpec
from engine.spec.templates import (
    Gathered,
    Template,
    TemplateError,
    compile_template,
    is_template,
    render_value,
)

if TYPE_CHECKING:
    from engine.registry import Port

PathRenderer = Callable[[Mapping[str, Any]], dict[str, PathValue]]


@dataclass(frozen=True)
class StepTemplates:
    """A step compiled once; :func:`render_instances` renders its fan-out items."""

    step: StepSpec
    settings: StepSettings
    command: Template | None
    inputs: PathRenderer
    outputs: PathRenderer
    shared_params: Mapping[str, Any] | None  # params without templates: checked once
    shared_numbers: Numbers | None  # numbers without templates: rendered once
    checks: StepChecks | None  # what the registered step declares (None: not checked)
    suffixed: tuple[Port, ...]  # its outputs that may only have some suffixes
    limits: Limits
    work_dir: str

    @property
    def command_uses_numbers(self) -> bool:
        """Whether the command mentions threads or resources, which are never rerun triggers
        (so its signature is rendered a second time with them masked)."""
        source = self.command.source if self.command is not None else ""
        return "threads" in source or "resources" in source


# StepInstance's fields in order: render_instances passes them positionally.
INSTANCE_FIELDS = ("id", "step", "uses", "command", "params", "inputs", "outputs", "threads",
                   "resources", "retries", "timeout", "item", "index", "work_dir",
                   "signature_command")


class _Skip(Exception):
    """This item produced a reported problem; the step goes on with the next item."""


def compile_step(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                 problems: Problems, checks: StepChecks | None, limits: Limits,
                 work_dir: str) -> StepTemplates | None:
    """Compile the step's templates; None (problems reported) when one does not compile."""
    try:
        command = compile_template(step.run, shell=True) if step.run is not None else None
    except TemplateError as exc:
        problems.template(step, ("run",), exc)
        return None
    try:
        inputs = _path_renderer(step.inputs, "inputs")
        outputs = _path_renderer(step.outputs, "outputs")
    except _CompileProblem as problem:
        problems.template(step, (problem.which, problem.key), problem.error)
        return None
    shared = None
    if not has_template(settings.params):
        shared = (settings.params if checks is None
                  else checks.params(step, settings, settings.params))
    try:
        numbers = static_numbers(step, settings, context, problems, limits)
    except BadSetting:
        return None
    suffixed = checks.suffixed_outputs(step) if checks is not None else ()
    return StepTemplates(step, settings, command, inputs, outputs, shared, numbers, checks,
                         suffixed, limits, work_dir)


def render_instances(compiled: StepTemplates, fan: FanOut, context: Mapping[str, Any],
                     problems: Problems) -> list[StepInstance]:
    """One StepInstance per fan-out item (one for a plain step). A problem in one instance is
    reported and that instance skipped; a plain step's problem ends the step."""
    # One loop body, no helper call per instance: at 100,000 instances a call costs ~2 %.
    step, settings = compiled.step, compiled.settings
    fanned = step.foreach is not None
    masked = compiled.command_uses_numbers
    direct_command = compiled.command.direct if compiled.command is not None else None
    if direct_command is None:
        direct_command = _not_direct
    result: list[StepInstance] = []
    seen_labels: dict[str, int] = {}
    labels = [str(label) for label in fan.labels] if fanned else fan.labels
    check_labels = fanned and len(set(labels)) < len(labels)  # in C; per item only if needed
    has_inputs = bool(step.inputs)
    if fanned:
        problems.instances(step, len(fan.items))
    for index, (item, label) in enumerate(zip(fan.items, labels)):
        ctx = dict(context)
        if fanned:
            ctx["item"] = item
            ctx["index"] = index
            if check_labels:
                if label in seen_labels:
                    problems.at_step(step, ("foreach",), "fan-out yields the instance label "
                                     f"'{label}' twice (items {seen_labels[label] + 1} and "
                                     f"{index + 1})", "fan-out items must be unique")
                    continue
                seen_labels[label] = index
        try:
            inputs = compiled.inputs(ctx) if has_inputs else {}
            outputs = compiled.outputs(ctx)
            instance = f"{step.name}[{label}]" if fanned else None
            if compiled.suffixed and compiled.checks is not None:
                compiled.checks.output_suffixes(step, compiled.suffixed, outputs, instance)
            params = compiled.shared_params
            if params is None:
                params = _rendered_params(compiled, ctx, problems, instance)
            numbers = compiled.shared_numbers or render_numbers(step, settings, ctx, problems,
                                                                compiled.limits, instance)
            command = signature_command = None
            if compiled.command is not None:
                # ctx is this instance's own copy and every other template has been rendered:
                # complete it for the command instead of copying it again
                run_ctx = ctx
                run_ctx.update(inputs=inputs, outputs=outputs, params=params,
                               threads=numbers.threads, resources=numbers.resources)
                try:
                    command = direct_command(run_ctx)
                except Exception:  # not a plain lookup, or an error to report precisely
                    command = _rendered_command(compiled.command, run_ctx, step, problems)
                if masked:
                    signature_command = _masked_command(compiled.command, run_ctx, numbers,
                                                        command)
        except _CompileProblem as problem:
            problems.template(step, (problem.which, problem.key), problem.error)
        except _TypeProblem as problem:
            problems.at_step(step, (problem.which,), str(problem))
        except (BadSetting, _Skip):
            pass
        else:
            # Positional (in INSTANCE_FIELDS order, checked by a test): at 100,000 instances
            # matching 15 keyword arguments costs ~30 ms.
            result.append(StepInstance(
                instance or step.name, step.name, step.uses, command, params, inputs, outputs,
                numbers.threads, numbers.resources, numbers.retries, numbers.timeout,
                item if fanned else None, index if fanned else None, compiled.work_dir,
                signature_command,
            ))
            continue
        if not fanned:
            break
    return result


def _not_direct(ctx: Mapping[str, Any]) -> str:
    raise LookupError("not a plain-lookup template")


def _masked_command(command: Template, run_ctx: dict[str, Any], numbers: Numbers,
                    rendered_command: str) -> str | None:
    """The command with threads and resources as placeholders: what a rerun compares (None
    when that is the command itself)."""
    masked = dict(run_ctx, threads="<threads>",
                  resources={name: f"<resources.{name}>" for name in numbers.resources})
    try:
        rendered: str = command.render(masked)
    except Exception:  # arithmetic on threads, say: compare the command as rendered
        return None
    return rendered if rendered != rendered_command else None


def _rendered_command(command: Template, run_ctx: Mapping[str, Any], step: StepSpec,
                      problems: Problems) -> str:
    try:
        rendered: str = command.render(run_ctx)
    except TemplateError as exc:
        problems.template(step, ("run",), exc)
        raise _Skip from None
    return rendered


def _rendered_params(compiled: StepTemplates, ctx: Mapping[str, Any], problems: Problems,
                     instance: str | None) -> Mapping[str, Any]:
    step, settings = compiled.step, compiled.settings
    try:
        params = render_value(settings.params, ctx)
    except TemplateError as exc:
        problems.template(step, ("params",), exc)
        raise _Skip from None
    if compiled.checks is None:
        return params  # type: ignore[no-any-return]
    return compiled.checks.params(step, settings, params, instance)


def published_paths(step: StepSpec, instances: list[StepInstance]) -> dict[str, Any]:
    """This step's paths as later templates see them: ``steps.<name>.inputs/outputs``; a
    fan-out's paths are gathered into one list per key."""
    if step.foreach is None:
        only = instances[0] if instances else None
        return {"inputs": _as_template_values(only.inputs) if only else {},
                "outputs": _as_template_values(only.outputs) if only else {}}
    gathered: dict[str, dict[str, Gathered]] = {"inputs": {}, "outputs": {}}
    for which in ("inputs", "outputs"):
        for key in getattr(step, which):
            flat: list[str] = []
            origins: list[Any] = []
            for instance in instances:  # once per instance: no list built for one path
                value = getattr(instance, which).get(key, ())
                if isinstance(value, str):
                    flat.append(value)
                    origins.append(instance.item)
                else:
                    flat.extend(value)
                    origins.extend([instance.item] * len(value))
            gathered[which][key] = Gathered(flat, origins)
    return gathered


class _CompileProblem(Exception):
    def __init__(self, which: str, key: str, error: TemplateError):
        super().__init__(str(error))
        self.which, self.key, self.error = which, key, error


def _path_renderer(spec_paths: Mapping[str, Any], which: str) -> PathRenderer:
    """Compile a step's inputs/outputs once; the returned function renders one instance."""
    compiled_paths: list[tuple[str, Template | None, Any]] = []  # (key, template, raw value)
    for key, value in spec_paths.items():
        try:
            compiled = compile_template(value) if is_template(value) else None
            for part in value if isinstance(value, list) else []:
                if is_template(part):
                    compile_template(part)
        except TemplateError as exc:
            raise _CompileProblem(which, key, exc) from None
        compiled_paths.append((key, compiled, value))

    def render(ctx: Mapping[str, Any]) -> dict[str, PathValue]:
        """The general path: every kind of value, the precise error of a bad one."""
        result: dict[str, PathValue] = {}
        for key, compiled, raw in compiled_paths:
            try:
                value = compiled.render(ctx) if compiled is not None else render_value(raw, ctx)
            except TemplateError as exc:
                raise _CompileProblem(which, key, exc) from None
            if type(value) is str:
                if value:  # an empty path means "not given" (optional inputs)
                    result[key] = value
            elif value is not None:
                result[key] = _one_path(key, value)
        return result

    direct = [(key, compiled.direct) for key, compiled, _raw in compiled_paths
              if compiled is not None and compiled.direct is not None]
    if len(direct) < len(compiled_paths):
        return render

    def render_direct(ctx: Mapping[str, Any]) -> dict[str, PathValue]:
        """Every path a plain lookup: their compiled renderers in one loop; anything unusual
        (a missing name, a value that is not a path) is left to the general path."""
        result: dict[str, PathValue] = {}
        try:
            for key, rendered in direct:
                value = rendered(ctx)
                if type(value) is str:
                    if value:
                        result[key] = value
                elif value is not None:
                    result[key] = _one_path(key, value)
        except Exception:
            return render(ctx)
        return result

    return render_direct


def _one_path(key: str, value: Any) -> PathValue:
    if isinstance(value, str | PurePath):
        return str(value)
    if isinstance(value, list | tuple):
        flat: list[str] = []
        for v in value:
            if isinstance(v, list | tuple):
                flat.extend(str(x) for x in v)
            elif isinstance(v, str | PurePath):
                flat.append(str(v))
            else:
                raise _TypeProblem(key, v)
        return tuple(flat)
    raise _TypeProblem(key, value)


class _TypeProblem(Exception):
    def __init__(self, key: str, value: Any, which: str = "inputs"):
        self.which = which
        super().__init__(f"'{key}' must be a path or a list of paths, got {value!r}")


def _as_template_values(mapping: Mapping[str, PathValue]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str) else list(v)) for k, v in mapping.items()}


def normalize(path: str, cwd: str) -> str:
    """The key two paths are compared by: absolute, normalised, relative to ``cwd``."""
    if path[:1] not in ("/", ".", "") and "/." not in path and "//" not in path:
        return cwd + "/" + path  # already normal: skip normpath (hot at 100k instances)
    return os.path.normpath(os.path.join(cwd, path))
