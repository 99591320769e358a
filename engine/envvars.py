"""The environment variables the engine itself reads: their names, in one place.

Every other ``MI_*`` variable is a config value (``MI_MIN_SCORE=5`` sets ``min_score``), so
the config layer skips exactly the names listed here (:data:`RESERVED`). The typed readers
(:func:`read_int`, :func:`read_float`, :func:`read_flag`) raise :class:`BadVariable` for a
bad value, naming the variable; the callers above report it as a usage error (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "MI_"
"""Variables with this prefix are config values, except the engine's own below."""

STATE_DIR = "MI_STATE_DIR"  # default state directory (instead of .mi)
JOBS = "MI_JOBS"  # default -j
DEBUG = "MI_DEBUG"  # show tracebacks, as --debug does
STEP_MODULES = "MI_STEP_MODULES"  # comma-separated step modules to import (worker processes too)
DASK_SCHEDULER = "MI_DASK_SCHEDULER"  # default --scheduler for --backend dask
DASK_CONNECT_TIMEOUT = "MI_DASK_CONNECT_TIMEOUT"  # seconds to wait for a Dask scheduler
RUN_TOKEN = "MI_RUN_TOKEN"  # set by the engine in every shell step's environment
KEEP_RUNS = "MI_KEEP_RUNS"  # how many run records <state_dir>/runs/ keeps (default 50)
ALWAYS_BASH = "MI_ALWAYS_BASH"  # run every run: command under bash, even a lone program

RESERVED = frozenset({STATE_DIR, JOBS, DEBUG, STEP_MODULES, DASK_SCHEDULER,
                      DASK_CONNECT_TIMEOUT, RUN_TOKEN, KEEP_RUNS, ALWAYS_BASH})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class BadVariable(ValueError):
    """An engine variable has a value it cannot use; ``hint`` says what to set instead."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of one of the engine's variables; None when unset or empty."""
    assert name in RESERVED, name
    value = (os.environ if environ is None else environ).get(name, "")
    return value or None


def read_int(name: str, environ: Mapping[str, str] | None = None, *,
             minimum: int = 1) -> int | None:
    """A whole number >= ``minimum`` (None when unset); anything else is a usage error."""
    value = read(name, environ)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise BadVariable(f"{name} must be a whole number of at least {minimum}, got '{value}'",
                         f"unset it or set e.g. {name}={max(minimum, 4)}")
    return number


def read_float(name: str, environ: Mapping[str, str] | None = None) -> float | None:
    """A number > 0 (None when unset); anything else is a usage error."""
    value = read(name, environ)
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise BadVariable(f"{name} must be a number of seconds greater than 0, got '{value}'",
                         f"unset it or set e.g. {name}=20")
    return number


def read_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no switch: 1/true/yes/on or 0/false/no/off (unset: off)."""
    value = read(name, environ)
    if value is None:
        return False
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise BadVariable(f"{name} must be one of 1, true, yes, on, 0, false, no, off; got '{value}'",
                     f"unset it or set {name}=1")


def check(environ: Mapping[str, str] | None = None) -> None:
    """Read every typed variable once, so that a bad value is reported before anything runs
    (raises :class:`BadVariable`)."""
    read_int(JOBS, environ)
    read_int(KEEP_RUNS, environ)
    read_float(DASK_CONNECT_TIMEOUT, environ)
    read_flag(DEBUG, environ)
    read_flag(ALWAYS_BASH, environ)
