"""Running the external tools of the DNA steps: pipes, small parsers (which Debian package
provides each tool is ``engine.tools.TOOLS``, read by ``engine.require_tools``)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, path_list


def pipe(context: StepContext, commands: Sequence[Sequence[str | Path]],
         stdout: Path | None = None) -> None:
    """``a | b | c`` with every stderr to the step log; fails naming the command that failed."""
    args = [[str(a) for a in command] for command in commands]
    context.log.info("$ %s", " | ".join(" ".join(a) for a in args))
    for handler in context.log.handlers:
        handler.flush()
    procs: list[subprocess.Popen[bytes]] = []
    with open(context.log_path, "ab") as log_file:
        out_file = open(stdout, "wb") if stdout is not None else log_file  # noqa: SIM115
        try:
            previous = None
            for index, argv in enumerate(args):
                last = index == len(args) - 1
                proc = subprocess.Popen(argv, stdin=previous if previous is not None
                                        else subprocess.DEVNULL,
                                        stdout=out_file if last else subprocess.PIPE,
                                        stderr=log_file)
                if previous is not None:
                    previous.close()  # so that the writer gets SIGPIPE if the reader dies
                previous = proc.stdout
                procs.append(proc)
            codes = [proc.wait() for proc in procs]
        finally:
            if stdout is not None:
                out_file.close()
    for argv, code in zip(args, codes):
        if code != 0:
            raise StepError(f"command failed with exit status {code}: {' '.join(argv)}",
                            hint=f"see the step log: {context.log_path}")


def capture(context: StepContext, argv: Sequence[str | Path]) -> str:
    """A command's standard output as text (stderr to the step log)."""
    args = [str(a) for a in argv]
    context.log.info("$ %s", " ".join(args))
    with open(context.log_path, "ab") as log_file:
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=log_file, check=False)
    if proc.returncode != 0:
        raise StepError(f"command failed with exit status {proc.returncode}: {' '.join(args)}",
                        hint=f"see the step log: {context.log_path}")
    return proc.stdout.decode()


def result(output: Mapping[str, object], warnings: list[str] | None = None,
           **metadata: object) -> dict[str, object]:
    """The seed's result standard: status, output metrics, warnings, metadata."""
    return {"status": "completed", "output": dict(output), "warnings": list(warnings or []),
            "metadata": dict(metadata)}


def paths(mapping: Mapping[str, Any], name: str, *, output: bool = False) -> list[Path]:
    """Every path declared as ``name`` (none, one or a list); output folders are created."""
    found = [p for p in path_list(mapping.get(name)) if str(p) != ""]
    if output:
        for path in found:
            path.parent.mkdir(parents=True, exist_ok=True)
    return found
