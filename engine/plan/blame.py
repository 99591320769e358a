"""Which config value a missing input's path came from.

An input path is usually a spec template over config values (``{{ genome.dest_dir }}/...``).
When a user's config file (or ``--set``, or ``MI_*``) set the value that names the missing
file, the mistake (or the file to put in place) is the user's: the error points at that line
of their file, not at the spec's template that read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.spec.config import Origin, ResolvedConfig, config_attributes
from engine.spec.templates import TemplateError, is_template, referenced_names
from engine.spec.yamlload import PathKey


def config_source(config: ResolvedConfig, spec_config: Mapping[str, Any],
                  templates: Iterable[Any], path: str) -> tuple[str, Origin] | None:
    """(dotted key, where it was set) of the user-set config value that names ``path``.

    The candidates are the scalar values outside the spec that the templates read, directly or
    through the spec's config templates. A value names the path when it is whole path
    components of it (a leading directory, a trailing file, or a folder in between); the one
    ending last wins (``GCF_1`` in ``genome/ncbi_dataset/data/GCF_1/rna.fna``), so the most
    specific value is blamed. None when no user-set value names the path.
    """
    best: tuple[tuple[int, int], PathKey, Origin] | None = None
    for where, value, origin in _user_values(config, spec_config, templates):
        end = _component_end(path, value)
        if end is None:
            continue
        rank = (end, len(value))
        if best is None or rank > best[0]:
            best = (rank, where, origin)
    if best is None:
        return None
    return ".".join(str(k) for k in best[1]), best[2]


def _user_values(config: ResolvedConfig, spec_config: Mapping[str, Any],
                 templates: Iterable[Any]) -> list[tuple[PathKey, str, Origin]]:
    keys = set(config.values) - {"steps"}
    todo = [name for source in _sources(templates) for name in _names(source, keys)]
    seen: set[str] = set()
    found: list[tuple[PathKey, str, Origin]] = []
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for where, value in _leaves(config.values[key], (key,)):
            origin = config.origin(where)
            if origin is not None and origin.layer != "spec" and str(value):
                found.append((where, str(value), origin))
        top = config.origin((key,))
        if top is None or top.layer == "spec":  # a spec template: follow what it reads
            todo += [n for s in _sources([spec_config.get(key)]) for n in _names(s, keys)]
    return found


def _sources(values: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        if is_template(value):
            found.append(value)
        elif isinstance(value, Mapping):
            found += _sources(value.values())
        elif isinstance(value, list):
            found += _sources(value)
    return found


def _names(source: str, keys: set[str]) -> set[str]:
    try:
        names = referenced_names(source)
    except TemplateError:
        return set()
    if "config" in names:
        names |= config_attributes(source, keys)
    return names & keys


def _leaves(value: Any, where: PathKey) -> list[tuple[PathKey, Any]]:
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*where, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*where, i))]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [(where, value)]
    return []


_PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")


def _component_end(path: str, value: str) -> int | None:
    """Where ``value`` ends in ``path`` if it is whole components of it, else None. A value
    with ``{name}`` placeholders (``data/{species}.fa``) matches with any text in their place."""
    value = value.rstrip("/")
    if not value:
        return None
    if _PLACEHOLDER.search(value):
        pattern = "[^/]+".join(re.escape(part) for part in _PLACEHOLDER.split(value))
        ends = [m.end(1) for m in re.finditer(f"(?:^|/)({pattern})(?=/|$)", path)]
        return ends[-1] if ends else None
    if path == value:
        return len(path)
    if path.startswith(value + "/"):
        return len(value)
    end = None
    start = path.find("/" + value)
    while start >= 0:
        stop = start + 1 + len(value)
        if stop == len(path) or path[stop] == "/":
            end = stop
        start = path.find("/" + value, start + 1)
    return end
