"""The step registry: ``@step`` and lazy discovery of step libraries.

A step library is a module that registers functions with ``@step`` when imported. Names are
namespaced (``rna.quant``); the namespace says where the library lives: an entry point named
``rna`` in the group ``metainformant.steps`` or, failing that, the package ``stepslib.rna``.
Libraries are imported only when one of their steps is named, so a dry-run of a core-only
workflow never imports the RNA or GWAS code. Step modules keep heavy imports (pandas,
matplotlib) inside the step functions: registration metadata must stay cheap.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import envvars
from engine.errors import MiError, UnknownStepError

ENTRY_POINT_GROUP = "metainformant.steps"

StepFunction = Callable[..., Any]


@dataclass(frozen=True)
class StepInfo:
    """What the engine knows about a registered step function."""

    name: str
    function: StepFunction = field(repr=False, compare=False)
    params_schema: Mapping[str, Any]
    description: str
    version: str | None
    module: str

    @property
    def namespace(self) -> str:
        return self.name.split(".", 1)[0]

    def code_hash(self) -> str:
        """Identity of the step's code: its explicit version, else a hash of its source."""
        if self.version is not None:
            return f"v:{self.version}"
        try:
            source = inspect.getsource(self.function)
        except (OSError, TypeError):
            source = f"{self.module}.{getattr(self.function, '__qualname__', self.name)}"
        return "src:" + hashlib.blake2b(source.encode(), digest_size=12).hexdigest()


def _close_params_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a params schema: an object whose unknown properties are errors by default."""
    result: dict[str, Any] = dict(schema or {})
    if "type" not in result and ("properties" in result or not result):
        result["type"] = "object"
    if result.get("type") == "object":
        result.setdefault("properties", {})
        result.setdefault("additionalProperties", False)
    return result


def step(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    description: str | None = None,
    version: str | None = None,
) -> Callable[[StepFunction], StepFunction]:
    """Register ``fn(config, *, inputs, outputs, context)`` as the step ``name``.

    ``params`` is a JSON Schema (draft 2020-12) for the step's params; with only
    ``properties`` given it becomes a closed object (unknown params are errors) unless it sets
    ``additionalProperties`` itself. ``version`` pins the code identity used for reruns; without
    it any change to the function's source reruns the step.
    """
    if "." not in name:
        raise ValueError(f"step names are namespaced ('core.{name}'), got '{name}'")

    def register(fn: StepFunction) -> StepFunction:
        doc = description if description is not None else inspect.getdoc(fn) or ""
        info = StepInfo(
            name=name,
            function=fn,
            params_schema=_close_params_schema(params),
            description=doc.strip(),
            version=version,
            module=fn.__module__,
        )
        REGISTRY.add(info)
        fn.__mi_step__ = info  # type: ignore[attr-defined]
        return fn

    return register


def _entry_points() -> list[Any]:
    # importlib.metadata costs ~100 ms to import: only pay it when a library is looked up.
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


class Registry:
    """The registered steps of this process and which libraries have been imported."""

    def __init__(self) -> None:
        self._steps: dict[str, StepInfo] = {}
        self._namespaces: set[str] = set()
        self._env_modules_imported = False

    def add(self, info: StepInfo) -> None:
        self._steps[info.name] = info

    def get(self, name: str) -> StepInfo:
        """The registered step ``name``, importing its library on first use."""
        if name not in self._steps:
            self._import_env_modules()
        if name not in self._steps:
            self._import_namespace(name.split(".", 1)[0])
        try:
            return self._steps[name]
        except KeyError:
            known = self.names()
            raise UnknownStepError(name, difflib.get_close_matches(name, known, n=3)) from None

    def module_of(self, name: str) -> str | None:
        """Module that registered step ``name`` (None if unknown or ``__main__``), so a worker
        process can import it by name; imports nothing."""
        info = self._steps.get(name)
        if info is None or info.module == "__main__":
            return None
        return info.module

    def modules(self) -> list[str]:
        """Every module that registered a step in this process (``__main__`` aside)."""
        return sorted({i.module for i in self._steps.values() if i.module != "__main__"})

    def names(self) -> list[str]:
        self.load_all()
        return sorted(self._steps)

    def steps(self) -> dict[str, StepInfo]:
        self.load_all()
        return dict(sorted(self._steps.items()))

    def load_all(self) -> None:
        """Import every step library (for listings and suggestions; never on the dry-run path)."""
        import stepslib

        for module in pkgutil.iter_modules(stepslib.__path__):
            if module.ispkg:
                self._import_namespace(module.name)
        for ep in _entry_points():
            self._import_namespace(ep.name)

    def _import_namespace(self, namespace: str) -> None:
        if namespace in self._namespaces:
            return
        self._namespaces.add(namespace)
        # The bundled libraries first (cheap), then third-party packages' entry points.
        try:
            importlib.import_module(f"stepslib.{namespace}")
            return
        except ModuleNotFoundError as exc:
            if exc.name not in (f"stepslib.{namespace}", "stepslib"):
                raise
        for ep in _entry_points():
            if ep.name == namespace:
                ep.load()
                return

    def _import_env_modules(self) -> None:
        """Import the modules named in ``$MI_STEP_MODULES`` (comma-separated) once.

        A hook for step libraries that are neither entry points nor ``stepslib`` packages (test
        fixtures, a lab's private module on PYTHONPATH); worker processes inherit the variable.
        """
        if self._env_modules_imported:
            return
        self._env_modules_imported = True
        for module in (envvars.read(envvars.STEP_MODULES) or "").split(","):
            if not module.strip():
                continue
            try:
                importlib.import_module(module.strip())
            except ImportError as exc:
                raise MiError(f"{envvars.STEP_MODULES} names '{module.strip()}', which cannot "
                              f"be imported: {exc}") from None


REGISTRY = Registry()
"""This process's registry: ``@step`` adds to it."""


def get_step(name: str) -> StepInfo:
    """The registered step ``name``, importing its library on first use."""
    return REGISTRY.get(name)


def module_of(name: str) -> str | None:
    return REGISTRY.module_of(name)


def all_step_names() -> list[str]:
    return REGISTRY.names()


def registered_steps() -> dict[str, StepInfo]:
    return REGISTRY.steps()
