"""The gwas domain for the seed's CLI and Python layers.

``DOMAIN`` declares ``mi-run gwas run|plan|status|... --config X`` over the bundled spec and
the seed's one-off ``mi-run gwas plot --input results.tsv --type manhattan|qq`` (the step
``gwas.plots``; see ``engine/cli/domains.py``); :func:`execute_gwas_workflow` is the seed's
``execute_gwas_workflow(vcf_path, phenotype_path, config)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import engine

SPEC = "gwas/gwas.yaml"  # a spec shipped with the engine (engine.bundled_spec)

DOMAIN = {
    "description": "GWAS: genotypes (VCF or PLINK) to QC, structure, association, "
                   "multiple-testing correction and plots",
    "spec": SPEC,
    "commands": {
        "plot": {
            "step": "gwas.plots",
            "help": "a Manhattan or QQ plot of association results",
            "arguments": {
                "--input": {"to": "input:summary", "required": True, "metavar": "RESULTS.tsv",
                            "help": "association results: a TSV with CHR, POS and P columns "
                                    "(gwas.associate's or gwas.correct's output)"},
                "--type": {"choices": ["manhattan", "qq"], "default": "manhattan",
                           "help": "which plot (default: manhattan)"},
                "--output": {"to": "output:{type}", "default": "{type}.png",
                             "metavar": "FILE.png|.svg|.pdf",
                             "help": "the plot file; its suffix picks the format "
                                     "(default: TYPE.png)"},
                "--title": {"to": "param:title", "help": "prefix for the plot's title"},
                "--dpi": {"to": "param:dpi", "help": "resolution of a PNG (default: 150)"},
            },
        },
    },
}


def execute_gwas_workflow(
    vcf_path: str | os.PathLike[str] | None,
    phenotype_path: str | os.PathLike[str] | None,
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/gwas/gwas.yaml`` on ``vcf_path`` (a VCF, BCF or PLINK .bed) and
    ``phenotype_path`` (sample_id + traits), as the seed's function of that name.

    ``config`` is a YAML file or a mapping of the same shape, both read as ``--config``;
    the two paths, when given, take precedence over it; ``work_dir`` overrides the config's.
    ``run_options`` go to :func:`engine.run`. Returns the seed's result mapping
    (``result["status"]``, ``result["errors"]``, ...) with the RunResult as
    ``result.run_result``.
    """
    paths: dict[str, Any] = {}
    if vcf_path is not None:
        paths["genotypes"] = os.path.abspath(vcf_path)
    if phenotype_path is not None:
        paths["phenotypes"] = os.path.abspath(phenotype_path)
    return engine.execute_bundled(SPEC, config, work_dir=work_dir, overrides=paths,
                                  **run_options)
