"""Versions of the external tools a run's steps used, asked once per run, cheaply.

Which tools: for a shell step, the known tools (:data:`KNOWN`, from ``engine.tools.TOOLS``)
named as a word of its command (``mkdir -p out && kallisto quant ...`` names ``kallisto``); for
a registered Python step, the ``tools`` its ``@step(...)`` declares. Only tools listed in
:data:`KNOWN`, or declared by a step, are ever run -- never an arbitrary first word with
``--version``, which a user's script might take as a real run. Each tool is asked at most once
per run, all of them at the same time, each with a short timeout; a tool that is missing, fails
or hangs gets ``version: null`` and an ``error``, and the run is never failed by it. The version
is the first line of its output with a digit in it (else the first line).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.model import StepInstance
from engine.tools import TOOLS

TIMEOUT = 5.0  # seconds one tool may take to say its version

# tool -> the arguments that make it print its version: the engine's one tool map
KNOWN: Mapping[str, tuple[str, ...]] = {name: tool.version for name, tool in TOOLS.items()}

_WORD = re.compile(r"[A-Za-z0-9_.+-]+")


def tools_of(instances: Iterable[StepInstance]) -> dict[str, list[str]]:
    """Tool -> the steps that used it, judged from one instance of each step."""
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for instance in instances:
        if instance.step in seen:
            continue
        seen.add(instance.step)
        names: Sequence[str] = ()
        if instance.command is not None:
            names = [w for w in _WORD.findall(instance.command) if w in KNOWN]
        elif instance.uses is not None:
            names = _declared(instance.uses)
        for name in dict.fromkeys(names):
            found.setdefault(name, []).append(instance.step)
    return found


def _declared(uses: str) -> Sequence[str]:
    from engine.registry import get_step

    try:
        return get_step(uses).tools
    except Exception:  # an unknown step failed already; its tools are nobody's concern
        return ()


def ask_versions(tools: Mapping[str, list[str]], timeout: float = TIMEOUT) -> dict[str, Any]:
    """Tool -> {path, version (first line it printed) or null, error, steps}, asked in
    parallel; never raises."""
    if not tools:
        return {}
    from concurrent.futures import ThreadPoolExecutor  # only a run with declared tools asks

    with ThreadPoolExecutor(max_workers=min(8, len(tools))) as pool:
        answers = dict(zip(tools, pool.map(lambda t: _ask(t, timeout), tools)))
    return {name: {**answers[name], "steps": steps} for name, steps in tools.items()}


def _ask(tool: str, timeout: float) -> dict[str, Any]:
    path = shutil.which(tool)
    if path is None:
        return {"path": None, "version": None, "error": "not found on PATH"}
    import subprocess  # only a run whose steps name tools asks them

    try:  # its own process group, so that a tool that hangs goes with its children
        proc = subprocess.Popen([path, *KNOWN.get(tool, ("--version",))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        return {"path": path, "version": None, "error": str(exc)}
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return {"path": path, "version": None, "error": f"no answer in {timeout:g} s"}
    text = (out + b"\n" + err).decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # the first line with a digit: bwa, dwgsim and gemma print a title or an error line first
    line = next((ln for ln in lines if any(c.isdigit() for c in ln)), lines[0] if lines else "")
    if not line:
        return {"path": path, "version": None, "error": f"printed nothing (exit {proc.returncode})"}
    return {"path": path, "version": line[:200], "error": None}
