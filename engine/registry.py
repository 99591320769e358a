"""The step registry: ``@step`` and lazy discovery of step libraries.

A step library is a module that registers functions with ``@step`` when imported. Names are
namespaced (``rna.quant``); the namespace says where the library lives: an entry point named
``rna`` in the group ``metainformant.steps`` or, failing that, the package ``stepslib.rna``.
Libraries are imported only when one of their steps is named, so a dry-run of a core-only
workflow never imports the RNA or GWAS code. A name ``package.module:function`` is a user's
plain Python function, imported (once) when it is named (:mod:`engine.callables`). Step
modules keep heavy imports (pandas, matplotlib) inside the step functions: registration
metadata must stay cheap.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine import callables, envvars
from engine.digests import blake2b
from engine.errors import MiError, UnknownStepError

ENTRY_POINT_GROUP = "metainformant.steps"

StepFunction = Callable[..., Any]


@dataclass(frozen=True)
class Port:
    """One input or output name a registered step declares."""

    name: str
    required: bool = True
    suffixes: tuple[str, ...] = ()  # file name endings it can write or read (lower case); () any
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "required": self.required}
        if self.suffixes:
            found["suffixes"] = list(self.suffixes)
        if self.description:
            found["description"] = self.description
        return found


class PortProblem(NamedTuple):
    """A name a spec gives that the step does not declare, or a required one it leaves out."""

    name: str
    message: str
    hint: str
    unknown: bool = False


PortDeclaration = str | Mapping[str, Any]
"""How ``@step`` declares a port: its description, or a mapping with ``description``,
``required`` (default true) and ``suffixes`` (e.g. ``[".png", ".svg"]``)."""


@dataclass(frozen=True)
class StepInfo:
    """What the engine knows about a registered step function. ``inputs``/``outputs`` are
    None when the step does not declare them (any name is then accepted)."""

    name: str
    function: StepFunction = field(repr=False, compare=False)
    params_schema: Mapping[str, Any]
    description: str
    version: str | None
    module: str
    inputs: tuple[Port, ...] | None = None
    outputs: tuple[Port, ...] | None = None
    tools: tuple[str, ...] = ()  # external programs it runs (their versions go in run records)

    @property
    def namespace(self) -> str:
        return self.name.split(".", 1)[0]

    def port_problems(self, which: str, given: Iterable[str]) -> list[PortProblem]:
        """Names in ``given`` (a spec's ``inputs`` or ``outputs`` keys, ``which``) that this
        step does not declare, then the required ones missing from it. A required name that
        is the likely meaning of an unknown one (``tabel`` for ``table``, or the only unknown
        name where the only missing one belongs) is suggested there, not reported again."""
        ports: tuple[Port, ...] | None = getattr(self, which)
        if ports is None:
            return []
        kind, given = which[:-1], list(given)
        names = [p.name for p in ports]
        missing = [p for p in ports if p.required and p.name not in given]
        unknown = [name for name in given if name not in names]
        found, suggested = [], set()
        for name in unknown:
            close = difflib.get_close_matches(name, names, n=1)
            if not close and len(unknown) == 1 and len(missing) == 1:
                close = [missing[0].name]
            if close:
                suggested.add(close[0])
                hint = f"did you mean '{close[0]}'? {self._port_list(which)}"
            else:
                hint = self._port_list(which)
            found.append(PortProblem(name, f"unknown {kind} '{name}'", hint, unknown=True))
        for port in missing:
            if port.name not in suggested:
                what = f" ({port.description})" if port.description else ""
                found.append(PortProblem(port.name, f"missing required {kind} '{port.name}'",
                                         f"declare it: {which}: {{{port.name}: PATH}}{what}"))
        return found

    def _port_list(self, which: str) -> str:
        ports = getattr(self, which) or ()
        if not ports:
            return f"{self.name} takes no {which}"
        listed = ", ".join(p.name + ("" if p.required else " (optional)") for p in ports)
        return f"({self.name} {'reads' if which == 'inputs' else 'writes'}: {listed})"

    def code_hash(self) -> str:
        """Identity of the step's code: its explicit version, else a hash of its source."""
        if self.version is not None:
            return f"v:{self.version}"
        try:
            source = inspect.getsource(self.function)
        except (OSError, TypeError):
            source = f"{self.module}.{getattr(self.function, '__qualname__', self.name)}"
        return "src:" + blake2b(source.encode(), digest_size=12).hexdigest()


def _close_params_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a params schema: an object whose unknown properties are errors by default."""
    result: dict[str, Any] = dict(schema or {})
    if "type" not in result and ("properties" in result or not result):
        result["type"] = "object"
    if result.get("type") == "object":
        result.setdefault("properties", {})
        result.setdefault("additionalProperties", False)
    return result


_PORT_KEYS = frozenset({"description", "required", "suffixes"})


def _ports(name: str, which: str,
           declared: Mapping[str, PortDeclaration] | None) -> tuple[Port, ...] | None:
    if declared is None:
        return None
    ports = []
    for port, spec in declared.items():
        if isinstance(spec, str):
            spec = {"description": spec}
        unknown = set(spec) - _PORT_KEYS
        if unknown:
            raise ValueError(f"step '{name}': {which} '{port}' has unknown keys "
                             f"{sorted(unknown)}; known: {sorted(_PORT_KEYS)}")
        suffixes = spec.get("suffixes") or ()
        if isinstance(suffixes, str) or any(not str(x).startswith(".") for x in suffixes):
            raise ValueError(f"step '{name}': {which} '{port}': suffixes are a list like "
                             f"['.png', '.svg'], got {suffixes!r}")
        ports.append(Port(port, bool(spec.get("required", True)),
                          tuple(str(x).lower() for x in suffixes), spec.get("description", "")))
    return tuple(ports)


def step(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, PortDeclaration] | None = None,
    outputs: Mapping[str, PortDeclaration] | None = None,
    description: str | None = None,
    version: str | None = None,
    tools: Iterable[str] = (),
) -> Callable[[StepFunction], StepFunction]:
    """Register ``fn(config, *, inputs, outputs, context)`` as the step ``name``.

    ``params`` is a JSON Schema (draft 2020-12) for the step's params; with only
    ``properties`` given it becomes a closed object (unknown params are errors) unless it sets
    ``additionalProperties`` itself. ``inputs`` and ``outputs`` declare the names a spec may
    give (name -> description, or ``{"description": ..., "required": False, "suffixes":
    [".png", ".pdf"]}``): another name, a missing required one, or an output path with a
    suffix not listed is a plan-time error. ``version`` pins the code identity used for
    reruns; without it any change to the function's source reruns the step. ``tools``: the
    external programs the step runs (``["kallisto"]``); each run records their versions.
    """
    if "." not in name:
        raise ValueError(f"step names are namespaced ('core.{name}'), got '{name}'")
    input_ports = _ports(name, "input", inputs)
    output_ports = _ports(name, "output", outputs)

    def register(fn: StepFunction) -> StepFunction:
        doc = description if description is not None else inspect.getdoc(fn) or ""
        info = StepInfo(
            name=name,
            function=fn,
            params_schema=_close_params_schema(params),
            description=doc.strip(),
            version=version,
            module=fn.__module__,
            inputs=input_ports,
            outputs=output_ports,
            tools=tuple(tools),
        )
        REGISTRY.add(info)
        fn.__mi_step__ = info  # type: ignore[attr-defined]
        return fn

    return register


def function_step(name: str, function: StepFunction) -> StepInfo:
    """A plain Python function as the step ``name`` (``module:function``, or a name the
    orchestrator gives a callable it registers in this process): any params, inputs and
    outputs, called with keyword arguments as :mod:`engine.callables` describes."""
    doc = inspect.getdoc(function) or ""
    return StepInfo(name=name, function=callables.as_step(function),
                    params_schema={"type": "object"}, description=doc.strip(), version=None,
                    module=getattr(function, "__module__", None) or "__main__")


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
        """The registered step ``name``, importing its library on first use; a
        ``module:function`` name imports that function (FunctionImportError if it cannot)."""
        if name not in self._steps and callables.is_reference(name):
            self._steps[name] = function_step(name, callables.resolve(name))
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
