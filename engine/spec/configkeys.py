"""Config keys that nothing reads: a typo in ``--set``, a ``--config`` file or an ``MI_*``
variable would otherwise be accepted silently while the spec's own value is used.

A top-level key is *known* when the spec's ``config:`` declares it, ``config_accepts:`` lists
it, or some template (of a step or of a config value) reads it. An unknown key is an error
from ``--set``, a located warning from a ``--config`` file (an error with ``--strict``) and a
warning from the environment.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine import envvars
from engine.errors import Diagnostic
from engine.spec.config import Origin, ResolvedConfig, config_attributes
from engine.spec.spec import Spec
from engine.spec.templates import TemplateError, referenced_names

# Names a step template sees that are not config keys.
CONTEXT_NAMES = frozenset({"item", "inputs", "outputs", "params", "threads", "resources",
                           "steps", "config", "spec_dir", "loop", "range", "dict", "namespace",
                           "lipsum", "cycler", "joiner"})


@dataclass(frozen=True)
class KeyProblems:
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]


def unknown_key_problems(spec: Spec, config: ResolvedConfig, strict: bool = False) -> KeyProblems:
    declared = set(spec.config) | {"steps"}
    candidates = [k for k in config.values if isinstance(k, str) and k not in declared
                  and spec.accepted(k) is None]
    nested = _unknown_nested(spec, config)
    if not candidates and not nested:
        return KeyProblems((), ())
    used = _names_step_templates_read(spec, set(config.values)) | config.template_reads
    known = sorted((declared | used) - CONTEXT_NAMES - {"steps"})
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    found = [(key, config.origins.get((key,)), known) for key in candidates if key not in used]
    found += nested
    for key, origin, choices in found:
        if origin is None:
            continue
        close = difflib.get_close_matches(key, choices, n=1)
        diagnostic = _diagnostic(key, origin, close[0] if close else None, choices)
        if origin.layer == "set" or (origin.layer == "file" and strict):
            errors.append(diagnostic)
        else:
            warnings.append(Diagnostic(diagnostic.message, diagnostic.path, diagnostic.line,
                                       diagnostic.col, diagnostic.hint, severity="warning"))
    return KeyProblems(tuple(errors), tuple(warnings))


def _unknown_nested(spec: Spec, config: ResolvedConfig) -> list[tuple[str, Origin | None,
                                                                        list[str]]]:
    """Keys a user sets inside a section the spec's ``config:`` declares (``qc.min_mafx``
    where the spec declares ``qc: {min_maf: ...}``) that the spec neither declares nor
    accepts: the value would be silently ignored. Dotted, with the section's keys to suggest."""
    found: list[tuple[str, Origin | None, list[str]]] = []
    templates = "\n".join(s for step in spec.steps for s in step.template_sources()
                          if "{" in s) + "\n".join(_strings(spec.config))

    def walk(declared: Mapping[str, Any], given: Mapping[str, Any], where: tuple[str, ...]) -> None:
        for key, value in given.items():
            here = (*where, str(key))
            dotted = ".".join(here)
            origin = config.origins.get(here)
            if origin is None or origin.layer == "spec" or spec.accepted(dotted) is not None:
                continue
            if key not in declared and dotted not in templates:  # a template may read it
                found.append((dotted, origin, [".".join((*where, str(k))) for k in declared]))
            elif isinstance(declared[key], Mapping) and declared[key] and isinstance(value, Mapping):
                walk(declared[key], value, here)

    for key, declared in spec.config.items():
        value = config.values.get(key)
        if key != "steps" and isinstance(declared, Mapping) and declared and \
                isinstance(value, Mapping) and spec.accepted(str(key)) is None:
            walk(declared, value, (str(key),))
    return found


def _diagnostic(key: str, origin: Origin, close: str | None, known: list[str]) -> Diagnostic:
    suggestion = f" (did you mean '{close}'?)" if close else ""
    if origin.layer == "env":
        env_name = f"{envvars.PREFIX}{close.upper()}" if close else None
        message = (f"environment variable {origin.source} sets unknown config key '{key}'"
                   + (f" (did you mean {env_name}?)" if env_name else ""))
        return Diagnostic(message, path="<environment>", hint=_hint(known))
    if origin.layer == "set":
        return Diagnostic(f"unknown config key '{key}' in {origin.source}{suggestion}",
                          path="<command line>", hint=_hint(known))
    return origin.diagnostic(f"unknown config key '{key}'{suggestion}",
                             "if the workflow should accept it unused (a shared config file), "
                             "list it under the spec's 'config_accepts:'")


def _hint(known: list[str]) -> str:
    if not known:
        return "this workflow reads no config keys"
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"the workflow's config keys: {shown}"


def _names_step_templates_read(spec: Spec, keys: set[str]) -> set[str]:
    """Top-level names read by the steps' templates and the spec's own config templates
    (``config.X`` counts as X; any other use of ``config`` reads every key)."""
    sources = [s for step in spec.steps for s in step.template_sources()]
    sources += [s for s in _strings(spec.config) if "{{" in s or "{%" in s]
    names: set[str] = set()
    for source in sources:
        if "{" not in source:
            continue
        try:
            found = referenced_names(source)
        except TemplateError:
            continue  # reported where the template is rendered
        names |= found
        if "config" in found:
            names |= config_attributes(source, keys)
    return names


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def accepted_unused(spec: Spec, config: ResolvedConfig) -> tuple[tuple[str, str], ...]:
    """The keys the config sets that the spec accepts without using, with why: top-level
    keys, ``steps.<name>`` and ``steps.<name>.<key>`` (shown by the dry-run)."""
    found: list[tuple[str, str]] = []
    for key in config.values:
        if key != "steps" and key not in spec.config and (why := spec.accepted(str(key))) is not None:
            found.append((str(key), why))
    for path, origin in config.origins.items():
        # a key inside a declared section (``variants.download``), set by the user
        if len(path) > 1 and path[0] != "steps" and path[0] in spec.config \
                and origin.layer != "spec" and (why := spec.accepted(".".join(map(str, path)))) \
                is not None and spec.accepted(".".join(map(str, path[:-1]))) is None:
            found.append((".".join(map(str, path)), why))
    for name, override in config.step_overrides.items():
        why = spec.accepted(f"steps.{name}")
        if why is not None:
            found.append((f"steps.{name}", why))
            continue
        if isinstance(override, dict):
            for key in override:
                why = spec.accepted(f"steps.{name}.{key}")
                if why is not None:
                    found.append((f"steps.{name}.{key}", why))
    return tuple(found)
