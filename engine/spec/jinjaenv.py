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


def make_env(finalize: Callable[[Any], Any] | None, filters: dict[str, Callable[..., Any]],
             globals_: dict[str, Any]) -> jinja2.Environment:
    """A sandboxed environment with our undefined, filters and globals (given by
    ``engine.spec.templates``, which owns them: this module does not import it back)."""
    env = ImmutableSandboxedEnvironment(
        undefined=_Undefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=finalize,
    )
    env.filters.update(filters)
    env.globals.update(globals_)
    return env
