"""Jinja2's side of templates, imported only when a template needs it.

Plain ``{{ name.attr }}`` lookups never reach Jinja2 (see ``engine.spec.templates``), and most
specs have nothing else, so importing jinja2 (≈15 ms, a third of a no-op run's imports beside
the schema) waits until a template with filters, tests or statements is compiled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.spec.templates import (
    Gathered,
    _basename,
    _dirname,
    _expand,
    _item_value,
    _shell_quote,
    _stem,
    _unquoted,
)


class Missing(jinja2.UndefinedError):
    """Jinja2's undefined error, keeping what was looked up in what."""

    def __init__(self, message: str | None = None, obj: Any = None, name: str | None = None):
        super().__init__(message)
        self.obj, self.name = obj, name


class _Undefined(jinja2.StrictUndefined):
    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = jinja2.utils.missing,
                 name: str | None = None, exc: Any = None):
        # Jinja2 raises ``exc(message)``: a partial keeps what was looked up in what.
        factory: Any = functools.partial(Missing, obj=obj, name=name)
        super().__init__(hint, obj, name, factory)


def _where(value: Any, **conditions: Any) -> Gathered:
    """``steps.call.outputs.vcf | where(chrom=item)``: the paths of the instances whose item
    has those values (``item.chrom == item`` here); a scalar item is matched as ``item=``."""
    if not isinstance(value, Gathered):
        raise jinja2.TemplateRuntimeError(
            "where(...) filters a fan-out's gathered paths, e.g. "
            "steps.call.outputs.vcf | where(chrom=item)")
    if not conditions:
        raise jinja2.TemplateRuntimeError("where(...) needs at least one KEY=VALUE")
    kept, origins = [], []
    for path, origin in zip(value, value.origins):
        if all(_item_value(origin, key) == str(wanted) for key, wanted in conditions.items()):
            kept.append(path)
            origins.append(origin)
    return Gathered(kept, origins)


def _make_env(finalize: Callable[[Any], Any] | None) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        undefined=_Undefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=finalize,
    )
    env.filters.update(
        unquoted=_unquoted, basename=_basename, dirname=_dirname, stem=_stem, quote=_shell_quote,
        where=_where,
    )
    env.globals["expand"] = _expand
    return env


VALUE_ENV = _make_env(None)
SHELL_ENV = _make_env(_shell_quote)
