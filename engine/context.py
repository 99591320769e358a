"""What a running step sees: :class:`StepContext`, plus the tool helpers steps share."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StepError
from engine.logtail import tail_of
from engine.tools import require_tool


@dataclass(frozen=True)
class StepContext:
    """Per-instance facts handed to a step function as ``context``.

    ``log`` writes to the instance's own log file; ``tmp_dir`` is private to this attempt and
    removed afterwards; ``item``/``index`` are the fan-out item and position (None without
    fan-out).
    """

    instance_id: str
    step: str
    threads: int
    work_dir: Path
    tmp_dir: Path
    log_path: Path
    log: logging.Logger = field(repr=False, compare=False)
    item: Any = None
    index: int | None = None
    resources: Mapping[str, int] = field(default_factory=dict)
    attempt: int = 1

    def require_tool(self, tool: str, package: str | None = None) -> str:
        """Absolute path of ``tool`` on PATH, or a :class:`ToolMissingError` naming the Debian
        package to install (``engine.tools.TOOLS``, unless ``package`` is given)."""
        return require_tool(tool, package)

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        stdout: Path | None = None,
    ) -> None:
        """Run an external command with its output going to the step log (or ``stdout``).

        A non-zero exit raises :class:`StepError` quoting the command and the end of its output.
        """
        run_tool(argv, log_path=self.log_path, cwd=cwd, env=env, stdout=stdout, log=self.log)


def run_tool(
    argv: Sequence[str | Path],
    *,
    log_path: Path,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Path | None = None,
    log: logging.Logger | None = None,
) -> None:
    args = [str(a) for a in argv]
    if not Path(args[0]).exists():
        require_tool(args[0])  # a missing tool fails naming its Debian package
    if log is not None:
        log.info("$ %s", " ".join(args))
        for handler in log.handlers:
            handler.flush()
    with open(log_path, "ab") as log_file:
        out = open(stdout, "wb") if stdout is not None else log_file  # noqa: SIM115
        try:
            proc = subprocess.run(
                args,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=out,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        finally:
            if stdout is not None:
                out.close()
    if proc.returncode != 0:
        tail = tail_of(log_path, 12)
        raise StepError(
            f"command failed with exit status {proc.returncode}: {' '.join(args)}\n{tail}",
            hint=f"see the full log: {log_path}",
        )


