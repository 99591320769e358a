"""The multiomics domain for the seed's CLI and Python layers.

``DOMAIN`` declares ``mi-run multiomics run|plan|status|... --config X`` over the bundled spec
with MetaInformAnt's ``multiomics run`` flags (see ``engine/cli/domains.py``);
:func:`execute_multiomics_workflow` is the seed's Python entry point.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "multiomics/integrate.yaml"  # a spec shipped with the engine (engine.bundled_spec)
LAYER_FLAGS = ("genomics", "transcriptomics", "proteomics", "metabolomics")
SWITCHES = ("joint_pca", "joint_nmf", "canonical_correlation")


def execute_multiomics_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    *,
    genomics: str | os.PathLike[str] | None = None,
    transcriptomics: str | os.PathLike[str] | None = None,
    proteomics: str | os.PathLike[str] | None = None,
    metabolomics: str | os.PathLike[str] | None = None,
    joint_pca: bool | None = None,
    joint_nmf: bool | None = None,
    canonical_correlation: bool | None = None,
    n_components: int | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/multiomics/integrate.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the template's shape (``inputs``, ``integration``,
    ``samples``, ``output``, ``performance``); the keyword arguments are MetaInformAnt's
    ``multiomics run`` options and win over the config; ``work_dir`` overrides
    ``output.directory``. ``run_options`` go to :func:`engine.run`. Returns the seed's result
    mapping (``result["status"]``, ``result["errors"]``, ...) with the engine's RunResult as
    ``result.run_result``.
    """
    overrides: dict[str, Any] = {}
    files = {"genomics": genomics, "transcriptomics": transcriptomics,
             "proteomics": proteomics, "metabolomics": metabolomics}
    for layer, path in files.items():
        if path is not None:
            overrides[f"inputs.{layer}.file"] = os.fspath(path)
    switches = {"joint_pca": joint_pca, "joint_nmf": joint_nmf,
                "canonical_correlation": canonical_correlation, "n_components": n_components}
    for key, value in switches.items():
        if value is not None:
            overrides[f"integration.{key}"] = value
    if work_dir is not None:
        overrides["output.directory"] = os.fspath(work_dir)
    return engine.execute_bundled(SPEC, config, overrides=overrides, **run_options)


def _seed_flags() -> dict[str, dict[str, Any]]:
    """MetaInformAnt's ``multiomics run`` flags: each sets the template key of its name."""
    flags: dict[str, dict[str, Any]] = {f"--{layer}": {"key": f"inputs.{layer}.file"}
                                        for layer in LAYER_FLAGS}
    flags["--output"] = {"key": "output.directory"}
    flags["--n-components"] = {"key": "integration.n_components"}
    flags.update({"--" + key.replace("_", "-"): {"key": f"integration.{key}", "switch": True}
                  for key in SWITCHES})
    return flags


DOMAIN = {
    "description": "Multiomics: omics layers on shared samples to joint PCA, MOFA+ factors, "
                   "CCA and NMF, with factor-phenotype tests",
    "spec": SPEC,
    "config_flags": _seed_flags(),
}
