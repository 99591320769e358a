"""The rna domain for the seed's CLI and Python layers.

``DOMAIN`` declares ``mi-run rna run|plan|status|... --config X`` over the bundled spec (see
``engine/cli/domains.py``); :func:`execute_amalgkit_workflow` is the seed's
``execute_amalgkit_workflow(config, work_dir=...)``.
"""

from __future__ import annotations

import engine

SPEC = "rna/amalgkit.yaml"  # a spec shipped with the engine (engine.bundled_spec)

DOMAIN = {
    "description": "RNA-seq: the amalgkit transcriptome workflow (metadata to curated, "
                   "cross-species normalised expression)",
    "spec": SPEC,
}


# the seed's entry point: help() shows its name, signature and a docstring naming SPEC
execute_amalgkit_workflow = engine.bundled_entry_point("execute_amalgkit_workflow", SPEC, __name__)
