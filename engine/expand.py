"""Stage 4, expand: render templates and fan-outs into fully resolved step instances.

Steps are visited in the order their ``steps.X`` references and ``after:`` lists impose, so a
step's template can read the (already rendered) paths of the steps it names. A fan-out over a
table that another step writes cannot be expanded before that step runs: such a step, and
every step that refers to it, is *pending* and comes back to this stage later (the scheduler
re-plans when the table exists).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from engine.config import ResolvedConfig, parse_scalar
from engine.errors import Diagnostic
from engine.graph import order_groups
from engine.model import PathValue, StepInstance
from engine.spec import STEP_SETTINGS, Spec, StepSpec
from engine.tables import read_rows, select_rows
from engine.templates import TemplateError, compile_template, is_template, referenced_steps

# (step, settings, rendered params) -> validated params with defaults; reports problems itself
ParamsChecker = Callable[["StepSpec", "StepSettings", Mapping[str, Any]], Mapping[str, Any]]

TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0", ""}


@dataclass(frozen=True)
class StepSettings:
    """A step's settings after config overrides, before rendering."""

    enabled: Any
    params: Mapping[str, Any]
    threads: Any
    resources: Mapping[str, Any]
    retries: Any
    timeout: Any
    origins: Mapping[str, Any] = field(default_factory=dict)  # setting -> Origin of override


@dataclass(frozen=True)
class ExpandedStep:
    name: str
    enabled: bool
    instances: tuple[StepInstance, ...] = ()
    pending_on: tuple[str, ...] = ()  # steps whose completion this expansion waits for
    disabled_reason: str = ""
    fanned_out: bool = False


@dataclass
class Expansion:
    steps: dict[str, ExpandedStep]
    order: list[str]
    refs: dict[str, set[str]]  # step -> steps it references in templates
    refs_outside_inputs: dict[str, set[str]]
    diagnostics: list[Diagnostic]


class _Expander:
    def __init__(self, spec: Spec, config: ResolvedConfig, table_ready: Callable[[str], bool],
                 check_params: ParamsChecker | None = None):
        self.spec = spec
        self.check_params = check_params
        self.config = config
        self.table_ready = table_ready
        self.diags: list[Diagnostic] = []
        self.base = config.template_context()
        self.base["spec_dir"] = spec.spec_dir
        self.step_refs: dict[str, Any] = {}
        self.base["steps"] = self.step_refs
        # Relative paths resolve against the directory mi-run started in; executors (possibly
        # on other machines sharing the filesystem) get it as the instance's work_dir.
        self.cwd = os.getcwd()
        self.work_dir = self.cwd
        self._out_index: dict[str, str] = {}  # normalized output path -> step (producer_of)
        self._indexed: set[str] = set()

    # helpers ----------------------------------------------------------------------------
    def diag(self, step: StepSpec, keys: tuple, message: str, hint: str | None = None,
             setting: str | None = None, settings: StepSettings | None = None) -> None:
        origin = settings.origins.get(setting) if settings and setting else None
        if origin is not None:
            self.diags.append(origin.diagnostic(f"step '{step.name}': {message}", hint))
        else:
            self.diags.append(self.spec.marks.diagnostic(step.where(*keys),
                                                         f"step '{step.name}': {message}", hint))

    def settings_for(self, step: StepSpec) -> StepSettings:
        override = self.config.step_overrides.get(step.name)
        if override is None:
            override = {}
        elif not isinstance(override, Mapping):  # `steps.quant: false` is short for enabled
            override = {"enabled": override}
        params = dict(step.params)
        origins: dict[str, Any] = {}
        values = {k: getattr(step, k) for k in STEP_SETTINGS if k != "params"}
        for key, value in override.items():
            origin = self.config.origin(("steps", step.name, key))
            if key in ("params", "config") and isinstance(value, Mapping):
                params.update(value)
                origins.update({f"params.{k}": self.config.origin(("steps", step.name, key, k))
                                for k in value})
            elif key in values:
                values[key] = value
                origins[key] = origin
            else:  # amalgkit-style configs list a tool's flags directly under the step
                params[key] = value
                origins[f"params.{key}"] = origin
        return StepSettings(params=params, origins=origins, **values)

    # main -------------------------------------------------------------------------------
    def run(self) -> Expansion:
        spec = self.spec
        names = spec.step_names
        seen: set[str] = set()
        for step in spec.steps:
            if step.name in seen:
                self.diag(step, ("name",), f"duplicate step name '{step.name}'",
                          "step names must be unique")
            seen.add(step.name)
        self._check_overrides(names)
        refs: dict[str, set[str]] = {}
        outside: dict[str, set[str]] = {}
        needs: dict[str, set[str]] = {}
        for step in spec.steps:
            found = referenced_steps(step.template_sources())
            for missing in sorted(found - seen):
                close = difflib.get_close_matches(missing, names, n=1)
                self.diag(step, (), f"refers to unknown step '{missing}'",
                          f"did you mean '{close[0]}'?" if close else None)
            for i, dep in enumerate(step.after):
                if dep not in seen:
                    close = difflib.get_close_matches(dep, names, n=1)
                    self.diag(step, ("after", i), f"'after' names unknown step '{dep}'",
                              f"did you mean '{close[0]}'?" if close else None)
            refs[step.name] = found & seen - {step.name}
            non_input = [step.run, step.foreach, step.params, step.enabled, step.threads,
                         step.outputs, step.resources]
            outside[step.name] = referenced_steps(_strings(non_input)) & seen - {step.name}
            needs[step.name] = refs[step.name] | (set(step.after) & seen)
        order, cycle = order_groups(names, needs)
        if cycle:
            first = spec.step(cycle[0])
            self.diag(first, (), "steps depend on each other in a cycle: " + " -> ".join(cycle),
                      "remove one of the references or 'after' entries")
            return Expansion({}, [], refs, outside, self.diags)
        expanded: dict[str, ExpandedStep] = {}
        for name in order:
            step = spec.step(name)
            expanded[name] = self.expand_step(step, refs[name], expanded)
        return Expansion(expanded, order, refs, outside, self.diags)

    def _check_overrides(self, names: list[str]) -> None:
        for name in self.config.step_overrides:
            if name in names:
                continue
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"steps are: {', '.join(names)}"
            origin = self.config.origin(("steps", name))
            message = f"config 'steps.{name}' names no step of workflow '{self.spec.name}'"
            self.diags.append(origin.diagnostic(message, hint) if origin
                              else Diagnostic(message, "<config>", hint=hint))

    def expand_step(self, step: StepSpec, refs: set[str], done: Mapping[str, ExpandedStep]) -> ExpandedStep:
        settings = self.settings_for(step)
        enabled = self.render_bool(step, settings)
        waiting = sorted({p for r in refs if r in done for p in (done[r].pending_on or ())}
                         | {r for r in refs if r in done and done[r].pending_on})
        if waiting:
            self.step_refs[step.name] = _PendingRefs(step.name)
            return ExpandedStep(step.name, enabled, pending_on=tuple(waiting),
                                fanned_out=step.foreach is not None)
        items, labels, pending_on = self.items(step, enabled, done)
        if pending_on:
            self.step_refs[step.name] = _PendingRefs(step.name)
            return ExpandedStep(step.name, enabled, pending_on=pending_on, fanned_out=True)
        instances = self.instances(step, settings, items, labels)
        self.publish(step, instances, fanned_out=step.foreach is not None)
        reason = "" if enabled else self.disabled_reason(step, settings)
        return ExpandedStep(step.name, enabled, tuple(instances), disabled_reason=reason,
                            fanned_out=step.foreach is not None)

    def disabled_reason(self, step: StepSpec, settings: StepSettings) -> str:
        origin = settings.origins.get("enabled")
        if is_template(settings.enabled):
            where = f" ({origin})" if origin else ""
            return f"enabled: '{settings.enabled}' is false{where}"
        return f"enabled: false ({origin})" if origin else "enabled: false in the spec"

    def render_bool(self, step: StepSpec, settings: StepSettings) -> bool:
        value = settings.enabled
        if is_template(value):
            try:
                value = compile_template(value).render(self.base)
            except TemplateError as exc:
                self.diag(step, ("enabled",), f"in 'enabled': {exc}", setting="enabled",
                          settings=settings)
                return True
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        self.diag(step, ("enabled",), f"'enabled' must be true or false, got {value!r}",
                  setting="enabled", settings=settings)
        return True

    # fan-out ----------------------------------------------------------------------------
    def items(self, step: StepSpec, enabled: bool, done: Mapping[str, ExpandedStep]):
        spec_foreach = step.foreach
        if spec_foreach is None:
            return [None], [None], ()
        if isinstance(spec_foreach, Mapping):
            return self.table_items(step, enabled, done)
        value = spec_foreach
        if isinstance(value, str):
            try:
                value = compile_template(value).render(self.base)
            except TemplateError as exc:
                self.diag(step, ("foreach",), f"in 'foreach': {exc}")
                return [], [], ()
            if isinstance(value, str):
                parsed = parse_scalar(value)
                value = parsed if isinstance(parsed, list) else value
        if isinstance(value, Mapping) or not isinstance(value, list | tuple):
            self.diag(step, ("foreach",), f"'foreach' must yield a list, got {type(value).__name__}"
                      f" {_short(value)}", "give a YAML list, a template rendering to a list, "
                      "or {table: PATH, column: COL}")
            return [], [], ()
        labels = [_label(v, i) for i, v in enumerate(value)]
        return list(value), labels, ()

    def table_items(self, step: StepSpec, enabled: bool, done: Mapping[str, ExpandedStep]):
        spec_foreach = step.foreach
        try:
            table = compile_template(str(spec_foreach["table"])).render(self.base)
        except TemplateError as exc:
            self.diag(step, ("foreach", "table"), f"in 'foreach.table': {exc}")
            return [], [], ()
        if isinstance(table, list | tuple) and len(table) == 1:
            table = table[0]
        producer = self.producer_of(str(table), done)
        if producer is not None and not self.table_ready(producer):
            return [], [], (producer,)
        try:
            rows = read_rows(str(table))
        except FileNotFoundError:
            if enabled:
                self.diag(step, ("foreach", "table"), f"foreach table '{table}' does not exist",
                          "if another step writes it, refer to it as steps.<step>.outputs.<name>")
            return [], [], ()
        except (OSError, UnicodeDecodeError) as exc:
            self.diag(step, ("foreach", "table"), f"cannot read foreach table '{table}': {exc}")
            return [], [], ()
        header = set(rows[0]) if rows else set()
        where = spec_foreach.get("where") or {}
        for col in where:
            if rows and col not in header:
                close = difflib.get_close_matches(str(col), sorted(header), n=1)
                self.diag(step, ("foreach", "where", col), f"table '{table}' has no column '{col}'",
                          f"did you mean '{close[0]}'?" if close else
                          f"columns: {', '.join(sorted(header))}")
                return [], [], ()
        rows = select_rows(rows, where)
        key, column = spec_foreach.get("key"), spec_foreach.get("column")
        for what, col in (("key", key), ("column", column)):
            if col is not None and rows and col not in header:
                close = difflib.get_close_matches(col, sorted(header), n=1)
                self.diag(step, ("foreach", what), f"table '{table}' has no column '{col}'",
                          f"did you mean '{close[0]}'?" if close else
                          f"columns: {', '.join(sorted(header))}")
                return [], [], ()
        if key is not None:
            return rows, [r[key] for r in rows], ()
        return [r[column] for r in rows], [r[column] for r in rows], ()

    def producer_of(self, path: str, done: Mapping[str, ExpandedStep]) -> str | None:
        """The step (expanded so far) that writes ``path``; the index grows step by step."""
        for name, expanded in done.items():
            if name in self._indexed:
                continue
            self._indexed.add(name)
            for instance in expanded.instances:
                for out in instance.output_paths():
                    self._out_index.setdefault(normalize(out, self.cwd), name)
        return self._out_index.get(normalize(path, self.cwd))

    # instances --------------------------------------------------------------------------
    def instances(self, step: StepSpec, settings: StepSettings, items: list, labels: list):
        result: list[StepInstance] = []
        seen_labels: dict[str, int] = {}
        params_templated = _has_template(settings.params)
        shared_params = None if params_templated else self._checked(step, settings, settings.params)
        fan = step.foreach is not None
        try:
            command = compile_template(step.run, shell=True) if step.run is not None else None
        except TemplateError as exc:
            self.diag(step, ("run",), f"in 'run': {exc}")
            return result
        try:
            render_inputs = _path_renderer(step.inputs, "inputs")
            render_outputs = _path_renderer(step.outputs, "outputs")
        except _CompileProblem as problem:
            self.diag(step, (problem.which, problem.key), f"in '{problem.which}.{problem.key}': "
                      f"{problem.error}")
            return result
        try:  # settings without templates are computed once, not once per instance
            static = self._static_settings(step, settings)
        except _Failed:
            return result
        for index, (item, label) in enumerate(zip(items, labels)):
            ctx = dict(self.base)
            if fan:
                ctx["item"] = item
                ctx["index"] = index
                label = str(label)
                if label in seen_labels:
                    self.diag(step, ("foreach",), f"fan-out yields the instance label '{label}' "
                              f"twice (items {seen_labels[label] + 1} and {index + 1})",
                              "fan-out items must be unique")
                    continue
                seen_labels[label] = index
            try:
                inputs = render_inputs(ctx)
                outputs = render_outputs(ctx)
                params = (shared_params if shared_params is not None else self._checked(
                    step, settings, self._render(step, "params", settings.params, ctx)))
                threads, resources, retries, timeout = static or self._dynamic_settings(
                    step, settings, ctx)
            except TemplateError as exc:
                self.diag(step, ("inputs",), f"in a path: {exc}")
                if not fan:
                    break
                continue
            except _TypeProblem as problem:
                self.diag(step, (problem.which,), str(problem))
                if not fan:
                    break
                continue
            except _Failed:
                if not fan:
                    break
                continue
            rendered_command = None
            if command is not None:
                run_ctx = dict(ctx, inputs=inputs, outputs=outputs, params=params,
                               threads=threads, resources=resources)
                try:
                    rendered_command = command.render(run_ctx)
                except TemplateError as exc:
                    self.diag(step, ("run",), f"in 'run': {exc}")
                    if not fan:
                        break
                    continue
            result.append(StepInstance(
                id=f"{step.name}[{label}]" if fan else step.name,
                step=step.name, uses=step.uses, command=rendered_command,
                params=params, inputs=inputs, outputs=outputs, threads=threads,
                resources=resources, retries=retries, timeout=timeout,
                item=item if fan else None, index=index if fan else None,
                work_dir=self.work_dir,
            ))
        return result

    def _static_settings(self, step: StepSpec, settings: StepSettings):
        if _has_template([settings.threads, settings.resources, settings.retries, settings.timeout]):
            return None
        return self._dynamic_settings(step, settings, self.base)

    def _dynamic_settings(self, step: StepSpec, settings: StepSettings, ctx: Mapping[str, Any]):
        threads = self._number(step, settings, "threads", ctx, int, minimum=1)
        resources = {k: self._number(step, settings, "resources", ctx, int, value=v, minimum=0)
                     for k, v in settings.resources.items()}
        retries = self._number(step, settings, "retries", ctx, int, minimum=0)
        timeout = (None if settings.timeout is None
                   else self._number(step, settings, "timeout", ctx, float, minimum=0))
        return threads, resources, retries, timeout

    def _checked(self, step: StepSpec, settings: StepSettings, params: Mapping[str, Any]):
        if self.check_params is None:
            return params
        return self.check_params(step, settings, params)

    def _render(self, step: StepSpec, key: str, value: Any, ctx: Mapping[str, Any]) -> Any:
        try:
            return _render_tree(value, ctx)
        except TemplateError as exc:
            self.diag(step, (key,), f"in '{key}': {exc}")
            raise _Failed from None

    def _number(self, step, settings, key, ctx, kind, value=None, minimum=0):
        raw = getattr(settings, key) if value is None else value
        try:
            rendered = compile_template(raw).render(ctx) if is_template(raw) else raw
            number = kind(rendered)
            if isinstance(rendered, bool) or number < minimum:
                raise ValueError
            return number
        except (TemplateError, TypeError, ValueError):
            self.diag(step, (key,), f"'{key}' must be a number >= {minimum}, got {raw!r}",
                      setting=key, settings=settings)
            raise _Failed from None

    def publish(self, step: StepSpec, instances: list[StepInstance], fanned_out: bool) -> None:
        """Make this step's paths visible to later templates as steps.<name>.inputs/outputs."""
        if not fanned_out:
            only = instances[0] if instances else None
            self.step_refs[step.name] = {
                "inputs": _as_template_values(only.inputs) if only else {},
                "outputs": _as_template_values(only.outputs) if only else {},
            }
            return
        gathered: dict[str, dict[str, list[str]]] = {"inputs": {}, "outputs": {}}
        for which in ("inputs", "outputs"):
            for key in getattr(step, which):
                flat: list[str] = []
                for instance in instances:
                    value = getattr(instance, which).get(key, ())
                    flat.extend([value] if isinstance(value, str) else value)
                gathered[which][key] = flat
        self.step_refs[step.name] = gathered


