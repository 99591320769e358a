"""What a registered step declares, checked at plan time against every step that ``uses:``
it: its input and output names (:func:`port_diagnostics`, when the spec is loaded), and for
every instance its params schema (defaults filled in) and the suffixes of its output paths.
A fan-out that expands only after an upstream step has run is checked now as far as it can
be without its items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from engine.errors import Diagnostic, UnknownStepError
from engine.model import PathValue
from engine.params import fill_defaults, params_problems
from engine.plan.problems import Problems
from engine.plan.refs import strings_in
from engine.plan.settings import BadSetting, Limits, StepSettings, static_numbers
from engine.spec.spec import Spec, StepSpec
from engine.spec.templates import TemplateError, render_value

if TYPE_CHECKING:
    from engine.registry import Port, StepInfo


def _registered(uses: str) -> StepInfo:
    """The registered step ``uses`` names (the registry is loaded by plans with Python steps
    only: a shell-only plan does not pay for it)."""
    from engine.registry import get_step

    return get_step(uses)


class StepChecks:
    """The checks of one expansion; every problem goes to its :class:`Problems`."""

    def __init__(self, problems: Problems):
        self.problems = problems

    def params(self, step: StepSpec, settings: StepSettings, params: Mapping[str, Any],
               instance: str | None = None, unknown: frozenset[str] = frozenset()
               ) -> Mapping[str, Any]:
        """``params`` of ``instance`` (None: of every instance) with the schema's defaults,
        each problem reported; ``unknown``: params whose value cannot be known yet (not
        checked)."""
        if step.uses is None:
            return params
        schema = _registered(step.uses).params_schema
        filled: Mapping[str, Any] = fill_defaults(schema, params)
        for found in params_problems(schema, filled):
            if found.param in unknown and not found.unknown:
                continue
            origin = settings.origin(f"params.{found.param}") if found.param else None
            self.problems.in_instance(step, instance, ("params", *found.where), found.problem,
                                      found.got, found.hint, origin, at_key=found.unknown)
        return filled

    def suffixed_outputs(self, step: StepSpec) -> tuple[Port, ...]:
        """The outputs of ``step`` whose paths must end in one of the declared suffixes."""
        if step.uses is None:
            return ()
        return tuple(p for p in _registered(step.uses).outputs or () if p.suffixes)

    def output_suffixes(self, step: StepSpec, ports: tuple[Port, ...],
                        outputs: Mapping[str, PathValue], instance: str | None = None) -> None:
        """Each path of ``ports`` in ``outputs`` ends in one of the port's suffixes."""
        for port in ports:
            value = outputs.get(port.name, ())
            for path in (value,) if isinstance(value, str) else value:
                self._suffix(step, port, path, instance)

    def _suffix(self, step: StepSpec, port: Port, path: str, instance: str | None) -> None:
        if path.lower().endswith(port.suffixes):
            return
        suffix = PurePath(path).suffix.lower()
        kind = f"a '{suffix}' file" if suffix else "a file without a suffix"
        self.problems.in_instance(
            step, instance, ("outputs", port.name),
            f"cannot write output '{port.name}' as {kind}", repr(path),
            f"{step.uses} writes '{port.name}' as {_either(port.suffixes)}")

    def before_expansion(self, step: StepSpec, settings: StepSettings,
                         context: Mapping[str, Any], limits: Limits) -> None:
        """A fan-out whose items are not known yet: check the params and numbers that do
        not depend on them (a value whose template cannot be rendered yet is left out)."""
        rendered: dict[str, Any] = {}
        later: set[str] = set()
        for key, value in settings.params.items():
            try:
                rendered[key] = render_value(value, context)
            except TemplateError:
                rendered[key] = None  # known to be given (unknown names are still found)
                later.add(key)
        self.params(step, settings, rendered, unknown=frozenset(later))
        for port in self.suffixed_outputs(step):
            for text in strings_in([step.outputs.get(port.name)]):
                tail = text.rsplit("}}", 1)[-1]  # the literal end of a template
                if "." in PurePath(tail).name and "{" not in tail:
                    self._suffix(step, port, text, None)
        try:
            static_numbers(step, settings, context, self.problems, limits)
        except BadSetting:
            pass


def port_diagnostics(spec: Spec) -> list[Diagnostic]:
    """Input and output names the registered steps do not declare (located at the name), and
    required ones a step leaves out (at its ``inputs:``/``outputs:``, else its ``uses:``)."""
    found = []
    for step in spec.steps:
        try:
            info = _registered(step.uses) if step.uses is not None else None
        except UnknownStepError:
            continue  # reported where the step functions are checked
        if info is None:
            continue
        for which in ("inputs", "outputs"):
            for problem in info.port_problems(which, getattr(step, which)):
                text = f"step '{step.name}' ({step.uses}): {problem.message}"
                where = (step.where(which, problem.name) if problem.unknown
                         else step.where(which) if step.where(which) in spec.marks.values
                         else step.where("uses"))
                found.append(spec.marks.diagnostic(where, text, problem.hint,
                                                   key=problem.unknown))
    return found


def _either(suffixes: Iterable[str]) -> str:
    """``.png, .svg or .pdf``."""
    listed = list(suffixes)
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
