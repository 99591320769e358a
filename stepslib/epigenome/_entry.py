"""Seed-style Python entry point: ``execute_epigenome_workflow(config, work_dir=...)``."""

from __future__ import annotations

import engine

SPEC = "epigenome/methylation.yaml"  # a spec shipped with the engine (engine.bundled_spec)


# the seed's entry point: help() shows its name, signature and a docstring naming SPEC
execute_epigenome_workflow = engine.bundled_entry_point("execute_epigenome_workflow", SPEC, __name__)


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
