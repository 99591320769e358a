"""Stage 2a, validate against the JSON Schema (draft 2020-12), with friendly messages."""

from __future__ import annotations

import difflib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from engine.digests import blake2b
from engine.errors import Diagnostic, schema_type_words, value_words
from engine.resources import schema_path
from engine.spec.yamlcache import cache_dir
from engine.spec.yamlload import Marks, PathKey


@cache
def load_schema(name: str = "spec.schema.json") -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(name))


def _describe_place(path: PathKey, data: Any) -> str:
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        try:
            step_name = data["steps"][path[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            step_name = None
        rest = ".".join(str(p) for p in path[2:])
        label = f"step '{step_name}'" if step_name else f"step #{path[1] + 1}"
        return f"{label}" + (f", key '{rest}'" if rest else "")
    return "'" + ".".join(str(p) for p in path) + "'" if path else "the spec"


def _verdict_file(data: Any, name: str) -> Path | None:
    """Where a "valid" verdict for exactly this data under exactly this schema is kept.

    Importing jsonschema and building its validator is the largest part of a no-op run's
    start-up (≈35 ms of ≈140), yet a spec that validated once validates again as long as the
    data, the schema and jsonschema are the same. The key covers all three: ``repr`` of the
    data (types included: 1, 1.0, '1' and True differ), the schema's bytes, and the installed
    jsonschema's version file (a new jsonschema is a new key). Only "valid" is ever kept, so
    every error is still found and worded by jsonschema. None: no usable cache directory.
    """
    from importlib.util import find_spec

    found = find_spec("jsonschema")
    if found is None or found.origin is None:
        return None
    installed = os.stat(found.origin)
    digest = blake2b(schema_path(name).read_bytes(), digest_size=32)
    digest.update(f"\0{found.origin}\0{installed.st_size}\0{installed.st_mtime_ns}\0".encode())
    digest.update(repr(data).encode("utf-8", "surrogatepass"))
    return Path(cache_dir("valid-specs"), digest.hexdigest())


def _remember_valid(verdict: Path) -> None:
    try:
        verdict.parent.mkdir(parents=True, exist_ok=True)
        verdict.touch()
    except OSError:  # a read-only home: validate every time, as before the cache
        pass


def schema_diagnostics(data: Any, marks: Marks, name: str = "spec.schema.json") -> list[Diagnostic]:
    """Every schema violation as a Diagnostic at the offending line."""
    verdict = _verdict_file(data, name)
    if verdict is not None and verdict.exists():
        return []
    found = _all_diagnostics(data, marks, name)
    if not found and verdict is not None:
        _remember_valid(verdict)
    return found


def _all_diagnostics(data: Any, marks: Marks, name: str) -> list[Diagnostic]:
    validator = _validator(name)
    schema = load_schema(name)
    found: list[Diagnostic] = []
    seen: set[tuple[int | None, int | None, str]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(error.absolute_path)
        for diag in _explain(error, where, data, marks, schema):
            key = (diag.line, diag.col, diag.message)
            if key not in seen:
                seen.add(key)
                found.append(diag)
    return found


def _allowed_keys(error: Any, schema: dict[str, Any]) -> list[str]:
    props = error.schema.get("properties", {})
    return sorted(props)


def _explain(error: Any, where: PathKey, data: Any, marks: Marks,
             schema: dict[str, Any]) -> list[Diagnostic]:
    place = _describe_place(where, data)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = _allowed_keys(error, schema)
        extras = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        result = []
        for extra in extras:
            close = difflib.get_close_matches(str(extra), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            result.append(marks.diagnostic((*where, extra), f"unknown key '{extra}' in {place}",
                                           hint, key=True))
        return result
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [marks.diagnostic(where, f"{place} is missing the required key '{missing}'")]
    if validator == "oneOf" and len(where) == 2 and where[0] == "steps":
        inst = error.instance if isinstance(error.instance, dict) else {}
        both = "run" in inst and "uses" in inst
        message = (f"{place} has both 'run' and 'uses'" if both
                   else f"{place} needs 'run' (a shell command) or 'uses' (a step function)")
        return [marks.diagnostic(where, message, "give exactly one of 'run' or 'uses'")]
    if validator == "oneOf" and error.context:
        # A branch whose type matched but a constraint failed says the most ("0 is less than
        # the minimum of 1"); if only types failed, name every type that would do.
        specific = [e for e in error.context if e.validator not in ("type", "oneOf", "not", "required")]
        if specific:
            return [marks.diagnostic(where, f"{place}: {_plain(specific[0])}")]
        types: list[str] = []
        for sub_error in error.context:
            if sub_error.validator == "type" and not sub_error.relative_path:
                value = sub_error.validator_value
                types.extend(value if isinstance(value, list) else [value])
        wanted = schema_type_words(types) if types else "another form"
        got = value_words(error.instance)
        paths_hint = "a path is a string; several paths are a list of strings"
        return [marks.diagnostic(where, f"{place}: expected {wanted}, got {got}",
                                 paths_hint if "array" in types else None)]
    if validator == "minItems" and where == ("steps",):
        return [marks.diagnostic(where, "the spec has no steps", "add at least one step")]
    if validator == "pattern":
        hint = ("names use letters, digits, '_' and '-'" if "uses" not in where
                else "step functions look like 'core.concat', your own Python functions "
                "like 'mylab.stats:summarise'")
        return [marks.diagnostic(where, f"{place}: {error.instance!r} is not a valid name", hint)]
    return [marks.diagnostic(where, f"{place}: {_plain(error)}")]


def _plain(error: Any) -> str:
    if error.validator == "type":
        return f"expected {schema_type_words(error.validator_value)}, got {value_words(error.instance)}"
    return str(error.message)
