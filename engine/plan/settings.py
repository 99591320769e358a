"""A step's settings (``enabled``, ``force``, ``params``, ``threads``, ``resources``, ``retries``,
``timeout``) after the config's ``steps.<name>`` overrides, and their rendered values."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Diagnostic, UnknownStepError
from engine.plan.problems import Problems
from engine.plan.refs import strings_in
from engine.spec.config import Origin, ResolvedConfig
from engine.spec.spec import STEP_SETTINGS, Spec, StepSpec
from engine.spec.templates import TemplateError, compile_template, is_template

TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0", ""}


@dataclass(frozen=True)
class StepSettings:
    """A step's settings after config overrides, before rendering."""

    enabled: Any
    force: Any
    params: Mapping[str, Any]
    threads: Any
    resources: Mapping[str, Any]
    retries: Any
    timeout: Any
    origins: Mapping[str, Origin | None] = field(default_factory=dict)  # setting -> override

    def origin(self, setting: str) -> Origin | None:
        return self.origins.get(setting)


@dataclass(frozen=True)
class Numbers:
    """The rendered numeric settings of one instance."""

    threads: int
    resources: Mapping[str, int]
    retries: int
    timeout: float | None


@dataclass(frozen=True)
class Limits:
    """What a run allows one instance: ``threads`` (its ``-j``: a step's threads are capped
    to it, as Snakemake does) and named ``resources`` (its ``--resources``: a step needing more
    can never start, a plan-time error). None and {}: no limit (a plan outside a run)."""

    threads: int | None = None
    resources: Mapping[str, int] = field(default_factory=dict)


class BadSetting(Exception):
    """A setting could not be rendered; its problem has been reported."""


def settings_for(step: StepSpec, config: ResolvedConfig,
                 accepted: Callable[[str], str | None] = lambda key: None,
                 aliases: Mapping[str, str] | None = None) -> StepSettings:
    """``accepted(dotted key)``: keys the spec accepts without using are not params;
    ``aliases``: per-step config keys that mean a setting (the spec's ``setting_aliases``)."""
    override: Any = config.step_overrides.get(step.name)
    if override is None:
        override = {}
    elif not isinstance(override, Mapping):  # `steps.quant: false` is short for enabled
        override = {"enabled": override}
    params = dict(step.params)
    origins: dict[str, Origin | None] = {}
    values = {k: getattr(step, k) for k in STEP_SETTINGS if k != "params"}
    for key, value in override.items():
        origin = config.origin(("steps", step.name, key))
        if key in (aliases or {}):
            if key in _param_names(step):  # the tool takes it too (amalgkit getfastq --redo)
                params[key] = value
                origins[f"params.{key}"] = origin
            key = (aliases or {})[key]
        if key not in values and key not in ("params", "config") and \
                accepted(f"steps.{step.name}.{key}") is not None:
            continue
        if key in ("params", "config") and isinstance(value, Mapping):
            params.update(value)
            origins.update({f"params.{k}": config.origin(("steps", step.name, key, k))
                            for k in value})
        elif key in values:
            values[key] = value
            origins[key] = origin
        elif not _misspelt_setting(step, key):
            # amalgkit-style configs list a tool's flags directly under the step
            params[key] = value
            origins[f"params.{key}"] = origin
    for key, value in step.params.items():
        if f"params.{key}" not in origins and (origin := _config_origin(value, config)):
            origins[f"params.{key}"] = origin
    return StepSettings(params=params, origins=origins, **values)


_ONE_CONFIG_VALUE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


def _config_origin(value: Any, config: ResolvedConfig) -> Origin | None:
    """Where a user set the config value a param template is exactly (``"{{ qc.hwe_pval }}"``):
    a bad value is the user's to fix in their file, so its error points there, not at the
    spec (None: the template is more than one config value, or the spec's own value)."""
    match = _ONE_CONFIG_VALUE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    origin = config.origins.get(tuple(match.group(1).split(".")))
    return origin if origin is not None and origin.layer != "spec" else None


def override_problems(spec: Spec, config: ResolvedConfig) -> list[Diagnostic]:
    """``steps.<name>`` overrides that name no step of the spec."""
    names = spec.step_names
    found = []
    for name in config.step_overrides:
        if name in names or spec.accepted(f"steps.{name}") is not None:
            continue
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"steps are: {', '.join(names)}"
        origin = config.origin(("steps", name))
        message = f"config 'steps.{name}' names no step of workflow '{spec.name}'"
        found.append(origin.diagnostic(message, hint) if origin
                     else Diagnostic(message, "<config>", hint=hint))
    return found


