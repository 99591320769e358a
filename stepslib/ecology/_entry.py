"""Seed-style Python entry point: ``execute_ecology_workflow(config, work_dir=...)``.

MetaInformAnt documents an ``ECO_`` environment prefix for its ecology settings but never
reads it; here ``ECO_<KEY>`` is honoured as ``MI_<KEY>`` (an ``MI_<KEY>`` set too wins).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "ecology/community.yaml"  # a spec shipped with the engine (engine.bundled_spec)
PREFIX = "ECO_"


def eco_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with every ``ECO_<KEY>`` also given as ``MI_<KEY>`` unless that is set."""
    merged = dict(environ)
    for name, value in environ.items():
        if name.startswith(PREFIX) and len(name) > len(PREFIX):
            merged.setdefault("MI_" + name[len(PREFIX):], value)
    return merged


def execute_ecology_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/ecology/community.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (both read as ``--config``;
    MetaInformAnt's names ``input``, ``output``, ``groups``, ``diversity`` ... are the spec's
    own keys); ``work_dir`` overrides the config's output directory. ``ECO_*`` variables of
    ``environ`` (default: the process environment) act as ``MI_*``. ``run_options`` go to
    :func:`engine.run`. Returns the seed's result (``result["status"]``, ``result["errors"]``),
    with the engine's RunResult as ``result.run_result``.
    """
    overrides = {} if work_dir is None else {"output": os.fspath(work_dir)}
    environment = eco_environment(os.environ if environ is None else environ)
    return engine.execute_bundled(SPEC, config, overrides=overrides, environ=environment,
                                  **run_options)


def _seed_flags() -> dict[str, dict[str, Any]]:
    """MetaInformAnt's ``ecology run`` flags: each sets the config key of its name."""
    valued = {"--input": "input", "--output": "output", "--groups": "groups"}
    switches = ["diversity", "beta_diversity", "rarefaction", "ordination", "indicators",
                "macroecology", "all"]
    flags: dict[str, dict[str, Any]] = {flag: {"key": key} for flag, key in valued.items()}
    flags.update({"--" + key.replace("_", "-"): {"key": key, "switch": True} for key in switches})
    return flags


DOMAIN = {
    "description": "Ecology: a community table to alpha and beta diversity, rarefaction, "
                   "ordination, group tests, indicator species and abundance fits",
    "spec": SPEC,
    "config_flags": _seed_flags(),
}
