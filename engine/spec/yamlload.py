"""Stage 1, load: YAML text -> plain Python values plus the line/column of every value.

PyYAML's composer keeps a mark on every node; we construct the plain value ourselves so each
path (a tuple of keys and list indices) keeps the place it was written
(:mod:`engine.spec.yamlparse`). Duplicate keys, which PyYAML silently overwrites, are
reported. A document that loaded cleanly once is recalled from :mod:`engine.spec.yamlcache`
the next time its text is the same, without importing PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import Diagnostic, SpecError
from engine.spec.marks import Document, Marks, PathKey

__all__ = ["Document", "Marks", "PathKey", "load_scalar", "load_yaml_file", "load_yaml_text"]


def load_scalar(text: str) -> Any:
    """One value typed as YAML (``4`` -> 4, ``1e-6`` -> 1e-06); raises ``yaml.YAMLError``."""
    from engine.spec.yamlparse import load_scalar as parse_scalar

    return parse_scalar(text)


def load_yaml_file(path: str | Path, repeated_keys: str = "error") -> Document:
    """``repeated_keys``: "error" (specs) or "warn" (config files, where PyYAML - which
    MetaInformAnt uses - silently keeps the later value: a warning, and the later wins)."""
    path_str = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Diagnostic(f"file not found: {path_str}", path=path_str)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Diagnostic(f"cannot read file: {exc}", path=path_str)]) from None
    return load_yaml_text(text, path_str, repeated_keys)


def load_yaml_text(text: str, path: str = "<string>", repeated_keys: str = "error") -> Document:
    from engine.spec import yamlcache

    name = yamlcache.key(text, repeated_keys)
    recalled = yamlcache.recall(name)
    if recalled is not None:
        data, values, keys = recalled
        return Document(data=data, marks=Marks(path, values, keys))
    from engine.spec.yamlparse import parse_document

    document = parse_document(text, path, repeated_keys)
    if not document.warnings:  # errors raise; a document with warnings is parsed each time
        yamlcache.remember(name, document.data, document.marks)
    return document