def step_key_problems(spec: Spec, config: ResolvedConfig) -> list[Diagnostic]:
    """``steps.<name>.<key>`` that is neither a setting nor a param of that step (a shell
    step's params are those its spec declares; a registered step's, its schema's)."""
    found = []
    for name, override in config.step_overrides.items():
        if name not in spec.step_names or not isinstance(override, Mapping):
            continue
        step = spec.step(name)
        for key in override:
            if key in STEP_SETTINGS or key == "config" or key in spec.setting_aliases \
                    or not _misspelt_setting(step, key) \
                    or spec.accepted(f"steps.{name}.{key}") is not None:
                continue
            choices = [*STEP_SETTINGS, *sorted(_param_names(step))]
            close = difflib.get_close_matches(str(key), choices, n=1)
            message = f"config 'steps.{name}.{key}': step '{name}' has no setting or param '{key}'"
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"settings: {', '.join(STEP_SETTINGS)}")
            origin = config.origin(("steps", name, key))
            found.append(origin.diagnostic(message, hint) if origin
                         else Diagnostic(message, "<config>", hint=hint))
    return found


def _misspelt_setting(step: StepSpec, key: Any) -> bool:
    """Is ``steps.<step>.<key>`` a mistake rather than a param? For a shell step, any key it
    does not declare as a param; for a registered step, a key that is no param of its schema
    and looks like a setting (``enabld``) - other unknown keys are left to the params check."""
    if key in step.params:
        return False
    if step.uses is None:
        return True
    if key in _param_names(step):
        return False
    return bool(difflib.get_close_matches(str(key), STEP_SETTINGS, n=1, cutoff=0.75))


def _param_names(step: StepSpec) -> set[str]:
    names = set(step.params)
    if step.uses is not None:
        try:
            from engine.registry import get_step  # Python steps only

            names |= set(get_step(step.uses).params_schema.get("properties") or {})
        except UnknownStepError:
            pass  # reported by the step-function check
    return names


def render_enabled(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                   problems: Problems) -> bool:
    return render_switch(step, settings, context, problems, "enabled")


def render_forced(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                  problems: Problems) -> bool:
    return render_switch(step, settings, context, problems, "force")


def render_switch(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                  problems: Problems, name: str) -> bool:
    """A yes/no setting (``enabled``, ``force``) rendered; a bad one is reported and counts
    as the default (enabled, not forced)."""
    default = name == "enabled"
    value = getattr(settings, name)
    if is_template(value):
        try:
            value = compile_template(value).render(context)
        except TemplateError as exc:
            problems.template(step, (name,), exc, origin=settings.origin(name))
            return default
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    problems.at_step(step, (name,), f"'{name}' must be true or false, got {value!r}",
                     origin=settings.origin(name))
    return default


def disabled_reason(settings: StepSettings) -> str:
    origin = settings.origin("enabled")
    if is_template(settings.enabled):
        where = f" ({origin})" if origin else ""
        return f"enabled: '{settings.enabled}' is false{where}"
    return f"enabled: false ({origin})" if origin else "enabled: false in the spec"


def has_template(value: Any) -> bool:
    return any(is_template(s) for s in strings_in([value]))


def static_numbers(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                   problems: Problems, limits: Limits) -> Numbers | None:
    """The numbers when no numeric setting is a template (computed once per step), else None.
    Raises :class:`BadSetting`."""
    if has_template([settings.threads, settings.resources, settings.retries, settings.timeout]):
        return None
    return render_numbers(step, settings, context, problems, limits)


def render_numbers(step: StepSpec, settings: StepSettings, context: Mapping[str, Any],
                   problems: Problems, limits: Limits, instance: str | None = None) -> Numbers:
    """Threads (capped at ``limits.threads``, the cores a run may use), resources (at most
    ``limits.resources``: else a problem of ``instance``, None for every instance), retries
    and timeout of one instance. Raises :class:`BadSetting` after reporting the problem."""

    def number(key: str, kind: Callable[[Any], Any], raw: Any, minimum: int = 0) -> Any:
        try:
            rendered = compile_template(raw).render(context) if is_template(raw) else raw
            value = kind(rendered)
            if isinstance(rendered, bool) or value < minimum:
                raise ValueError
            return value
        except (TemplateError, TypeError, ValueError):
            problems.at_step(step, (key,), f"'{key}' must be a number >= {minimum}, got {raw!r}",
                             origin=settings.origin(key))
            raise BadSetting from None

    threads = number("threads", int, settings.threads, minimum=1)
    if limits.threads is not None:
        threads = min(threads, limits.threads)  # told what it is charged, as Snakemake does
    resources = {k: number("resources", int, v) for k, v in settings.resources.items()}
    for name, needed in resources.items():
        allowed = limits.resources.get(name)
        if allowed is not None and needed > allowed:
            problems.in_instance(
                step, instance, ("resources", name),
                f"needs {name}={needed} but the run allows {name}={allowed} (--resources)",
                hint=f"raise the limit (--resources {name}={needed}) or lower the step's "
                     f"resources", origin=settings.origin("resources"))
    retries = number("retries", int, settings.retries)
    timeout = None if settings.timeout is None else number("timeout", float, settings.timeout)
    return Numbers(threads, resources, retries, timeout)
