"""Stage 3, resolve config layers: spec ``config:`` < ``--config`` files < ``MI_*`` env < ``--set``.

Every leaf value remembers its origin (layer, file, line, column) so errors point at the file
the value came from and ``--dry-run --verbose`` can show where each value was set. Config
values may be templates over other config keys; they are rendered in dependency order and a
cycle among them is an error.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import envvars
from engine.errors import Diagnostic, SpecError, find_in_source
from engine.spec.templates import TemplateError, compile_template, is_template, referenced_names
from engine.spec.yamlload import Document, Marks, PathKey, load_scalar, load_yaml_file


@dataclass(frozen=True)
class Origin:
    """Where a config value was set."""

    layer: str  # "spec" | "file" | "env" | "set"
    source: str  # file path, environment variable or the --set argument
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.layer} {self.source}:{self.line}:{self.col}"
        return f"{self.layer} {self.source}"

    def diagnostic(self, message: str, hint: str | None = None) -> Diagnostic:
        return Diagnostic(message, path=self.source, line=self.line, col=self.col, hint=hint)


@dataclass(frozen=True)
class ResolvedConfig:
    values: Mapping[str, Any]
    origins: Mapping[PathKey, Origin] = field(default_factory=dict)
    template_reads: frozenset[str] = frozenset()  # top-level keys config templates read
    warnings: tuple[Diagnostic, ...] = ()  # e.g. a key repeated in a --config file

    def origin(self, where: PathKey) -> Origin | None:
        probe = tuple(where)
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = probe[:-1]
        return None

    @property
    def step_overrides(self) -> Mapping[str, Any]:
        steps = self.values.get("steps")
        return steps if isinstance(steps, Mapping) else {}

    def template_context(self) -> dict[str, Any]:
        """Config keys for templates: every key at top level (but ``steps``) and as ``config``."""
        context = {k: v for k, v in self.values.items() if k != "steps"}
        context["config"] = dict(self.values)
        return context


def _merge(
    base: dict[str, Any],
    overlay: Mapping[str, Any],
    origins: dict[PathKey, Origin],
    make_origin: Any,
    where: PathKey = (),
) -> None:
    for key, value in overlay.items():
        here = (*where, key)
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            origins[here] = make_origin(here)
            _merge(base[key], value, origins, make_origin, here)
            continue
        for stale in [p for p in origins if p[: len(here)] == here]:
            del origins[stale]
        base[key] = copy.deepcopy(value)
        _record(value, here, origins, make_origin)


def _record(value: Any, where: PathKey, origins: dict[PathKey, Origin], make_origin: Any) -> None:
    origins[where] = make_origin(where)
    if isinstance(value, Mapping):
        for key, child in value.items():
            _record(child, (*where, key), origins, make_origin)


def _file_origin(layer: str, marks: Marks, prefix: PathKey) -> Any:
    def make(where: PathKey) -> Origin:
        line, col = marks.at((*prefix, *where), key=True)
        return Origin(layer, marks.path, line, col)

    return make


def parse_scalar(text: str) -> Any:
    """A value typed as YAML (``4`` -> 4, ``false`` -> False, ``1e-6`` -> 1e-06); text that is
    not valid YAML stays text."""
    import yaml  # only for values typed on the command line or in MI_* variables

    try:
        return load_scalar(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def parse_value(text: str, source: str, path: str = "<command line>") -> Any:
    """A ``--set`` or ``MI_*`` value typed as YAML. An empty or unreadable value is an error:
    ``--set x=`` and ``--set 'x=[1,'`` are slips, and a quoted value says what it means."""
    if not text.strip():
        raise SpecError([Diagnostic(f"{source} has an empty value", path=path,
                                    hint="give a value; for an empty string write it quoted: "
                                         "\"\" (e.g. --set 'label=\"\"')")])
    import yaml

    try:
        return load_scalar(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([Diagnostic(f"{source}: the value '{text}' is not valid YAML ({problem})",
                                    path=path,
                                    hint="fix the list or mapping, or quote the value to mean "
                                         f"this text: '\"{text}\"'")]) from None


def _set_dotted(target: dict[str, Any], keys: list[str], value: Any) -> None:
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def env_layer(environ: Mapping[str, str]) -> list[tuple[str, list[str], Any]]:
    """``MI_STEPS__QUANT__ENABLED=false`` -> ("MI_STEPS__QUANT__ENABLED", [steps, quant, enabled], False)."""
    found = []
    for name in sorted(environ):
        if not name.startswith(envvars.PREFIX) or name in envvars.RESERVED:
            continue  # the engine's own variables are never config values
        keys = [k.lower() for k in name[len(envvars.PREFIX) :].split("__") if k]
        if keys:
            found.append((name, keys, parse_value(environ[name], f"environment variable {name}",
                                                           "<environment>")))
    return found


def parse_set(argument: str) -> tuple[list[str], Any]:
    if "=" not in argument:
        raise SpecError(
            [Diagnostic(f"--set expects KEY=VALUE, got '{argument}'", path="<command line>",
                        hint="for example: --set steps.quant.enabled=false")]
        )
    key, _, text = argument.partition("=")
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise SpecError([Diagnostic(f"--set has an empty key: '{argument}'", path="<command line>")])
    return keys, parse_value(text, f"--set {key.strip()}")


def resolve_config(
    spec_config: Mapping[str, Any],
    spec_marks: Marks,
    config_files: Iterable[str] = (),
    overrides: Mapping[str, Any] | Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    base_context: Mapping[str, Any] | None = None,
) -> ResolvedConfig:
    """Merge the four layers and render config templates. Raises SpecError with every problem."""
    values: dict[str, Any] = {}
    origins: dict[PathKey, Origin] = {}
    _merge(values, spec_config, origins, _file_origin("spec", spec_marks, ("config",)))
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for path in config_files:
        try:
            document: Document = load_yaml_file(path, repeated_keys="warn")
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        warnings.extend(document.warnings)
        if document.data is None:
            continue
        if not isinstance(document.data, Mapping):
            problems.append(document.marks.diagnostic((), "a config file must be a YAML mapping"))
            continue
        _merge(values, document.data, origins, _file_origin("file", document.marks, ()))
    for name, keys, value in env_layer(os.environ if environ is None else environ):
        layer: dict[str, Any] = {}
        _set_dotted(layer, keys, value)
        _merge(values, layer, origins, lambda _w, n=name: Origin("env", n))
    items = overrides.items() if isinstance(overrides, Mapping) else None
    set_args = (
        [(k.split("."), v, f"{k}={v}") for k, v in items]
        if items is not None
        else [(*parse_set(a), a) for a in overrides]
    )
    for keys, value, text in set_args:
        layer = {}
        _set_dotted(layer, list(keys), value)
        _merge(values, layer, origins, lambda _w, t=text: Origin("set", f"--set {t}"))
    if problems:
        raise SpecError(problems)
    resolved = ResolvedConfig(values=values, origins=origins, warnings=tuple(warnings))
    return _render_config_templates(resolved, dict(base_context or {}))


def _templates_in(value: Any, where: PathKey) -> list[tuple[PathKey, str]]:
    if is_template(value):
        return [(where, value)]
    if isinstance(value, Mapping):
        return [t for k, v in value.items() for t in _templates_in(v, (*where, k))]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _templates_in(v, (*where, i))]
    return []


def _render_config_templates(config: ResolvedConfig, base: dict[str, Any]) -> ResolvedConfig:
    values = copy.deepcopy(dict(config.values))
    problems: list[Diagnostic] = []
    # Which top-level keys each top-level key's templates read. `steps` overrides may read
    # config keys but nothing reads `steps` (templates see step references there instead).
    templates = {key: _templates_in(values[key], (key,)) for key in values}
    needs: dict[str, set[str]] = {}
    reads: set[str] = set()
    broken: set[PathKey] = set()
    for key, found in templates.items():
        names: set[str] = set()
        for where, source in found:
            try:
                names |= referenced_names(source)
            except TemplateError as exc:
                problems.append(_template_diag(config, where, exc))
                broken.add(where)
                continue
            if "config" in names:
                names |= config_attributes(source, set(values) - {key})
        needs[key] = {n for n in names if n in values and n != "steps"}
        reads |= names
    order, cycle = _order(needs)
    if cycle:
        where = (cycle[0],)
        problems.append(
            _config_diag(config, where, "config values refer to each other in a cycle: "
                         + " -> ".join(cycle), "break the cycle by giving one of them a plain value")
        )
        raise SpecError(problems)
    for key in order:
        context = {**base, **{k: v for k, v in values.items() if k != "steps"}}
        context["config"] = values
        for where, source in templates.get(key, []):
            if where in broken:
                continue
            try:
                rendered = compile_template(source).render(context)
            except TemplateError as exc:
                problems.append(_template_diag(config, where, exc))
                continue
            _assign(values, where, rendered)
    if problems:
        raise SpecError(problems)
    return ResolvedConfig(values=values, origins=config.origins, template_reads=frozenset(reads),
                          warnings=config.warnings)


_CONFIG_ATTR = re.compile(r"""config\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])""")


def config_attributes(source: str, others: set[str]) -> set[str]:
    """Keys a template reads through ``config.X`` / ``config['X']``; any other use of
    ``config`` (``config | length``) may read every other key."""
    found = {m.group(1) or m.group(2) for m in _CONFIG_ATTR.finditer(source)}
    bare = re.sub(_CONFIG_ATTR, "", source)
    if re.search(r"\bconfig\b", bare):
        return others
    return found


def _assign(values: dict[str, Any], where: PathKey, value: Any) -> None:
    node: Any = values
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value


def _template_diag(config: ResolvedConfig, where: PathKey, exc: TemplateError) -> Diagnostic:
    """A config value's template failed: at its faulty expression when it is in a file."""
    diagnostic = _config_diag(config, where, f"in config value: {exc}", exc.suggestion)
    if exc.needle and diagnostic.line:
        line, col = find_in_source(diagnostic.path, diagnostic.line, diagnostic.col, exc.needle,
                                   len(exc.source or "") + 200)
        diagnostic = Diagnostic(diagnostic.message, diagnostic.path, line, col, diagnostic.hint)
    return diagnostic


def _config_diag(config: ResolvedConfig, where: PathKey, message: str,
                 hint: str | None = None) -> Diagnostic:
    origin = config.origin(where)
    if origin is None:
        return Diagnostic(message, path="<config>", hint=hint)
    return origin.diagnostic(message, hint)


def _order(needs: Mapping[str, set[str]]) -> tuple[list[str], list[str] | None]:
    """Topological order of config keys, or a cycle (first key repeated at the end)."""
    order: list[str] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        stack.append(key)
        for dep in sorted(needs.get(key, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[key] = 2
        order.append(key)
        return None

    for key in needs:
        if key not in state:
            cycle = visit(key)
            if cycle:
                return order, cycle
    return order, None
