"""The rna domain for the seed's CLI and Python layers.

``DOMAIN`` declares ``mi-run rna run|plan|status|... --config X`` over the bundled spec (see
``engine/cli/domains.py``); :func:`execute_amalgkit_workflow` is the seed's
``execute_amalgkit_workflow(config, work_dir=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "rna/amalgkit.yaml"  # a spec shipped with the engine (engine.bundled_spec)

DOMAIN = {
    "description": "RNA-seq: the amalgkit transcriptome workflow (metadata to curated, "
                   "cross-species normalised expression)",
    "spec": SPEC,
}


def execute_amalgkit_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/rna/amalgkit.yaml`` with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (the seed's loaded config), both
    read as ``--config`` reads a file; ``work_dir`` overrides the config's. ``run_options`` go to
    :func:`engine.run` (``jobs``, ``keep_going``, ``force``, ...). Returns the seed's result
    mapping (``result["status"]``, ``result["errors"]``, ...) with the engine's RunResult as
    ``result.run_result``.
    """
    return engine.execute_bundled(SPEC, config, work_dir=work_dir, **run_options)