class _Failed(Exception):
    pass


class _PendingRefs(dict):
    """Stands in for a pending step's paths; dependents of it are pending themselves."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name


def _strings(values: list[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            found.extend(_strings(list(value.values())))
        elif isinstance(value, list | tuple):
            found.extend(_strings(list(value)))
    return found


def _has_template(value: Any) -> bool:
    return bool(_strings([value]) and any(is_template(s) for s in _strings([value])))


def _render_tree(value: Any, ctx: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        return compile_template(value).render(ctx)
    if isinstance(value, Mapping):
        return {k: _render_tree(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_tree(v, ctx) for v in value]
    return value


class _CompileProblem(Exception):
    def __init__(self, which: str, key: str, error: Exception):
        super().__init__(str(error))
        self.which, self.key, self.error = which, key, error


PathRenderer = Callable[[Mapping[str, Any]], dict[str, PathValue]]


def _path_renderer(spec_paths: Mapping[str, Any], which: str) -> PathRenderer:
    """Compile a step's inputs/outputs once; the returned function renders one instance."""
    plan: list[tuple[str, Any, Any]] = []  # (key, compiled template | None, raw value)
    for key, value in spec_paths.items():
        try:
            compiled = compile_template(value) if is_template(value) else None
            for part in value if isinstance(value, list) else []:
                if is_template(part):
                    compile_template(part)
        except TemplateError as exc:
            raise _CompileProblem(which, key, exc) from None
        plan.append((key, compiled, value))

    def render(ctx: Mapping[str, Any]) -> dict[str, PathValue]:
        result: dict[str, PathValue] = {}
        for key, compiled, raw in plan:
            value = compiled.render(ctx) if compiled is not None else _render_tree(raw, ctx)
            if type(value) is str:
                if value:  # an empty path means "not given" (optional inputs)
                    result[key] = value
            elif value is None:
                continue
            else:
                result[key] = _one_path(key, value)
        return result

    return render


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


class _TypeProblem(_Failed):
    def __init__(self, key: str, value: Any, which: str = "inputs"):
        self.which = which
        super().__init__(f"'{key}' must be a path or a list of paths, got {value!r}")


def _as_template_values(mapping: Mapping[str, PathValue]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str) else list(v)) for k, v in mapping.items()}


def _label(value: Any, index: int) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return str(index)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def normalize(path: str, cwd: str) -> str:
    """The key two paths are compared by: absolute, normalised, relative to ``cwd``."""
    if path[:1] not in ("/", ".", "") and "/." not in path and "//" not in path:
        return cwd + "/" + path  # already normal: skip normpath (hot at 100k instances)
    return os.path.normpath(os.path.join(cwd, path))


def expand(spec: Spec, config: ResolvedConfig, table_ready: Callable[[str], bool] | None = None,
           check_params: ParamsChecker | None = None) -> Expansion:
    return _Expander(spec, config, table_ready or (lambda _step: False), check_params).run()
