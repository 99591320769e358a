"""Stage 2a, validate against the JSON Schema (draft 2020-12), with friendly messages."""

from __future__ import annotations

import difflib
import json
from functools import cache
from typing import Any

from engine.errors import Diagnostic, schema_type_words, value_words
from engine.resources import schema_path
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


def schema_diagnostics(data: Any, marks: Marks, name: str = "spec.schema.json") -> list[Diagnostic]:
    """Every schema violation as a Diagnostic at the offending line."""
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
