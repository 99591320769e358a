"""The Spec: a validated workflow file as frozen values, still unrendered (templates intact)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.spec.yamlload import Marks, PathKey

STEP_SETTINGS = ("enabled", "force", "params", "threads", "resources", "retries", "timeout")


@dataclass(frozen=True)
class StepSpec:
    name: str
    position: int  # index in the spec's step list (for line marks)
    run: str | None = None
    uses: str | None = None
    description: str = ""
    foreach: Any = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool | str = True
    force: bool | str = False  # true: the step always runs, as --force STEP (template allowed)
    after: tuple[str, ...] = ()
    threads: int | str = 1
    resources: Mapping[str, Any] = field(default_factory=dict)
    retries: int = 0
    timeout: float | None = None

    def where(self, *keys: str | int) -> PathKey:
        return ("steps", self.position, *keys)

    def template_sources(self) -> list[str]:
        """Every string of the step that may hold a template (for reference scanning)."""
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, Mapping):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v)

        for value in (self.run, self.foreach, self.inputs, self.outputs, self.params,
                      self.enabled, self.force, self.threads, self.resources):
            walk(value)
        return found


@dataclass(frozen=True)
class Spec:
    name: str
    path: str
    spec_dir: str
    steps: tuple[StepSpec, ...]
    marks: Marks
    description: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    # keys accepted without being used (dotted, * patterns) -> why they are not used
    config_accepts: Mapping[str, str] = field(default_factory=dict)
    # a per-step config key that means a step setting: amalgkit's `redo: yes` is `force`
    setting_aliases: Mapping[str, str] = field(default_factory=dict)
    output_roots: tuple[str, ...] = ()  # directories outside the working dir outputs may use

    def accepted(self, dotted: str) -> str | None:
        """Why config key ``dotted`` (``log_dir``, ``steps.quant.out_dir``) is accepted without
        being used ('' if no reason is given), or None when it is not accepted."""
        from fnmatch import fnmatchcase

        for pattern, why in self.config_accepts.items():
            if fnmatchcase(dotted, pattern):
                return why
        return None

    def step(self, name: str) -> StepSpec:
        for candidate in self.steps:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


def build_spec(data: Mapping[str, Any], marks: Marks, path: str, spec_dir: str) -> Spec:
    """Turn schema-valid data into a Spec (the schema has already checked every type)."""
    steps = []
    for position, raw in enumerate(data["steps"]):
        steps.append(
            StepSpec(
                name=raw["name"],
                position=position,
                run=raw.get("run"),
                uses=raw.get("uses"),
                description=raw.get("description", ""),
                foreach=raw.get("foreach"),
                inputs=raw.get("inputs") or {},
                outputs=raw.get("outputs") or {},
                params=raw.get("params") or {},
                enabled=raw.get("enabled", True),
                force=raw.get("force", False),
                after=tuple(raw.get("after") or ()),
                threads=raw.get("threads", 1),
                resources=raw.get("resources") or {},
                retries=raw.get("retries", 0),
                timeout=raw.get("timeout"),
            )
        )
    return Spec(
        name=data["name"],
        path=path,
        spec_dir=spec_dir,
        steps=tuple(steps),
        marks=marks,
        description=data.get("description", ""),
        config=data.get("config") or {},
        config_accepts=_accepts(data.get("config_accepts")),
        setting_aliases=dict(data.get("setting_aliases") or {}),
        output_roots=tuple(data.get("output_roots") or ()),
    )


def _accepts(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return dict.fromkeys((str(k) for k in value or ()), "")


def is_orchestrator_form(data: Any) -> bool:
    """``steps`` is a mapping (MetaInformAnt's form), or a list using its keys."""
    if not isinstance(data, Mapping):
        return False
    steps = data.get("steps")
    if isinstance(steps, Mapping):
        return True
    return isinstance(steps, list) and any(
        isinstance(s, Mapping) and ("function" in s or "depends_on" in s) for s in steps)
