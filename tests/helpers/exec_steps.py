"""Test-only step functions (namespace ``testexec``) used by the executor contract tests.

Worker processes import this module by name: the tests put the checkout on PYTHONPATH and
name ``tests.helpers.exec_steps`` in ``MI_STEP_MODULES`` (see engine.registry).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, step

_ANY = {"type": "object", "additionalProperties": True}


@step("testexec.write", params=_ANY, version="1")
def write(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> Any:
    context.log.info("writing %s", outputs["out"])
    Path(outputs["out"]).write_text(config.get("text", "hello") + "\n")
    return {"output": {"pid": os.getpid()}, "warnings": ["just a warning"]}


@step("testexec.sleep", params=_ANY, version="1")
def sleep(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    time.sleep(float(config["seconds"]))
    for path in outputs.values():
        Path(path).write_text("slept\n")


@step("testexec.raise", params=_ANY, version="1")
def raise_error(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    raise ValueError("boom from the step")


@step("testexec.steperror", params=_ANY, version="1")
def step_error(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    raise StepError("sample sheet has no 'run' column", hint="add a 'run' column")


@step("testexec.report_failure", params=_ANY, version="1")
def report_failure(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> Any:
    return {"status": "failed", "errors": ["first problem", "second problem"]}


@step("testexec.skip", params=_ANY, version="1")
def skip(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> Any:
    return {"status": "skipped", "output": {"why": "nothing to do"}}


@step("testexec.nothing", params=_ANY, version="1")
def nothing(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    return None


@step("testexec.exit", params=_ANY, version="1")
def hard_exit(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    os._exit(3)


@step("testexec.segfault", params=_ANY, version="1")
def segfault(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    import ctypes
    import faulthandler

    faulthandler.disable()  # keep the test output quiet; the crash is the point
    ctypes.string_at(0)


@step("testexec.hang", params=_ANY, version="1")
def hang(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    """Ignore the timeout alarm, like a step stuck in C code with signals blocked."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(1000)


@step("testexec.memory", params=_ANY, version="1")
def memory(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    block = bytearray(int(config["mb"]) * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    Path(outputs["out"]).write_text(str(len(block)))


@step("testexec.sigkill", params=_ANY, version="1")
def sigkill(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    """Die like a victim of the kernel's OOM killer."""
    time.sleep(0.2)  # let the other step start, so two workers are busy
    os.kill(os.getpid(), signal.SIGKILL)


@step("testexec.tool", params=_ANY, version="1")
def tool(config: dict[str, Any], *, inputs: Any, outputs: Any, context: StepContext) -> None:
    """An external tool that fails after writing to stderr (``context.run``)."""
    context.run(["sh", "-c", "printf 'tool%s\\n' -said >&2; exit 4"])
