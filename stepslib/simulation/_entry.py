"""Seed-style Python entry point: ``execute_simulation_workflow(config, work_dir=...)``."""

from __future__ import annotations

from typing import Any

import engine

SPEC = "simulation/coalescent.yaml"  # a spec shipped with the engine (engine.bundled_spec)


# the seed's entry point: help() shows its name, signature and a docstring naming SPEC
execute_simulation_workflow = engine.bundled_entry_point("execute_simulation_workflow", SPEC, __name__)


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
