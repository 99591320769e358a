"""Parsed YAML documents kept between runs: the same text parses to the same values and marks.

Importing PyYAML and composing a spec with a mark on every value is about a tenth of a no-op
run's start-up, yet a spec is read far more often than it is edited. So a document that
loaded without a single problem or warning is kept in ``$XDG_CACHE_HOME/mi-run/parsed/``
(``~/.cache`` without it), in :mod:`marshal` format, under a BLAKE2 digest of

* its text and the duplicate-key mode it was read with (the file's path is not part of it:
  marks are rebuilt with the path asked for);
* the size and modification time of the parsing code (:mod:`engine.spec.yamlparse`) and of
  the installed PyYAML, so a new parser or PyYAML is a new key.

Errors are never kept: a document with a problem is parsed, and its problem worded, every
time. Values marshal cannot hold (dates and timestamps) make a document uncached, not wrong.
Any cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import marshal
import os
from functools import cache
from typing import Any

FORMAT = 1  # bumped when what is stored changes shape
KEEP = 256  # documents kept; beyond it the older half goes


def cache_dir(kind: str) -> str:
    """``$XDG_CACHE_HOME/mi-run/<kind>`` (``~/.cache/mi-run/<kind>`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mi-run", kind)


def _stamp(path: str | None) -> str:
    try:
        info = os.stat(path) if path else None
    except OSError:
        return f"{path}:missing"
    return f"{path}:{info.st_size}:{info.st_mtime_ns}" if info else "none"


@cache  # once per process: a spec and its config files share it
def _parsers_stamp() -> str:
    from importlib.util import find_spec

    try:
        found = find_spec("yaml")
    except (ImportError, ValueError):
        found = None
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "yamlparse.py")
    return f"{_stamp(here)}\0{_stamp(found.origin if found else None)}"


def key(text: str, repeated_keys: str) -> str:
    """The name ``text`` read with ``repeated_keys`` is kept under."""
    try:  # BLAKE2 is built into CPython; hashlib would load OpenSSL's bindings (~2 ms)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - another Python implementation
        from hashlib import blake2b
    digest = blake2b(digest_size=20)
    digest.update(f"{FORMAT}\0{repeated_keys}\0{_parsers_stamp()}\0".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def recall(name: str) -> tuple[Any, dict[Any, Any], dict[Any, Any]] | None:
    """(data, value marks, key marks) of the document kept under ``name`` (:func:`key`), or
    None."""
    try:
        with open(os.path.join(cache_dir("parsed"), name), "rb") as handle:
            kept = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(kept, tuple) and len(kept) == 4 and kept[0] == FORMAT
            and isinstance(kept[2], dict) and isinstance(kept[3], dict)):
        return None
    return kept[1], kept[2], kept[3]


def remember(name: str, data: Any, marks: Any) -> None:
    """Keep a document that loaded cleanly under ``name`` (:func:`key`; ``marks``: its
    :class:`~engine.spec.yamlload.Marks`)."""
    try:
        blob = marshal.dumps((FORMAT, data, marks.values, marks.keys))
    except ValueError:  # a date or timestamp: parsed again next time
        return
    folder = cache_dir("parsed")
    target = os.path.join(folder, name)
    scratch = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(scratch, "wb") as handle:
            handle.write(blob)
        os.replace(scratch, target)  # whole or not at all, also with two runs at once
        _prune(folder)
    except OSError:  # a read-only or full home: parse every time, as without the cache
        try:
            os.unlink(scratch)
        except OSError:
            pass


def _prune(folder: str) -> None:
    with os.scandir(folder) as found:
        entries = [e for e in found if e.is_file()]
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[: len(entries) - KEEP // 2]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass
