"""Seed-style Python entry points: ``execute_dna_workflow(config, work_dir=...)`` and
``fetch_assembly(assembly, fasta=...)`` (MetaInformAnt's ``metainformant dna fetch``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import engine
from stepslib.dna.reference import check_assembly, no_network_error

VARIANTS = "dna/variants.yaml"  # the flagship: reads -> variant calls
PHYLO = "dna/phylo.yaml"        # sequences -> trees (MetaInformAnt's run_dna_analysis.py)
# MetaInformAnt's DNA script options: a config naming any of them is a sequence analysis
PHYLO_KEYS = frozenset({"input", "analyze_composition", "analyze_population",
                        "analyze_phylogeny", "min_length"})


def choose_spec(keys: set[str]) -> str:
    """phylo.yaml for a config with MetaInformAnt's sequence-analysis keys, else variants.yaml."""
    return PHYLO if keys & PHYLO_KEYS else VARIANTS


def execute_dna_workflow(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    spec: str | None = None,
    **run_options: Any,
) -> engine.SeedResult:
    """Run ``specs/dna/variants.yaml`` (or ``phylo.yaml``) with a MetaInformAnt-style config.

    ``config`` is a YAML file or a mapping of the same shape (both read as ``--config``);
    ``work_dir`` overrides the config's output folder. ``spec``: ``"dna/variants.yaml"`` or
    ``"dna/phylo.yaml"``; by default phylo.yaml when the config names MetaInformAnt's
    sequence-analysis keys (``input``, ``analyze_*``, ``min_length``), else variants.yaml.
    ``run_options`` go to :func:`engine.run`. Returns the seed's result
    (``result["status"]``, ``result["errors"]``), with the RunResult as ``result.run_result``.
    """
    if isinstance(config, Mapping):
        keys = set(config)
    else:
        keys = set() if config is None else _top_level_keys(Path(config))
    overrides = {} if work_dir is None else {"output": os.fspath(work_dir)}
    return engine.execute_bundled(spec or choose_spec(keys), config, overrides=overrides,
                                  **run_options)


def _top_level_keys(path: Path) -> set[str]:
    import yaml

    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    return set(document) if isinstance(document, dict) else set()


def fetch_assembly(assembly: str, fasta: str | os.PathLike[str] | None = None,
                   out_dir: str | os.PathLike[str] = ".") -> Path:
    """``mi-run dna fetch --assembly ACC [--fasta FILE]``: check the accession
    (``^(GCF|GCA)_[0-9]{9,}(\\.[0-9]+)?$``); with a local FASTA copy it to
    ``OUT_DIR/ACC.fa`` and return that path; without one raise :class:`engine.StepError`
    saying which file to provide (mi-run downloads nothing)."""
    check_assembly(assembly)
    if fasta is None:
        raise no_network_error(assembly)
    source = Path(fasta)
    if not source.is_file():
        raise engine.StepError(f"the FASTA given for {assembly} does not exist: {source}")
    target = Path(out_dir) / f"{assembly}.fa"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


DOMAIN = {
    "description": "DNA: reads to variant calls (bwa, samtools, bcftools or freebayes); "
                   "sequences to trees with dna/phylo.yaml",
    "spec": VARIANTS,
    "commands": {
        "fetch": {
            "step": "dna.reference",
            "help": "check an assembly accession and index a local copy of its FASTA "
                    "(nothing is downloaded: without --fasta it says which file to get)",
            "arguments": {
                "--assembly": {"to": "param:assembly", "required": True,
                               "metavar": "GCF_000001405.40"},
                "--fasta": {"to": "input:fasta", "metavar": "FILE.fa",
                            "help": "the assembly's FASTA, downloaded by you"},
                "--output": {"to": "output:fasta", "default": "{assembly}.fa",
                             "metavar": "FILE.fa", "help": "the copy (default: ACCESSION.fa)"},
                "--fai": {"to": "output:fai", "default": "{assembly}.fa.fai",
                          "help": "its samtools faidx index (default: ACCESSION.fa.fai)"},
                "--bwa-index": {"to": "param:bwa_index", "choices": ["true", "false"],
                                "default": "false", "help": "also build the bwa index"},
            },
        },
    },
}
