"""The compiled methods of dataclasses, kept between runs of ``mi-run``.

Python writes each dataclass's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and, for
frozen ones, ``__setattr__`` and ``__delattr__`` as source text and compiles it when the class
is created: about half a millisecond a class on Python 3.11, and ``mi-run`` creates some 45 of
them on its way to running a step, a third of its start-up. The text depends only on the
class's shape (field names, options), never on the values, which ``dataclasses`` passes in
separately; compiling the same text gives the same code. So the command line keeps the code
objects in ``$XDG_CACHE_HOME/mi-run/code/`` (``marshal`` format, one file per Python bytecode
version), keyed by the exact text, and ``dataclasses`` gets them from there instead of from
the compiler: :func:`install` gives the ``dataclasses`` module an ``exec`` that looks the text
up first, and :func:`save` writes what was compiled anew.

Nothing else changes: a text not kept is compiled as ``exec`` would compile it (the same
file name, no ``__future__`` flags inherited), a damaged or unreadable file is ignored, and
only the ``mi-run`` command installs it (``import engine`` does not touch ``dataclasses``).
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys
from types import CodeType
from typing import Any

FORMAT = 2  # of the file: text -> marshalled code
KEEP = 4000  # texts kept; beyond it, only those this process used

# text -> its code, marshalled: unmarshalling only the code a process uses is ~25x faster
# than unmarshalling every kept code object at start
_known: dict[str, bytes] = {}
_used: set[str] = set()
_compiled = False  # a text was compiled in this process: save() has something to add


def cache_file() -> str:
    from engine.spec.yamlcache import cache_dir

    tag = f"{sys.implementation.cache_tag}-{sys.hexversion:x}-m{marshal.version}"
    return os.path.join(cache_dir("code"), f"dataclasses-{FORMAT}-{tag}.marshal")


def cached_exec(source: Any, globals_: dict[str, Any] | None = None,
                locals_: dict[str, Any] | None = None, /) -> None:
    """``exec`` for ``dataclasses``: a source text seen before runs its kept code."""
    global _compiled
    if type(source) is str:
        kept = _known.get(source)
        code = _load(kept) if kept is not None else None
        if code is None:
            # as exec(source) from dataclasses compiles it: dataclasses has no __future__
            # imports, and this module's must not leak into the methods (annotations)
            code = compile(source, "<string>", "exec", dont_inherit=True)
            _known[source] = marshal.dumps(code)
            _compiled = True
        _used.add(source)
        source = code
    builtins.exec(source, globals_, locals_)


def _load(kept: bytes) -> CodeType | None:
    try:
        code = marshal.loads(kept)
    except (EOFError, ValueError, TypeError):
        return None
    return code if type(code) is CodeType else None


def install() -> None:
    """Load the kept code and route ``dataclasses``' compiling through it."""
    import dataclasses

    try:
        with open(cache_file(), "rb") as handle:
            kept = marshal.load(handle)
        if isinstance(kept, dict):
            _known.update((text, code) for text, code in kept.items()
                          if type(text) is str and type(code) is bytes)
    except (OSError, EOFError, ValueError, TypeError):
        pass  # none kept yet, or unreadable: compile as usual
    dataclasses.exec = cached_exec  # type: ignore[attr-defined]  # shadows the builtin there


def save() -> None:
    """Keep what was compiled anew in this process (nothing to do when nothing was)."""
    if not _compiled:
        return
    kept = _known if len(_known) <= KEEP else {t: _known[t] for t in _used}
    path = cache_file()
    temporary = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump(kept, handle)
        os.replace(temporary, path)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
