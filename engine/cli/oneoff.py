"""``mi-run step NAME --input k=PATH --output k=PATH --param k=VALUE``: one step by hand.

The seed's one-off commands (``metainformant gwas plot --input results.tsv --type manhattan``)
become ``mi-run step gwas.plots -i results=results.tsv -o manhattan=m.png -p kind=manhattan``.
The step runs in this process with the same contract, validation and output checks as in a
workflow, but nothing is recorded in a state store.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any

from engine.errors import Diagnostic, SpecError, UnknownStepError, UsageError
from engine.model import PathValue, Status, StepInstance
from engine.params import fill_defaults, params_problems
from engine.registry import get_step
from engine.spec.config import parse_scalar


def _pairs(items: list[str], what: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--{what} expects NAME=VALUE, got '{item}'")
        found[key.strip()] = value
    return found


def _paths(items: list[str], what: str) -> dict[str, PathValue]:
    return {k: (tuple(v.split(",")) if "," in v else v) for k, v in _pairs(items, what).items()}


def run_one_step(args: argparse.Namespace) -> int:
    from engine.executors.worker import execute

    try:
        info = get_step(args.name)
    except UnknownStepError as exc:
        hint = f"did you mean '{exc.suggestions[0]}'?" if exc.suggestions else "see: mi-run steps"
        raise UsageError(str(exc), hint) from None
    params: dict[str, Any] = {k: parse_scalar(v) for k, v in _pairs(args.param, "param").items()}
    params = fill_defaults(info.params_schema, params)
    inputs, outputs = _paths(args.input, "input"), _paths(args.output, "output")
    problems = [(p.message, p.hint) for p in params_problems(info.params_schema, params)]
    for which, given in (("inputs", inputs), ("outputs", outputs)):
        problems += [(p.message, p.hint) for p in info.port_problems(which, given)]
    for port in info.outputs or ():
        value = outputs.get(port.name, ())
        for path in (value,) if isinstance(value, str) else value:
            if port.suffixes and not path.lower().endswith(port.suffixes):
                problems.append((f"cannot write output '{port.name}' as '{path}'",
                                 f"{args.name} writes '{port.name}' as "
                                 + ", ".join(port.suffixes)))
    if problems:
        raise SpecError([Diagnostic(f"{args.name}: {message}", path="<command line>",
                                    hint=hint) for message, hint in problems])
    instance = StepInstance(
        id=args.name, step=args.name, uses=args.name, command=None, params=params,
        inputs=inputs, outputs=outputs, threads=args.threads, work_dir=os.getcwd(),
    )
    missing = [p for p in instance.input_paths() if not os.path.exists(p)]
    if missing:
        raise UsageError(f"input not found: {missing[0]}")
    with tempfile.TemporaryDirectory(prefix="mi-step-") as tmp:
        log_path = os.path.join(tmp, "step.log")
        outcome = execute(instance, 1, log_path, tmp)
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log_text = handle.read()
    if log_text.strip():
        sys.stderr.write(log_text if log_text.endswith("\n") else log_text + "\n")
    if outcome.status is Status.FAILED:
        print(f"FAILED {args.name}: {outcome.error}", file=sys.stderr)
        if outcome.hint:
            print(f"  hint: {outcome.hint}", file=sys.stderr)
        return 1
    for path in instance.output_paths():
        print(path)
    return 0
