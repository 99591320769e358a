"""Stage 4, expand: render templates and fan-outs into fully resolved step instances.

Steps are visited in the order their ``steps.X`` references and ``after:`` lists impose
(:mod:`.refs`), so a step's template can read the (already rendered) paths of the steps it
names. Per step: its settings after config overrides (:mod:`.settings`), its fan-out items
(:mod:`.fanout`), one instance per item (:mod:`.instances`). A fan-out over a table that
another step writes cannot be expanded before that step runs: such a step, and every step
that refers to it, is *pending* and comes back to this stage later (the scheduler re-plans
when the table exists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Diagnostic
from engine.model import StepInstance
from engine.plan.fanout import fan_out, glob_matcher
from engine.plan.instances import (
    compile_step,
    normalize,
    published_paths,
    render_instances,
)
from engine.plan.problems import Problems
from engine.plan.refs import check_unique_names, step_references
from engine.plan.settings import (
    Limits,
    StepSettings,
    disabled_reason,
    override_problems,
    render_enabled,
    render_forced,
    settings_for,
)
from engine.plan.stepchecks import StepChecks
from engine.spec.config import ResolvedConfig
from engine.spec.spec import Spec, StepSpec
from engine.spec.templates import TemplateError, render_value


@dataclass(frozen=True)
class ExpandedStep:
    name: str
    enabled: bool
    instances: tuple[StepInstance, ...] = ()
    pending_on: tuple[str, ...] = ()  # steps whose completion this expansion waits for
    disabled_reason: str = ""
    forced: bool = False  # the step's `force` rendered true: it runs every time
    fanned_out: bool = False
    fed_by: tuple[str, ...] = ()  # steps writing the table or files this fan-out reads


@dataclass(frozen=True)
class Expansion:
    steps: Mapping[str, ExpandedStep]
    order: tuple[str, ...]
    refs: Mapping[str, frozenset[str]]  # step -> steps it references in templates
    refs_outside_inputs: Mapping[str, frozenset[str]]
    diagnostics: tuple[Diagnostic, ...]
    work_dir: str  # where relative paths resolve
    output_roots: tuple[str, ...] = ()  # absolute directories outputs may be written under


@dataclass(frozen=True)
class ExpandOptions:
    table_ready: Callable[[str], bool]  # may a fan-out read the tables this step writes?
    check_steps: bool = True  # check what registered steps declare (params, suffixes)
    limits: Limits = field(default_factory=Limits)  # what a run allows (-j, --resources)


class _PendingRefs(dict[str, Any]):
    """Stands in for a pending step's paths; dependents of it are pending themselves."""


def expand(spec: Spec, config: ResolvedConfig, work_dir: str, options: ExpandOptions) -> Expansion:
    problems = Problems(spec, config)
    check_unique_names(spec, problems)
    for diagnostic in override_problems(spec, config):
        problems.add(diagnostic)
    refs = step_references(spec, problems)
    expander = _Expander(spec, config, work_dir, options, problems)
    done: dict[str, ExpandedStep] = {}
    for name in refs.order:
        done[name] = expander.expand_step(spec.step(name), refs.refs[name], done)
    expander.check_late_glob_writers()
    roots = output_roots(spec, config, expander.context, work_dir, problems)
    return Expansion(done, refs.order, refs.refs, refs.refs_outside_inputs,
                     tuple(problems.found), work_dir, roots)


def output_roots(spec: Spec, config: ResolvedConfig, context: Mapping[str, Any], work_dir: str,
                 problems: Problems) -> tuple[str, ...]:
    """Where outputs may be written: the working directory, the configured ``work_dir``
    (absolute ones included) and the spec's ``output_roots:`` (templates over the config)."""
    roots = [work_dir]
    configured = config.values.get("work_dir")
    if isinstance(configured, str) and configured:
        roots.append(normalize(configured, work_dir))
    for index, root in enumerate(spec.output_roots):
        try:
            rendered = render_value(root, context)
        except TemplateError as exc:
            problems.add(spec.marks.diagnostic(("output_roots", index),
                                               f"in 'output_roots': {exc}", exc.suggestion))
            continue
        for one in rendered if isinstance(rendered, list) else [rendered]:
            if one not in (None, ""):
                roots.append(normalize(str(one), work_dir))
    return tuple(dict.fromkeys(r.rstrip("/") or "/" for r in roots))


