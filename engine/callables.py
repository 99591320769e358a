"""Plain Python functions as steps: ``uses: "package.module:function"``.

A user calls their own code without writing a step library: the function is imported by name
when a spec names it (the registry asks :func:`resolve`), and :func:`as_step` adapts it to the
engine's step calling convention. The function is called with keyword arguments:

- every param (``params:``);
- every input: a ``Path`` (or a list of them), except an input whose path ends in
  :data:`RESULT_SUFFIX`, which arrives as the value that file holds (another plain function's
  return value: MetaInformAnt's ``func(**params, **{dependency: its result})``);
- every output but ``result``: a ``Path`` to write.

Its return value is written to the output named ``result`` when the step declares one (that
is how a downstream step, even in a later run, gets it without rerunning this one). A return
value in the seed's result standard (a mapping whose ``status`` is completed, failed or
skipped) is also handed to the engine, so ``{"status": "failed", "errors": [...]}`` fails the
step.

Results are kept as JSON when they survive a JSON round trip unchanged (readable with ``cat``),
else as a pickle; :func:`read_result` tells them apart by the pickle's first byte.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import FunctionImportError, StepError

RESULT_OUTPUT = "result"
"""The output name under which a plain function's return value is kept."""

RESULT_SUFFIX = ".result"
"""A file holding one step's return value (JSON or pickle)."""

SEED_STATUSES = ("completed", "failed", "skipped")

_FORMAT_HINT = "write it as 'package.module:function', e.g. 'mylab.stats:summarise'"


def is_reference(name: str) -> bool:
    """Whether ``name`` names a function by ``module:attribute`` (not a registered step)."""
    return ":" in name


def split_reference(reference: str) -> tuple[str, str]:
    """``"pkg.mod:func"`` -> ("pkg.mod", "func"); raises FunctionImportError otherwise."""
    module, sep, attribute = reference.rpartition(":")
    if not sep or not module.strip() or not attribute.strip():
        raise FunctionImportError(
            reference, "Function reference must be in 'module.path:function_name' format, "
            f"got: {reference!r}", _FORMAT_HINT)
    return module.strip(), attribute.strip()


def resolve(reference: str) -> Callable[..., Any]:
    """Import ``module`` and return its callable ``attribute`` (a dotted path is followed)."""
    module_name, attribute = split_reference(reference)
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise FunctionImportError(
            reference, f"cannot import module '{module_name}' ({exc})",
            "make it importable where mi-run (and its worker processes) run: install its "
            "package, or put its directory on PYTHONPATH (PYTHONPATH=DIR mi-run ...)") from None
    except Exception as exc:  # the module itself raised while being imported
        raise FunctionImportError(
            reference, f"importing module '{module_name}' raised "
            f"{type(exc).__name__}: {exc}", "fix the module so that it imports") from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            names = [n for n in dir(found) if not n.startswith("_")]
            import difflib

            close = difflib.get_close_matches(part, names, n=1)
            hint = f"did you mean '{module_name}:{close[0]}'?" if close else \
                f"define '{attribute}' in module '{module_name}'"
            raise FunctionImportError(
                reference, f"module '{module_name}' has no attribute '{attribute}'",
                hint) from None
    if not callable(found):
        raise FunctionImportError(reference, f"{reference!r} resolved to a non-callable object",
                                  "name a function (or another callable)")
    return found  # type: ignore[no-any-return]


def as_step(function: Callable[..., Any]) -> Callable[..., Any]:
    """The engine's ``fn(config, *, inputs, outputs, context)`` around a plain function."""

    def call(config: Mapping[str, Any], *, inputs: Mapping[str, Any],
             outputs: Mapping[str, Any], context: Any) -> Any:
        kwargs = dict(config)
        for name, value in inputs.items():
            kwargs[name] = _input_value(value)
        result_path = None
        for name, value in outputs.items():
            if name == RESULT_OUTPUT:
                result_path = value
            else:
                kwargs[name] = value
        if _accepts_context(function):
            kwargs["context"] = context
        returned = function(**kwargs)
        if result_path is not None:
            if not isinstance(result_path, Path):
                raise StepError("the output 'result' is one file, got a list",
                                "give 'result' a single path ending in .result, .json or "
                                ".pickle")
            write_result(result_path, returned)
        return returned if is_seed_result(returned) else None

    call.__wrapped__ = function  # type: ignore[attr-defined]  # code identity: its source
    call.__doc__ = inspect.getdoc(function)
    return call


def _accepts_context(function: Callable[..., Any]) -> bool:
    try:
        return "context" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def is_seed_result(value: Any) -> bool:
    """A mapping in MetaInformAnt's step-result standard (its ``status`` is a known word)."""
    return isinstance(value, Mapping) and value.get("status") in SEED_STATUSES


def _input_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_input_value(v) for v in value]
    if isinstance(value, Path) and value.name.endswith(RESULT_SUFFIX):
        return read_result(value)
    return value


def write_result(path: str | os.PathLike[str], value: Any) -> None:
    """Keep ``value`` in ``path``: JSON for ``.json`` (an error if it is not JSON),
    a pickle for ``.pickle``/``.pkl``, and for ``.result`` JSON when the value comes back
    from JSON unchanged, else a pickle. Written atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    data: bytes
    if suffix in (".pickle", ".pkl"):
        data = _pickled(value)
    else:
        text = _json_exact(value)
        if text is None and suffix == ".json":
            raise StepError(f"the function's return value ({type(value).__name__}) cannot be "
                            f"kept as JSON in {path}",
                            "return JSON-compatible data, or name the output .result or "
                            ".pickle to keep it as a pickle")
        data = text.encode() if text is not None else _pickled(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def read_result(path: str | os.PathLike[str]) -> Any:
    """The value kept by :func:`write_result` (a pickle starts with protocol byte 0x80)."""
    data = Path(path).read_bytes()
    if data[:1] == b"\x80":
        import pickle  # only for a kept result that is not JSON

        return pickle.loads(data)
    return json.loads(data.decode("utf-8"))


def _json_exact(value: Any) -> str | None:
    try:
        text = json.dumps(value, sort_keys=False, allow_nan=False)
    except (TypeError, ValueError):
        return None
    try:
        same = json.loads(text) == value and _same_types(json.loads(text), value)
    except Exception:  # an odd __eq__ of the value's own types
        return None
    return text + "\n" if same else None


def _same_types(loaded: Any, value: Any) -> bool:
    """JSON turns tuples into lists and 1.0 == 1: keep those as pickles."""
    if type(loaded) is not type(value):
        return False
    if isinstance(value, dict):
        return all(_same_types(loaded[k], v) for k, v in value.items())
    if isinstance(value, list):
        return all(_same_types(a, b) for a, b in zip(loaded, value, strict=True))
    return True


def _pickled(value: Any) -> bytes:
    import pickle

    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise StepError(f"the function's return value ({type(value).__name__}) cannot be "
                        f"kept: it cannot be pickled ({exc})",
                        "return plain data (numbers, text, lists, dicts, paths, "
                        "data frames)") from None
