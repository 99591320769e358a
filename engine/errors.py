"""The one exception tree of mi-run.

::

    MiError                  exit 2; ``render()`` = "error: MESSAGE" + "  hint: HINT"
    ├── SpecError            problems in a spec or config file: a list of Diagnostics, each
    │                        rendered as ``path:line:col: error: ...`` with source and caret
    ├── UsageError           bad command-line use or API arguments (unknown backend, no file)
    │   └── UnknownStepError a ``uses:``/``mi-run step`` name that no library registers
    ├── LockError            another mi-run holds the state directory
    ├── StepError            exit 1; raised *inside* a step to fail it with a clear message
    │   └── ToolMissingError an external program the step needs is not on PATH
    └── Interrupted          exit 130; Ctrl-C, SIGTERM or SIGHUP stopped the run

Every error carries an optional ``hint`` (what to do about it); :meth:`MiError.render` is the
only place that formats one. Errors cross process boundaries (a step's error travels from a
worker), so the ones with extra fields define ``__reduce__``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place in one file (line and col are 1-based; 0 means unknown)."""

    message: str
    path: str = "<unknown>"
    line: int = 0
    col: int = 0
    hint: str | None = None
    severity: str = "error"

    def render(self, with_source: bool = True) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{max(self.col, 1)}"
        text = f"{where}: {self.severity}: {self.message}"
        if with_source and self.line:
            source = _source_line(self.path, self.line)
            if source is not None:
                caret = " " * (max(self.col, 1) - 1) + "^"
                text += f"\n    {source}\n    {caret}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def _source_line(path: str, line: int) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text.rstrip("\n")
    except OSError:
        return None
    return None


class MiError(Exception):
    """Base of all mi-run errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        self.hint = hint
        super().__init__(message)

    def render(self) -> str:
        return f"error: {self}" + (f"\n  hint: {self.hint}" if self.hint else "")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process boundaries
        return (type(self), (str(self), self.hint))


class SpecError(MiError):
    """One or more problems in a spec or a config file: every problem is reported at once."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))

    def render(self) -> str:
        body = "\n".join(d.render() for d in self.diagnostics)
        count = len(self.diagnostics)
        return f"{body}\n{count} error{'s' if count != 1 else ''} found; nothing was run."

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.diagnostics,))


class UsageError(MiError):
    """Bad command-line usage or API arguments (unknown option value, missing file, ...)."""


class UnknownStepError(UsageError):
    """No step library registers ``name``; ``suggestions`` are the closest registered names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = (f"did you mean '{suggestions[0]}'?" if suggestions
                else "list the registered steps with: mi-run steps")
        super().__init__(f"unknown step function '{name}'", hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.suggestions))


class LockError(MiError):
    """Another mi-run holds the state directory."""


class StepError(MiError):
    """Raised *inside* a step to fail it with a clear message (no traceback in the summary).

    ``hint`` tells the user what to do about it.
    """

    exit_code = 1


class ToolMissingError(StepError):
    """An external executable a step needs is not on PATH."""

    def __init__(self, tool: str, package: str | None = None):
        self.tool = tool
        self.package = package or tool
        hint = (
            f"install it with: apt-get update && apt-get install -y {self.package}"
            f"  (or run 'make tools' in the mi-run checkout)"
        )
        super().__init__(f"required tool '{tool}' is not on PATH", hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.tool, self.package))


class Interrupted(MiError):
    """Ctrl-C, SIGTERM or SIGHUP stopped a run; running steps were stopped."""

    exit_code = 130
