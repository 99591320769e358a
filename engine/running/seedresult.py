"""The seed's result shape for whole workflows, and the one runner behind every
``execute_<domain>_workflow`` entry point (:func:`bundled_entry_point` makes the plain ones).

MetaInformAnt's domain functions return the step-result standard: ``{"status": "completed" |
"failed", "output": {...}, "errors": [...], "warnings": [...], "metadata": {...}}``, and its
users write ``if result["status"] == "failed": print(result["errors"])``. :class:`SeedResult`
is that mapping (keys also read as attributes: ``result.status``) with the engine's
:class:`RunResult` beside it (``result.run_result``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from engine.model import Status
from engine.running.result import RunResult


class SeedResult(Mapping[str, Any]):
    """A run as the seed's result dict; ``run_result`` is the engine's own view of it (its
    attributes also read through: ``result.statuses``, ``result.failed``)."""

    def __init__(self, run_result: RunResult, config_warnings: tuple[str, ...] = (),
                 work_dir: str | None = None, base_dir: str | None = None):
        """``base_dir``: where the run's relative paths resolve (``files_created`` are made
        absolute against it; default: the current directory)."""
        self.run_result = run_result
        outcomes = run_result.outcomes
        skipped = {n: o.reason or "" for n, o in outcomes.items() if o.status is Status.SKIPPED}
        base = base_dir or os.getcwd()
        files = sorted({os.path.join(base, p) for o in outcomes.values()
                        if o.status is Status.COMPLETED for p in o.output_fps})
        self._data: dict[str, Any] = {
            "status": "completed" if run_result.ok else "failed",
            "success": run_result.ok,
            "output": {"work_dir": work_dir, "files_created": files,
                       "steps": {n: s.value for n, s in run_result.statuses.items()},
                       "skipped": skipped},
            "errors": [f"{f.id}: {f.error}" for f in run_result.failed],
            "warnings": [*config_warnings,
                         *(f"{n}: {w}" for n, o in outcomes.items() for w in o.warnings)],
            "metadata": {"execution_time": run_result.elapsed, "run_id": run_result.run_id,
                         "workflow": run_result.workflow},
        }

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        """``result.status``, ``result.errors``...; then the RunResult's own attributes
        (``result.statuses``, ``result.failed``), so code written for it keeps working."""
        found = self.__dict__.get("_data", {})
        if name in found:
            return found[name]
        if "run_result" in self.__dict__ and not name.startswith("_"):
            return getattr(self.__dict__["run_result"], name)
        raise AttributeError(name)

    @property
    def ok(self) -> bool:
        return self.run_result.ok

    def __repr__(self) -> str:
        return (f"SeedResult(status={self['status']!r}, errors={self['errors']!r}, "
                f"run_id={self.run_result.run_id!r})")


def execute_bundled(spec: str, config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                    work_dir: str | os.PathLike[str] | None = None,
                    overrides: Mapping[str, Any] | None = None,
                    environ: Mapping[str, str] | None = None,
                    **run_options: Any) -> SeedResult:
    """Run the bundled spec ``spec`` (e.g. ``"rna/amalgkit.yaml"``) the seed's way.

    ``config``: a YAML config file or a mapping of the same shape (both read as ``--config``
    reads a file); ``overrides`` (dotted or nested keys, as ``--set``) are laid over it, then
    ``work_dir``. ``environ``: the ``MI_*`` variables to read (default: the process's).
    ``run_options`` go to :func:`engine.run` (``jobs``, ``keep_going``, ``force``, ...).
    A spec or config mistake raises :class:`engine.SpecError` before anything runs; a step
    that fails is in the result (``status: failed``, ``errors``).
    """
    from engine.plan.workflow import load
    from engine.resources import bundled_spec
    from engine.running.orchestrate import run_workflow

    written = _config_file(config) if isinstance(config, Mapping) else None
    files = [written] if written is not None else []
    if config is not None and not isinstance(config, Mapping):
        files.append(os.fspath(config))
    values = _flatten(overrides or {})
    if work_dir is not None:
        values["work_dir"] = os.fspath(work_dir)
    workflow = load(bundled_spec(spec), config_files=files, overrides=values, environ=environ)
    if written is not None:  # kept when loading failed: the error shows its lines
        os.unlink(written)
    result = run_workflow(workflow, **run_options)
    return SeedResult(result, tuple(w.render() for w in workflow.warnings),
                      workflow.config.values.get("work_dir"), workflow.work_dir)


class SeedEntryPoint(Protocol):
    """What :func:`bundled_entry_point` makes: ``execute_<domain>_workflow(config=None,
    work_dir=None, **run_options)`` returning the seed's result."""

    __name__: str

    def __call__(self, config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                 work_dir: str | os.PathLike[str] | None = None,
                 **run_options: Any) -> SeedResult: ...


_ENTRY_POINT_DOC = """Run ``specs/{spec}`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (the seed's loaded config), both
    read as ``--config`` reads a file; ``work_dir`` overrides the config's. ``run_options`` go to
    :func:`engine.run` (``jobs``, ``keep_going``, ``force``, ...). Returns the seed's result
    mapping (``result["status"]``, ``result["errors"]``, ...) with the engine's RunResult as
    ``result.run_result``.
    """


def bundled_entry_point(name: str, spec: str, module: str) -> SeedEntryPoint:
    """The seed's ``execute_<domain>_workflow`` for a domain whose entry point only runs its
    bundled ``spec`` with a config: ``name = bundled_entry_point(NAME, SPEC, __name__)`` in the
    step library. ``name`` and ``module`` are those the library exports it under, so that
    help(), pickle and tracebacks show the seed's name; the docstring names ``spec``."""

    def entry_point(config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                    work_dir: str | os.PathLike[str] | None = None,
                    **run_options: Any) -> SeedResult:
        return execute_bundled(spec, config, work_dir=work_dir, **run_options)

    entry_point.__name__ = entry_point.__qualname__ = name
    entry_point.__module__ = module
    entry_point.__doc__ = _ENTRY_POINT_DOC.format(spec=spec)
    # a traceback names the code object, not __name__
    entry_point.__code__ = entry_point.__code__.replace(co_name=name, co_qualname=name)
    return entry_point


def _config_file(config: Mapping[str, Any]) -> str:
    """A config given as a mapping (the seed's loaded config dict), written out as a YAML
    file so that it is read exactly as ``--config`` reads a MetaInformAnt config."""
    import tempfile

    import yaml

    handle, path = tempfile.mkstemp(prefix="mi-python-config-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        yaml.safe_dump(_plain(config), out, sort_keys=False)
    return path


def _plain(value: Any) -> Any:
    """Mappings, sequences and paths as YAML can write them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"steps": {"quant": {"threads": 2}}}`` as ``{"steps.quant.threads": 2}``."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
