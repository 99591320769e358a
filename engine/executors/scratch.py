"""Each attempt's private scratch directory (its ``TMPDIR``) and the environment of shell steps,
both reused per worker thread because building them is a measurable part of a trivial step."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

from engine.envvars import RUN_TOKEN

_local = threading.local()


def private_tmp(state_tmp: str) -> str:
    """An empty directory private to this attempt.

    Creating and removing a directory costs ~0.5 ms on some file systems (more than the rest of
    the bookkeeping of a trivial step), so each worker thread reuses its directory as long as
    the previous attempt left it empty; a non-empty one is removed (see :func:`release_tmp`).
    """
    cached: str | None = getattr(_local, "tmp_dir", None)
    if cached is not None and os.path.dirname(cached) == state_tmp and os.path.isdir(cached):
        return cached
    os.makedirs(state_tmp, exist_ok=True)
    _local.tmp_dir = tempfile.mkdtemp(prefix="step.", dir=state_tmp)
    _local.env = None
    return str(_local.tmp_dir)


def release_tmp(tmp_dir: str) -> None:
    try:
        with os.scandir(tmp_dir) as entries:
            if next(entries, None) is None:
                return  # empty: keep it for the next attempt of this thread
    except OSError:
        pass
    shutil.rmtree(tmp_dir, ignore_errors=True)
    _local.tmp_dir = None


def shell_env(tmp_dir: str, run_token: str | None = None) -> dict[str, str]:
    """The environment of shell steps: the worker's, with ``TMPDIR`` = the private tmp dir
    (and the run's token, when given and not inherited already).

    Built once per worker thread, tmp dir and token (copying ``os.environ`` decodes every
    variable), so environment changes made in the worker after its first step are not seen.
    """
    env: dict[str, str] | None = getattr(_local, "env", None)
    if (env is None or env.get("TMPDIR") != tmp_dir
            or (run_token is not None and env.get(RUN_TOKEN) != run_token)):
        env = dict(os.environ)
        env["TMPDIR"] = tmp_dir
        if run_token is not None:
            env[RUN_TOKEN] = run_token
        _local.env = env
    return env
