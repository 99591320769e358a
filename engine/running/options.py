"""How to run: one frozen :class:`RunOptions`, made once by the CLI or the Python API.

Every default that comes from the environment (``MI_JOBS``, ``MI_STATE_DIR``) or the machine
(the core count) is resolved here and nowhere else, so the stages after it never read
``os.environ`` or argparse values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from engine import envvars
from engine.errors import UsageError
from engine.executors import EXECUTORS
from engine.model import ALL_TRIGGERS, Trigger

DEFAULT_STATE_DIR = ".mi"
DEFAULT_KEEP_RUNS = 50


@dataclass(frozen=True)
class RunOptions:
    """Everything a run (or a dry-run, or ``status``) needs besides the workflow."""

    jobs: int  # -j: cores to use; also the cap on every step's threads
    state_dir: str  # absolute
    keep_going: bool = False
    force: tuple[str, ...] = ()
    force_all: bool = False
    until: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    resources: Mapping[str, int] = field(default_factory=dict)
    backend: str = "processes"
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    keep_incomplete: bool = False
    verbose: bool = False
    quiet: bool = False  # -q: failures and the final line only
    argv: tuple[str, ...] = ()
    rerun_triggers: frozenset[Trigger] = ALL_TRIGGERS
    touch: tuple[str, ...] | None = None  # --touch [STEP...]: () = every step; None = no
    targets: tuple[str, ...] = ()  # output paths to build (absolute), with what they need
    keep_runs: int = DEFAULT_KEEP_RUNS  # records kept in <state_dir>/runs/ (MI_KEEP_RUNS)

    @property
    def log_dir(self) -> str:
        return os.path.join(self.state_dir, "logs")

    @property
    def orphan_dir(self) -> str:
        """Where the default backend lists running shell steps (see executors.spawn)."""
        return os.path.join(self.state_dir, "running")


class RunSettings(TypedDict, total=False):
    """What a caller may set; :func:`make_run_options` fills in the rest."""

    jobs: int | None
    state_dir: str | os.PathLike[str] | None
    keep_going: bool
    force: Iterable[str]
    force_all: bool
    until: Iterable[str]
    only: Iterable[str]
    resources: Iterable[str] | Mapping[str, int] | None
    backend: str
    backend_options: Mapping[str, Any] | None
    keep_incomplete: bool
    verbose: bool
    quiet: bool
    argv: Iterable[str]
    rerun_triggers: Iterable[str] | None
    touch: Iterable[str] | None
    targets: Iterable[str | os.PathLike[str]]
    keep_runs: int | None


def make_run_options(environ: Mapping[str, str] | None = None,
                     **settings: Unpack[RunSettings]) -> RunOptions:
    """Resolve defaults (``MI_JOBS`` or all cores, ``MI_STATE_DIR`` or ``.mi``) and check."""
    try:
        envvars.check(environ)  # every engine variable, whether this run reads it or not
        from_env = envvars.read_int(envvars.JOBS, environ)
        keep_runs = settings.get("keep_runs")
        if keep_runs is None:
            keep_runs = envvars.read_int(envvars.KEEP_RUNS, environ)
    except envvars.BadVariable as exc:
        raise UsageError(str(exc), exc.hint) from None
    if keep_runs is None:
        keep_runs = DEFAULT_KEEP_RUNS
    if isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or keep_runs < 1:
        raise UsageError(f"--keep-runs must be a whole number of at least 1, got {keep_runs!r}",
                         "for example: --keep-runs 20 (default 50)")
    jobs = settings.get("jobs")
    if jobs is None:
        jobs = from_env or os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"-j/--jobs must be a whole number of at least 1, got {jobs!r}",
                         "for example: -j 4 (leave it out to use every core)")
    backend = settings.get("backend", "processes")
    if backend not in EXECUTORS:
        raise UsageError(f"unknown backend '{backend}'", f"choose from {', '.join(EXECUTORS)}")
    state_dir = (settings.get("state_dir") or envvars.read(envvars.STATE_DIR, environ)
                 or DEFAULT_STATE_DIR)
    return RunOptions(
        jobs=jobs,
        state_dir=os.path.abspath(state_dir),
        keep_going=settings.get("keep_going", False),
        force=tuple(settings.get("force", ())),
        force_all=settings.get("force_all", False),
        until=tuple(settings.get("until", ())),
        only=tuple(settings.get("only", ())),
        resources=parse_resources(settings.get("resources")),
        backend=backend,
        backend_options=dict(settings.get("backend_options") or {}),
        keep_incomplete=settings.get("keep_incomplete", False),
        verbose=settings.get("verbose", False),
        quiet=settings.get("quiet", False),
        argv=tuple(settings.get("argv", ())),
        rerun_triggers=parse_triggers(settings.get("rerun_triggers")),
        touch=None if settings.get("touch") is None else tuple(settings.get("touch") or ()),
        targets=tuple(os.path.abspath(t) for t in settings.get("targets", ())),
        keep_runs=keep_runs,
    )


def parse_triggers(names: Iterable[str] | None) -> frozenset[Trigger]:
    """``["input,params"]`` or ``["input", "params"]`` (the CLI's forms); None: all of them."""
    if names is None:
        return ALL_TRIGGERS
    if isinstance(names, str):
        names = [names]
    found: set[Trigger] = set()
    for name in (n.strip() for item in names for n in str(item).split(",")):
        if not name:
            continue
        try:
            found.add(Trigger(name))
        except ValueError:
            raise UsageError(f"unknown rerun trigger '{name}'",
                             f"choose from {', '.join(t.value for t in Trigger)}") from None
    if not found:
        raise UsageError("--rerun-triggers needs at least one of input, params, code")
    return frozenset(found)


def parse_resources(items: Iterable[str] | Mapping[str, int] | None) -> dict[str, int]:
    """``["mem_mb=16000"]`` (the CLI's form) or ``{"mem_mb": 16000}`` -> limits."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        items = [f"{k}={v}" for k, v in items.items()]
    limits: dict[str, int] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise UsageError(f"--resources expects NAME=INTEGER (a whole number >= 0), "
                             f"got '{item}'", "for example: --resources mem_mb=16000")
        limits[name.strip()] = int(value)
    return limits
