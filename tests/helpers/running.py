"""Helpers for the run tests: write a spec into tmp_path, run it in-process or as a process.

Every test works in its own ``tmp_path`` as the current directory (relative paths in specs and
the default state dir ``.mi/`` resolve against it). In-process runs use the ``threads``
backend (no worker start-up cost); what only a real process can show (exit codes, signals,
the lock, the printed summary) runs ``python -m engine.cli`` as a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.model import Status
from engine.running.orchestrate import run_workflow
from engine.running.scheduler import RunResult

ROOT = Path(__file__).resolve().parents[2]


def write_spec(folder: Path, text: str, name: str = "wf.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run(spec: str | Path = "wf.yaml", **options: Any) -> RunResult:
    """Run in this process (threads backend, -j 2 unless given)."""
    options.setdefault("backend", "threads")
    options.setdefault("jobs", 2)
    return run_workflow(str(spec), **options)


def completed(result: RunResult) -> set[str]:
    return {n for n, s in result.statuses.items() if s is Status.COMPLETED}


def up_to_date(result: RunResult) -> set[str]:
    return {n for n, s in result.statuses.items() if s is Status.UP_TO_DATE}


def cli(*args: str) -> tuple[int, str, str]:
    """``mi-run ARGS`` in this process: (exit code, stdout, stderr)."""
    from engine.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def dry(spec: str | Path = "wf.yaml", *args: str) -> dict[str, tuple[str, list[str]]]:
    """``--dry-run --json``: instance id -> (action, reasons)."""
    code, out, err = cli(str(spec), "--dry-run", "--json", *args)
    assert code == 0, err
    return {row["id"]: (row["action"], row["reasons"]) for row in json.loads(out)["steps"]}


def to_run(plan: dict[str, tuple[str, list[str]]]) -> set[str]:
    return {n for n, (action, _) in plan.items() if action == "run"}


def env(**extra: str) -> dict[str, str]:
    """The environment of an ``mi-run`` process: the checkout importable, no MI_* defaults
    leaking in, and ``extra`` variables."""
    variables = dict(os.environ, **extra)
    variables["PYTHONPATH"] = str(ROOT) + os.pathsep + variables.get("PYTHONPATH", "")
    variables.pop("MI_STATE_DIR", None)
    variables.pop("MI_JOBS", None)
    return variables


def mi(cwd: Path, *args: str, timeout: float = 120,
       extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mi-run ARGS`` as a separate process in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd,
                          env=env(**(extra_env or {})), capture_output=True, text=True,
                          timeout=timeout)


def mi_popen(cwd: Path, *args: str, stderr: int = subprocess.PIPE,
             extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``mi-run ARGS`` started in ``cwd``; stdout a pipe, stderr too (or ``STDOUT``: the same)."""
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=cwd,
                            env=env(**(extra_env or {})), stdout=subprocess.PIPE, stderr=stderr,
                            text=True)


def logs_of(folder: Path, step: str, name: str | None = None) -> list[Path]:
    """The attempt logs of an instance (``name``: its label; None: the step's only instance),
    ``.mi/logs/<step>/<name>.<run-id>.<attempt>.log``, in the order they were last written."""
    stem = name or step
    found = [(p.name.rsplit(".", 3), p) for p in (folder / ".mi/logs" / step).glob(f"{stem}.*.log")]
    ours = [(p.stat().st_mtime_ns, int(parts[2]), p) for parts, p in found
            if len(parts) == 4 and parts[0] == stem and parts[2].isdigit()]
    return [p for _, _, p in sorted(ours)]


def ran(folder: Path) -> list[str]:
    """Steps whose command ran since the last call (each appends its name to ran.log); the
    log is then forgotten, so the next call reports only what ran after it."""
    log = folder / "ran.log"
    if not log.exists():
        return []
    names = sorted(log.read_text().split())
    log.unlink()
    return names


def still_there(find: Callable[[], list[Any]], seconds: float = 10) -> list[Any]:
    """What ``find`` still returns after up to ``seconds`` of waiting for it to return
    nothing: a process killed with SIGKILL is gone only once the kernel has run its exit,
    which on a loaded machine can take a moment after the killer returned."""
    end = time.monotonic() + seconds
    found = find()
    while found and time.monotonic() < end:
        time.sleep(0.05)
        found = find()
    return found


def wait_for(path: Path, engine: subprocess.Popen[Any], seconds: float = 60) -> None:
    """Wait until a step of the running ``engine`` wrote ``path``; fail if the engine ended."""
    end = time.monotonic() + seconds
    while not path.exists():
        if engine.poll() is not None:
            raise AssertionError(f"engine exited early ({engine.returncode}): "
                                 f"{engine.communicate()[1]}")
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)
