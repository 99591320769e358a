"""The environment variables the engine itself reads: their names, in one place.

Every other ``MI_*`` variable is a config value (``MI_MIN_SCORE=5`` sets ``min_score``), so
the config layer skips exactly the names listed here (:data:`RESERVED`).
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

RESERVED = frozenset({STATE_DIR, JOBS, DEBUG, STEP_MODULES, DASK_SCHEDULER,
                      DASK_CONNECT_TIMEOUT, RUN_TOKEN})


def read(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of one of the engine's variables; None when unset or empty."""
    assert name in RESERVED, name
    value = (os.environ if environ is None else environ).get(name, "")
    return value or None
