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
) -> engine.SeedResult:
    """Run ``specs/simulation/coalescent.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (both read as ``--config``);
    ``work_dir`` overrides the config's. ``run_options`` go to :func:`engine.run` (``jobs``,
    ``keep_going``, ``force``, ...). Returns the seed's result (``result["status"]``,
    ``result["errors"]``), with the engine's RunResult as ``result.run_result``.
    """
    return engine.execute_bundled(SPEC, config, work_dir=work_dir, **run_options)


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
