"""Run a ``run:`` command without a shell when bash would only run one program.

GNU make execs a recipe line itself when it has no shell syntax; this is the same idea, a
little wider. A command that is one simple command (plain or quoted words, no expansion of
any kind) with at most a few file redirections (``>``, ``>>``, ``<``, ``2>``, ``2>>``) is
what ``bash -euo pipefail -c`` would run by finding the program on ``PATH``, opening the
files in order and exec'ing it; :func:`direct_command` finds such commands and returns the
argv and the redirections, so the engine can ``posix_spawn`` the program itself and skip
bash's start-up (about a millisecond a step, the largest per-step cost of tiny steps).

Anything else returns None and runs under bash as always: variables, globs, tildes, braces,
escapes, comments, pipes, lists, subshells, assignments, here-documents, other redirections,
and every bash builtin or keyword as the first word (``cd``, ``export``, ``printf``,
``test``...). ``echo`` is the one builtin taken, as ``/bin/echo``, and only when no argument
starts with ``-`` and ``POSIXLY_CORRECT`` is unset: then the two print the same bytes
(and only coreutils' ``/usr/bin/echo``, not another ``echo`` that ``PATH`` may have first). An
environment with ``BASH_ENV`` or exported functions (``BASH_FUNC_*``) always gets bash,
which would read or define them first.

The program's environment is the one bash would give it: ``PWD`` (the physical directory
unless the inherited one names it), ``SHLVL`` and ``_`` (the program's path).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

# Bash's builtins and reserved words (bash 5.2, `compgen -b -k`), which bash runs itself.
_BASH_OWN = frozenset({
    ".", ":", "[", "[[", "]]", "alias", "bg", "bind", "break", "builtin", "caller", "case",
    "cd", "command", "compgen", "complete", "compopt", "continue", "coproc", "declare", "dirs",
    "disown", "do", "done", "echo", "elif", "else", "enable", "esac", "eval", "exec", "exit",
    "export", "false", "fc", "fg", "fi", "for", "function", "getopts", "hash", "help",
    "history", "if", "in", "jobs", "kill", "let", "local", "logout", "mapfile", "popd",
    "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "select", "set",
    "shift", "shopt", "source", "suspend", "test", "then", "time", "times", "trap", "true",
    "type", "typeset", "ulimit", "umask", "unalias", "unset", "until", "wait", "while", "{",
    "}", "!",
})

# Characters of an unquoted word that bash takes literally anywhere in it; `=` too, except
# in the first word (an assignment), and `%`, `^`, `,` which only matter inside braces
# and history expansion (off under -c).
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=,+@%^-")
_BLANK = " \t"
# Inside double quotes only these are special: `$`, backquote, backslash (and `!`, which
# history expansion would read in an interactive shell).
_NOT_IN_DOUBLE_QUOTES = frozenset("$`\\!")

_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


class Redirect(NamedTuple):
    """``fd`` opened on ``path`` (relative to the step's directory) with ``flags``."""

    fd: int
    path: str
    flags: int


class DirectCommand(NamedTuple):
    """A program's argv (``argv[0]`` as written) and its redirections, in order."""

    argv: tuple[str, ...]
    redirects: tuple[Redirect, ...]


class _Unsure(Exception):
    """The command has shell syntax: bash runs it."""


def direct_command(command: str) -> DirectCommand | None:
    """``command`` as a program and redirections, or None when bash has more to do than
    find a program and open files (see the module's docstring)."""
    try:
        argv, redirects = _Scanner(command).scan()
    except _Unsure:
        return None
    if not argv or (argv[0] in _BASH_OWN and argv[0] != "echo"):
        return None
    if "=" in argv[0] or argv[0][:1] in ("%", "^"):
        return None  # an assignment; a job (`%1` is `fg %1`); history (`^a^b`)
    if argv[0] == "echo" and any(arg.startswith("-") for arg in argv[1:]):
        return None  # bash's echo and /bin/echo differ on options (--help, --version)
    return DirectCommand(tuple(argv), tuple(redirects))


class _Scanner:
    """Splits one command into words and redirections, raising :class:`_Unsure` at the first
    character whose meaning to bash is more than literal text."""

    def __init__(self, text: str):
        self._text = text
        self._at = 0

    def scan(self) -> tuple[list[str], list[Redirect]]:
        words: list[str] = []
        redirects: list[Redirect] = []
        while True:
            self._skip_blanks()
            if self._at >= len(self._text):
                return words, redirects
            word, quoted = self._word()
            char = self._peek()
            if char in ("<", ">"):
                if word and (quoted or word != "2"):
                    raise _Unsure  # `x>f` is legal bash but not worth telling apart
                redirects.append(self._redirect(2 if word else None))
            elif word or quoted:
                words.append(word)
            else:
                raise _Unsure  # a character that is neither a word nor a redirection

    def _peek(self, ahead: int = 0) -> str:
        at = self._at + ahead
        return self._text[at] if at < len(self._text) else ""

    def _skip_blanks(self) -> None:
        while self._peek() and self._peek() in _BLANK:
            self._at += 1

    def _word(self) -> tuple[str, bool]:
        """The word at the cursor (quotes removed) and whether any of it was quoted."""
        parts: list[str] = []
        quoted = False
        while True:
            char = self._peek()
            if char in _PLAIN and char:
                parts.append(char)
                self._at += 1
            elif char in ("'", '"'):
                parts.append(self._quoted(char))
                quoted = True
            elif char == "" or char in _BLANK or char in "<>":
                return "".join(parts), quoted
            else:
                raise _Unsure

    def _quoted(self, quote: str) -> str:
        end = self._text.find(quote, self._at + 1)
        if end < 0:
            raise _Unsure  # unbalanced: bash reports it
        inner = self._text[self._at + 1:end]
        if quote == '"' and any(c in _NOT_IN_DOUBLE_QUOTES for c in inner):
            raise _Unsure
        self._at = end + 1
        return inner

    def _redirect(self, fd: int | None) -> Redirect:
        char = self._peek()
        self._at += 1
        if char == "<":
            flags, fd = os.O_RDONLY, 0 if fd is None else fd
        elif self._peek() == ">":
            self._at += 1
            flags, fd = _APPEND, 1 if fd is None else fd
        else:
            flags, fd = _WRITE, 1 if fd is None else fd
        if fd == 2 and flags == os.O_RDONLY:
            raise _Unsure  # `2<file` reads into stderr: rare, and left to bash
        if self._peek() in ("<", ">", "&", "|", "("):
            raise _Unsure  # <<, <>, >&, >|, >(...): bash's own
        self._skip_blanks()
        target, _ = self._word()
        if not target or self._peek() in ("<", ">"):
            raise _Unsure  # a missing or empty target, or `>a>b`
        if target.startswith("/dev/"):
            raise _Unsure  # bash emulates /dev/stdout, /dev/fd/N, /dev/tcp/HOST/PORT...
        return Redirect(fd, target, flags)


def program_path(name: str, env: Mapping[str, str], cwd: str) -> str | None:
    """Where bash would find ``name`` (a path when it has a slash; else the first
    executable regular file of that name on ``env``'s ``PATH``), or None if nowhere."""
    if "/" in name:
        path = name if os.path.isabs(name) else os.path.join(cwd, name)
        return name if _executable(path) else None
    if name == "echo":  # bash's own echo, whatever PATH has: coreutils' prints the same
        return next((p for p in _COREUTILS_ECHO if _executable(p)), None)
    for folder in env.get("PATH", "").split(":"):
        path = os.path.join(folder or ".", name)
        if _executable(path if os.path.isabs(path) else os.path.join(cwd, path)):
            return path
    return None


_COREUTILS_ECHO = ("/usr/bin/echo", "/bin/echo")


def _executable(path: str) -> bool:
    try:
        return os.path.isfile(path) and os.access(path, os.X_OK)
    except (OSError, ValueError):
        return False


def usable_env(env: Mapping[str, str]) -> bool:
    """False when bash would read a file or define functions before running anything."""
    return "BASH_ENV" not in env and "ENV" not in env and "POSIXLY_CORRECT" not in env \
        and not any(key.startswith("BASH_FUNC_") for key in env)


def program_env(env: Mapping[str, str], path: str, cwd: str, forked: bool) -> dict[str, str]:
    """``env`` as bash passes it to ``path``: ``PWD`` names ``cwd``, ``_`` is the program,
    and ``SHLVL`` is one more than bash's own (``forked``: bash forks for redirections; a
    lone command it execs in its own place, at its parent's level)."""
    out = dict(env)
    pwd = env.get("PWD", "")
    if not (pwd.startswith("/") and _same_dir(pwd, cwd)):
        out["PWD"] = cwd
    try:
        level = int(env.get("SHLVL", "0"))
    except ValueError:
        level = 0
    out["SHLVL"] = str(max(level, 0) + (1 if forked else 0))
    out["_"] = path
    return out


def _same_dir(one: str, two: str) -> bool:
    try:
        return os.path.samefile(one, two)
    except OSError:
        return False
