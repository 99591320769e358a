"""Small shell-step workflows for the run tests, built from Python: one line a step instead of
the same ``name/run/inputs/outputs`` YAML block again in every test module.

``spec_yaml("rec", shell("make", "echo hi > {{ outputs.o }}", outputs={"o": "hi.txt"}))``
gives the YAML text ``write_spec`` writes; ``write_flow`` writes it as ``wf.yaml`` with the
data files the workflow reads. Values are written as JSON, which YAML reads as they are.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.helpers.running import write_spec


def shell(name: str, run: str, *, foreach: Any = None, inputs: Mapping[str, Any] | None = None,
          outputs: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """One shell step (``more``: further keys such as ``retries``), in the spec's key order."""
    step: dict[str, Any] = {"name": name}
    if foreach is not None:
        step["foreach"] = foreach
    step["run"] = run
    step.update(more)
    if inputs is not None:
        step["inputs"] = dict(inputs)
    if outputs is not None:
        step["outputs"] = dict(outputs)
    return step


def spec_yaml(name: str, *steps: Mapping[str, Any],
              config: Mapping[str, Any] | None = None) -> str:
    """The spec's YAML text: ``name``, ``config`` (if any) and ``steps`` in block style."""
    lines = [f"name: {name}"]
    if config is not None:
        lines.append(f"config: {json.dumps(dict(config))}")
    lines.append("steps:")
    for step in steps:
        for index, (key, value) in enumerate(step.items()):
            lines.append(f"{'  - ' if index == 0 else '    '}{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def write_flow(folder: Path, spec: str, files: Mapping[str, str] | None = None) -> Path:
    """``spec`` as ``folder/wf.yaml`` and each of ``files`` (relative path -> text) beside it;
    returns ``folder``, the directory the tests run in."""
    write_spec(folder, spec)
    for relative, text in (files or {}).items():
        (folder / relative).write_text(text)
    return folder


def fake_tool(folder: Path, name: str, body: str) -> Path:
    """An executable shell script ``folder/bin/name`` running ``body``; put ``folder/bin`` on
    PATH to have it found in place of the real tool."""
    path = folder / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path
