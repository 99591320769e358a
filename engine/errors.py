"""The one exception tree of mi-run.

::

    MiError                  exit 2; ``render()`` = "error: MESSAGE" + "  hint: HINT"
    ├── SpecError            problems in a spec or config file: a list of Diagnostics, each
    │                        rendered as ``path:line:col: error: ...`` with source and caret
    ├── UsageError           bad command-line use or API arguments (unknown backend, no file)
    │   └── UnknownStepError a ``uses:``/``mi-run step`` name that no library registers
    │       └── FunctionImportError  a ``module:function`` that cannot be imported
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


_SCHEMA_WORDS = {"array": "a list", "object": "a mapping", "string": "a text",
                 "integer": "a whole number", "number": "a number", "boolean": "true/false",
                 "null": "null (empty)"}


def schema_type_words(types: str | list[str]) -> str:
    """JSON Schema type names in YAML's words: ``array`` -> 'a list'."""
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_SCHEMA_WORDS.get(t, t) for t in dict.fromkeys(names))


def value_words(value: Any) -> str:
    """What a loaded YAML value is, in YAML's words, with the value when it is short:
    "a mapping", "a text 'abc'", "a number 3"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'}"
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if isinstance(value, str):
        return f"a text {shown}"
    if isinstance(value, int | float):
        return f"a number {shown}"
    return shown


def find_in_source(path: str, line: int, col: int, needle: str, extent: int,
                   stop_line: int = 1 << 30) -> tuple[int, int]:
    """Where ``needle`` is written in ``path`` at or after (line, col), within ``extent``
    characters and before ``stop_line``: a template's faulty expression inside its value
    (block scalars included). (line, col) unchanged when it is not found."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return line, col
    lines = text.split("\n")
    if not line or line > len(lines):
        return line, col
    start = sum(len(t) + 1 for t in lines[:line - 1]) + max(col - 1, 0)
    found = text.find(needle, start, start + extent)
    if found < 0:
        return line, col
    before = text[:found]
    found_line = before.count("\n") + 1
    if found_line >= stop_line:
        return line, col
    return found_line, found - (before.rfind("\n") + 1) + 1


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

    def __init__(self, diagnostics: Iterable[Diagnostic], outcome: str = "nothing was run."):
        self.diagnostics = tuple(diagnostics)
        # what happened to the run: a fan-out expanded mid-run finds problems after steps ran
        self.outcome = outcome
        super().__init__("; ".join(d.message for d in self.diagnostics))

    def render(self) -> str:
        body = "\n".join(d.render() for d in self.diagnostics)
        count = len(self.diagnostics)
        return f"{body}\n{count} error{'s' if count != 1 else ''} found; {self.outcome}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.diagnostics, self.outcome))


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


class FunctionImportError(UnknownStepError):
    """A ``uses: module:function`` (or an orchestrator's ``function:``) that names no
    importable callable: the module does not import, or has no such attribute."""

    def __init__(self, name: str, message: str, hint: str | None = None):
        self.name = name
        self.suggestions = []
        UsageError.__init__(self, message, hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, str(self), self.hint))


class LockError(MiError):
    """Another mi-run holds the state directory."""


class StepError(MiError):
    """Raised *inside* a step to fail it with a clear message (no traceback in the summary).

    ``hint`` tells the user what to do about it.
    """

    exit_code = 1


class ToolMissingError(StepError):
    """An external executable a step needs is not on PATH."""

    def __init__(self, tool: str, package: str | None = None, hint: str | None = None):
        """``package``: the Debian package to install (default: the tool's name); ``hint``
        replaces the apt-get advice for a tool Debian does not package."""
        self.tool = tool
        self.package = package or tool
        self.install_hint = hint
        if hint is None:
            hint = (
                f"install it with: apt-get update && apt-get install -y {self.package}"
                f"  (or run 'make tools' in the mi-run checkout)"
            )
        super().__init__(f"required tool '{tool}' is not on PATH", hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.tool, self.package, self.install_hint))


class Interrupted(MiError):
    """Ctrl-C, SIGTERM or SIGHUP stopped a run; running steps were stopped."""

    exit_code = 130
