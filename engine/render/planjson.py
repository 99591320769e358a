"""``mi-run --dry-run --json`` of a big plan, written row by row as text.

``json.dumps`` of the rows (:func:`engine.render.dryrun.plan_json`) is exact but, at 100,000
instances, building one dict per row and encoding it took a fifth of the whole dry run. Most
of a row is shared by every instance of a step (the step's name, its ``uses``, the decision,
which is usually one shared object): those parts are encoded once; per row only the strings
that differ (id, paths, command, predecessors) go through the C string encoder, into one
``%`` format. Anything that is not a plain string, ``None``, or a dict/tuple/list of strings
is encoded by ``json`` itself, so the text is exactly what :func:`print_json` writes for the
same document (tested byte for byte).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from engine.model import Action
from engine.render.dryrun import plan_json, row_decisions
from engine.render.jsonout import COMPACT_ABOVE, print_json

if TYPE_CHECKING:
    from engine.plan.plan import Plan
    from engine.running.decide import Decision

_ROW = ('{"id":%s,"step":%s,"action":%s,"reasons":%s,"inputs":%s,"outputs":%s,'
        '"depends_on":%s,"command":%s,"uses":%s}')
# What print_json uses for a compact document: the reference for every fallback below.
_generic: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), default=str).encode
_text: Callable[[str], str] = encode_basestring_ascii


def print_plan_json(plan: Plan, decisions: Mapping[str, Decision] | None,
                    accepted_unused: list[dict[str, Any]]) -> None:
    """Write ``{"workflow", "steps", "accepted_unused"}`` to stdout, as :func:`print_json`
    would write it (small plans go through it: they are indented)."""
    if len(plan.instances) + len(plan.pending) <= COMPACT_ABOVE:
        document = plan_json(plan, decisions)
        document["accepted_unused"] = accepted_unused
        print_json(document)
        return
    for piece in plan_json_pieces(plan, decisions, accepted_unused):  # no 24 MB copies
        sys.stdout.write(piece)
    sys.stdout.write("\n")


def plan_json_text(plan: Plan, decisions: Mapping[str, Decision] | None,
                   accepted_unused: list[dict[str, Any]]) -> str:
    """The compact JSON text of the dry-run document."""
    return "".join(plan_json_pieces(plan, decisions, accepted_unused))


def plan_json_pieces(plan: Plan, decisions: Mapping[str, Decision] | None,
                     accepted_unused: list[dict[str, Any]]) -> list[str]:
    """The compact JSON text of the dry-run document in three pieces: the rows are joined
    once, and not copied again by concatenating them with the head and the tail."""
    preds = plan.graph.predecessor_map()
    text, generic, row = _text, _generic, _ROW
    encoded: dict[Any, str] = {}  # step names, uses and decisions: each encoded once

    def once(value: Any) -> str:
        found = encoded.get(value)
        if found is None:
            found = encoded[value] = generic(value)
        return found

    # Shared decisions share one reasons list: encode it once. The entry keeps the list
    # alive, so its id cannot be reused by another list while the rows are written.
    decided: dict[int, tuple[list[str], str, str, str]] = {}
    rows = []
    for node, instance, action, reasons in row_decisions(plan, decisions):
        pair = decided.get(id(reasons))
        if pair is None or pair[0] is not reasons or pair[1] != action:
            pair = decided[id(reasons)] = (reasons, action, text(action), _strings(reasons))
        step, uses, command = instance.step, instance.uses, instance.command
        before = preds.get(node)
        rows.append(row % (
            text(node), encoded.get(step) or once(step), pair[2], pair[3],
            _paths(instance.inputs), _paths(instance.outputs),
            "[]" if before is None else _strings(before),
            "null" if command is None else text(command) if type(command) is str
            else generic(command),
            encoded.get(uses) or once(uses)))
    for node, pending in plan.pending.items():
        rows.append(row % (text(node), text(pending.step), text(Action.PENDING.value),
                           _strings([pending.reason]), "{}", "{}",
                           _strings(preds.get(node, ())), "null", "null"))
    return ['{"workflow":' + generic(plan.workflow) + ',"steps":[', ",".join(rows),
            '],"accepted_unused":' + generic(accepted_unused) + "}"]


def _strings(values: Sequence[Any]) -> str:
    """A list or tuple of strings (anything else: as json encodes it)."""
    if type(values) is list or type(values) is tuple:
        try:  # the string encoder takes str (and its subclasses, as json does) only
            return "[" + ",".join(map(_text, values)) + "]"
        except TypeError:
            pass
    return _generic(values)


def _paths(mapping: Mapping[str, Any]) -> str:
    """A dict of a step's inputs or outputs: path strings or lists of them."""
    if type(mapping) is not dict:
        return _generic(mapping)
    if not mapping:
        return "{}"
    parts = []
    for key, value in mapping.items():
        if type(key) is not str:
            return _generic(mapping)
        parts.append(_text(key) + ":" + (_text(value) if type(value) is str else _strings(value)))
    return "{" + ",".join(parts) + "}"
