"""Step params: fill defaults from the step's schema, then validate (every problem reported)."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from engine.errors import schema_type_words, value_words


def fill_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's ``default``s filled in (nested objects too)."""
    if not isinstance(value, Mapping) or schema.get("type") not in (None, "object"):
        return value
    result = dict(value)
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        if isinstance(result.get(key), bool) and _is_yes_no(prop):
            # YAML 1.1 reads amalgkit's `redo: yes` as true: to a user they are the same
            result[key] = "yes" if result[key] else "no"
        if key not in result and "default" in prop:
            result[key] = copy.deepcopy(prop["default"])
        if key in result and prop.get("type") == "object":
            result[key] = fill_defaults(prop, result[key])
    return result


def _is_yes_no(prop: Mapping[str, Any]) -> bool:
    """A param taking the words yes/no (amalgkit's flags), not a boolean."""
    choices = prop.get("enum")
    return isinstance(choices, list) and {"yes", "no"} <= set(choices) and \
        all(isinstance(c, str) for c in choices)


@lru_cache(maxsize=512)
def _validator_for(schema_key: str) -> Any:
    import json

    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_key))


class ParamProblem(NamedTuple):
    """One violation of a params schema."""

    where: tuple[str | int, ...]  # path inside params
    message: str  # the whole message, with the offending value
    hint: str | None
    problem: str  # the message without the value: the same problem in many fan-out instances
    got: str | None  # the offending value, as the message shows it (None: not part of it)
    param: str | None = None  # the top-level param it concerns (None: params as a whole)
    unknown: bool = False  # a param the schema does not know (located at its key)


def params_problems(schema: Mapping[str, Any], params: Mapping[str, Any]) -> list[ParamProblem]:
    """Every violation of ``schema`` by ``params``."""
    import json

    validator = _validator_for(json.dumps(schema, sort_keys=True, default=str))
    problems: list[ParamProblem] = []
    for error in validator.iter_errors(params):
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            problems.extend(_unknown(where, error))
        else:
            problems.append(_violation(where, error))
    return problems


def _unknown(where: tuple[str | int, ...], error: Any) -> list[ParamProblem]:
    allowed = sorted(error.schema.get("properties") or {})
    found = []
    for extra in error.instance:
        if extra in allowed:
            continue
        close = difflib.get_close_matches(str(extra), allowed, n=1)
        hint = (f"did you mean '{close[0]}'?" if close
                else f"known params: {', '.join(allowed)}" if allowed else "it takes no params")
        message = f"unknown param '{extra}'"
        top = str(where[0]) if where else str(extra)
        found.append(ParamProblem((*where, extra), message, hint, message, None, top, True))
    return found


_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_SIZES = {"minLength": ("at least", "characters"), "maxLength": ("at most", "characters"),
          "minItems": ("at least", "items"), "maxItems": ("at most", "items"),
          "minProperties": ("at least", "entries"), "maxProperties": ("at most", "entries")}


def _violation(where: tuple[str | int, ...], error: Any) -> ParamProblem:
    found = _described(where, error)
    if where:
        return found._replace(param=str(where[0]))
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in error.validator_value if key not in error.instance]
        return found._replace(param=str(missing[0]) if missing else None)
    return found


def _described(where: tuple[str | int, ...], error: Any) -> ParamProblem:
    name = ".".join(map(str, where)) or "params"
    kind, wanted, got = error.validator, error.validator_value, repr(error.instance)
    if kind == "type":  # in YAML's words: 'a list', 'a mapping', not 'array', 'dict'
        return _with_value(where, f"param '{name}' must be {schema_type_words(wanted)}",
                           value_words(error.instance))
    if kind == "enum":
        choices = ", ".join(map(repr, wanted))
        close = difflib.get_close_matches(str(error.instance), [str(c) for c in wanted], n=1)
        return ParamProblem(where, f"param '{name}' is {got}, not one of {choices}",
                            f"did you mean '{close[0]}'?" if close else None,
                            f"param '{name}' is not one of {choices}", got)
    if kind in _BOUNDS:
        return _with_value(where, f"param '{name}' must be {_BOUNDS[kind]} {wanted}", got)
    if kind in _SIZES:
        most, unit = _SIZES[kind]
        return _with_value(where, f"param '{name}' must have {most} {wanted} {unit}", got)
    if kind == "pattern":
        return _with_value(where, f"param '{name}' must match '{wanted}'", got)
    if kind == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in wanted if key not in error.instance]
        name = ".".join([*map(str, where), *missing[:1]])
        message = f"missing required param '{name}'"
        return ParamProblem(where, message, f"set it: params: {{{name}: ...}}", message, None)
    message = f"param '{name}': {error.message}"
    return ParamProblem(where, message, None, message, None)


def _with_value(where: tuple[str | int, ...], problem: str, got: str) -> ParamProblem:
    return ParamProblem(where, f"{problem}, got {got}", None, problem, got)
