"""Step params: fill defaults from the step's schema, then validate (every problem reported)."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from engine.errors import schema_type_words, value_words


def fill_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's ``default``s filled in (nested objects too)."""
    if not isinstance(value, Mapping) or schema.get("type") not in (None, "object"):
        return value
    result = dict(value)
    for key, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        if key not in result and "default" in prop:
            result[key] = copy.deepcopy(prop["default"])
        if key in result and prop.get("type") == "object":
            result[key] = fill_defaults(prop, result[key])
    return result


@lru_cache(maxsize=512)
def _validator_for(schema_key: str) -> Any:
    import json

    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_key))


def params_problems(
    schema: Mapping[str, Any], params: Mapping[str, Any]
) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    """(path inside params, message, hint) for every violation."""
    import json

    validator = _validator_for(json.dumps(schema, sort_keys=True, default=str))
    problems: list[tuple[tuple[str | int, ...], str, str | None]] = []
    for error in validator.iter_errors(params):
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            allowed = sorted(error.schema.get("properties") or {})
            for extra in error.instance:
                if extra in allowed:
                    continue
                close = difflib.get_close_matches(str(extra), allowed, n=1)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"known params: {', '.join(allowed)}" if allowed else "it takes no params")
                problems.append(((*where, extra), f"unknown param '{extra}'", hint))
        elif error.validator == "type":
            name = ".".join(map(str, where)) or "params"
            problems.append((where, f"param '{name}' must be "
                             f"{schema_type_words(error.validator_value)}, got "
                             f"{value_words(error.instance)}", None))
        elif error.validator == "enum":
            name = ".".join(map(str, where)) or "params"
            choices = ", ".join(map(repr, error.validator_value))
            names = [str(c) for c in error.validator_value]
            close = difflib.get_close_matches(str(error.instance), names, n=1)
            problems.append((where, f"param '{name}' is {error.instance!r}, not one of {choices}",
                             f"did you mean '{close[0]}'?" if close else None))
        else:
            name = ".".join(map(str, where)) or "params"
            problems.append((where, f"param '{name}': {error.message}", None))
    return problems