class _Expander:
    """The state one expansion accumulates: the template context (with ``steps.X`` filled in
    as steps are expanded) and the index of which step writes which path."""

    def __init__(self, spec: Spec, config: ResolvedConfig, work_dir: str,
                 options: ExpandOptions, problems: Problems):
        self.config = config
        self.options = options
        self.problems = problems
        self.checks = StepChecks(problems) if options.check_steps else None
        self.work_dir = work_dir
        self.accepted = spec.accepted
        self.aliases = spec.setting_aliases
        self.step_refs: dict[str, Any] = {}
        self.context = config.template_context()
        self.context["spec_dir"] = spec.spec_dir
        self.context["steps"] = self.step_refs
        self._expanded: list[tuple[str, list[StepInstance]]] = []  # not yet in _writers
        self._writers: dict[str, str] = {}  # normalized output path -> step
        self._indexed_steps: list[str] = []  # steps in _writers, in expansion order
        # a glob fan-out's step, its pattern, and how many steps were expanded before it
        self._globs: list[tuple[StepSpec, str, int]] = []

    def expand_step(self, step: StepSpec, refs: frozenset[str],
                    done: Mapping[str, ExpandedStep]) -> ExpandedStep:
        settings = settings_for(step, self.config, self.accepted, self.aliases)
        enabled = render_enabled(step, settings, self.context, self.problems)
        forced = enabled and render_forced(step, settings, self.context, self.problems)
        fanned = step.foreach is not None
        waiting = sorted({p for r in refs if r in done for p in done[r].pending_on}
                         | {r for r in refs if r in done and done[r].pending_on})
        if waiting:
            return self._pending(step, settings, enabled, tuple(waiting), fanned)
        fan = fan_out(step, enabled, self.context, self.problems, self, self.options.table_ready)
        if fan.glob and not fan.pending_on:
            self._globs.append((step, fan.glob, len(self._indexed_steps) + len(self._expanded)))
        if fan.pending_on:
            return self._pending(step, settings, enabled, fan.pending_on, True)
        compiled = compile_step(step, settings, self.context, self.problems,
                                self.checks, self.options.limits, self.work_dir)
        instances = [] if compiled is None else render_instances(compiled, fan, self.context,
                                                                 self.problems)
        self.step_refs[step.name] = published_paths(step, instances)
        self._expanded.append((step.name, instances))
        reason = "" if enabled else disabled_reason(settings)
        return ExpandedStep(step.name, enabled, tuple(instances), disabled_reason=reason,
                            forced=forced, fanned_out=fanned, fed_by=fan.fed_by)

    def _pending(self, step: StepSpec, settings: StepSettings, enabled: bool,
                 waits_for: tuple[str, ...], fanned: bool) -> ExpandedStep:
        """A step expanded after ``waits_for`` have run; what is known now is checked now."""
        self.step_refs[step.name] = _PendingRefs()
        if self.checks is not None:
            self.checks.before_expansion(step, settings, self.context, self.options.limits)
        return ExpandedStep(step.name, enabled, pending_on=waits_for, fanned_out=fanned)

    # the fanout.Writers protocol ----------------------------------------------------------
    def producer_of(self, path: str) -> str | None:
        """The step expanded so far that writes ``path``."""
        return self._index().get(normalize(path, self.work_dir))

    def writers_matching(self, matches: Callable[[str], bool]) -> list[str]:
        found = dict.fromkeys(step for path, step in self._index().items() if matches(path))
        return list(found)

    def absolute(self, path: str) -> str:
        return normalize(path, self.work_dir)

    def _index(self) -> dict[str, str]:
        """Normalised output path -> step. Built only when a table or glob fan-out asks (most
        plans never do), and grown step by step."""
        for step, instances in self._expanded:
            self._indexed_steps.append(step)
            for instance in instances:
                for out in instance.output_paths():
                    self._writers.setdefault(normalize(out, self.work_dir), step)
        self._expanded.clear()
        return self._writers

    def check_late_glob_writers(self) -> None:
        """A glob is read when its step is expanded; a step expanded later (or the step
        itself) writing files it matches would make the fan-out change from run to run."""
        if not self._globs:
            return
        index = self._index()
        order = {step: position for position, step in enumerate(self._indexed_steps)}
        for step, pattern, seen in self._globs:
            matcher = glob_matcher(pattern)
            late = sorted({writer for path, writer in index.items()
                           if order[writer] >= seen and matcher(path)})
            if late:
                self.problems.at_step(
                    step, ("foreach", "glob"),
                    f"'foreach.glob' matches files that step '{late[0]}' writes, but the glob "
                    "is read before that step runs" if late[0] != step.name else
                    "'foreach.glob' matches files that this step itself writes",
                    f"if '{late[0]}' should run first, add 'after: [{late[0]}]' to step "
                    f"'{step.name}'; otherwise narrow the glob so it cannot match its outputs")
