"""Seed-style Python entry point: ``execute_epigenome_workflow(config, work_dir=...)``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "epigenome/methylation.yaml"  # a spec shipped with the engine (engine.bundled_spec)


def execute_epigenome_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/epigenome/methylation.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (both read as ``--config``);
    ``work_dir`` overrides the config's. ``run_options`` go to :func:`engine.run` (``jobs``,
    ``keep_going``, ``force``, ...). Returns the seed's result (``result["status"]``,
    ``result["errors"]``), with the engine's RunResult as ``result.run_result``.
    """
    return engine.execute_bundled(SPEC, config, work_dir=work_dir, **run_options)


DOMAIN = {
    "description": "Epigenome: CpG counts to methylation levels, differentially methylated "
                   "loci and regions (DSS's model); reads to peaks with epigenome/chipseq.yaml",
    "spec": SPEC,
    # MetaInformAnt's `epigenome run --methylation FILE --bedgraph FILE --output DIR
    # --compute-beta [--summarize-by-chromosome]`: each flag sets the config key of its name
    "config_flags": {
        "--methylation": {"key": "methylation"},
        "--bedgraph": {"key": "bedgraph"},
        "--output": {"key": "output"},
        "--compute-beta": {"key": "compute_beta", "switch": True},
        "--summarize-by-chromosome": {"key": "summarize_by_chromosome", "switch": True},
    },
}
