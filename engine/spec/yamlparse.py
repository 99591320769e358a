"""PyYAML's composer with a mark on every value: the parsing half of
:mod:`engine.spec.yamlload`, imported only when a document is not in
:mod:`engine.spec.yamlcache` (importing PyYAML is a tenth of a no-op run's start-up)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from engine.errors import Diagnostic, SpecError
from engine.spec.marks import Document, Marks, PathKey

try:  # the C loader composes several times faster
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader, reading ``1e-6`` as a number (YAML 1.2) where YAML 1.1 reads a
    string: a p-value threshold written as a scientist writes it must not become text."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load_scalar(text: str) -> Any:
    """One value typed as YAML (``4`` -> 4, ``1e-6`` -> 1e-06); raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: no object tags


def parse_document(text: str, path: str, repeated_keys: str) -> Document:
    """``text`` as a :class:`Document`; raises :class:`SpecError` for invalid YAML, and for
    repeated keys unless ``repeated_keys`` is "warn"."""
    loader = _Loader(text)
    marks = Marks(path=path)
    problems: list[Diagnostic] = []
    try:
        node = loader.get_single_node()
        data = _construct(loader, node, (), marks, problems) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"invalid YAML: {exc.problem or exc.context}"
        hint = "check indentation and quoting; a value containing ': ' or starting with '{' needs quotes"
        raise SpecError([Diagnostic(message, path, line, col, hint)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(f"invalid YAML: {exc}", path)]) from None
    finally:
        loader.dispose()
    if repeated_keys == "warn":
        warnings = tuple(Diagnostic(p.message.replace("would silently win", "wins, as in PyYAML"),
                                    p.path, p.line, p.col, p.hint, severity="warning")
                         for p in problems if p.message.startswith("duplicate key"))
        problems = [p for p in problems if not p.message.startswith("duplicate key")]
        if problems:
            raise SpecError(problems)
        return Document(data=data, marks=marks, warnings=warnings)
    if problems:
        raise SpecError(problems)
    return Document(data=data, marks=marks)


def _construct(loader: Any, node: Any, where: PathKey, marks: Marks,
               problems: list[Diagnostic]) -> Any:
    marks.values[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        # Keys written in this mapping (not merged in with `<<: *anchor`): only a repeat among
        # these is a mistake; overriding a merged key is what merge keys are for.
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        written: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            child = (*where, key)
            if id(key_node) in explicit:
                repeated = key in written
                written.add(key)
            else:
                repeated = False
            if repeated:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append(
                    Diagnostic(
                        f"duplicate key '{key}' (the later value would silently win)",
                        marks.path, line, col, "remove or rename one of them",
                    )
                )
            marks.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(loader, value_node, child, marks, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*where, i), marks, problems)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
