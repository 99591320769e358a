"""Seed-style Python entry point: ``execute_simulation_workflow(config, work_dir=...)``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "simulation/coalescent.yaml"  # a spec shipped with the engine (engine.bundled_spec)


def execute_simulation_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    **run_options: Any,
) -> Any:
    """Run ``specs/simulation/coalescent.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file (used as ``--config``) or a mapping of overrides (like ``--set``,
    nested mappings allowed); ``work_dir`` overrides the config's. ``run_options`` go to
    :func:`engine.run` (``jobs``, ``keep_going``, ``force``, ...). Returns the RunResult.
    """
    files: list[str] = []
    overrides: dict[str, Any] = {}
    if isinstance(config, Mapping):
        overrides.update(_flatten(config))
    elif config is not None:
        files.append(os.fspath(config))
    if work_dir is not None:
        overrides["work_dir"] = os.fspath(work_dir)
    workflow = engine.load(engine.bundled_spec(SPEC), config_files=files, overrides=overrides)
    return engine.run(workflow, **run_options)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _seed_flags() -> dict[str, dict[str, Any]]:
    """MetaInformAnt's ``simulation run`` flags: each sets the config key of its name
    (``--steps`` is ``agent_steps``: ``steps`` is mi-run's per-step settings)."""
    keys = ["model", "output", "n", "seed", "length", "gc_content", "mutations", "width",
            "height", "num_agents", "num_genes", "num_samples", "mean_expression", "dispersion"]
    flags: dict[str, dict[str, Any]] = {"--" + k.replace("_", "-"): {"key": k} for k in keys}
    flags["--steps"] = {"key": "agent_steps"}
    return flags


DOMAIN = {
    "description": "Simulation: populations with msprime (ancestry, mutations, VCF, statistics, "
                   "GWAS-ready phenotypes, reads) and MetaInformAnt's sequence, expression and "
                   "agent models",
    "spec": SPEC,
    "config_flags": _seed_flags(),
}
