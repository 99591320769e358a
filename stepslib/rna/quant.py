"""rna.index and rna.quant: kallisto index per species, kallisto quant per run.

Files follow amalgkit: ``index/<Genus_species>.idx``; ``quant/<RUN>/<RUN>_abundance.tsv`` and
``<RUN>_run_info.json`` (kallisto's ``abundance.tsv``/``run_info.json`` renamed; Debian's
kallisto writes no ``abundance.h5``, amalgkit tolerates that). Single-end runs are quantified
with ``--single -l L -s S``: L = param ``fragment_length``, else the run's ``nominal_length``
when it is >= 200, else 200 (amalgkit); S = param ``fragment_sd``, else L/10.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, path_list, single_path, step

_NUMBER_OR_TEXT = ["number", "string", "null"]  # fan-out templates may render table cells


@step(
    "rna.index",
    inputs={
        "fasta": "the transcriptome (may be gzipped)",
    },
    outputs={
        "index": "the kallisto index",
    },
    version="1",
    tools=["kallisto"],
    params={
        "properties": {
            "kmer_size": {"type": "integer", "minimum": 3, "maximum": 31, "default": 31,
                          "description": "kallisto index -k (odd, at most 31)."},
        },
    },
)
def index(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """``kallisto index`` of input 'fasta' (transcriptome, may be gzipped) to output 'index'."""
    fasta = single_path(inputs, "fasta")
    target = single_path(outputs, "index", output=True)
    if config["kmer_size"] % 2 == 0:
        raise StepError(f"kmer_size must be odd, got {config['kmer_size']}")
    if not fasta.exists():
        raise StepError(f"transcriptome FASTA '{fasta}' does not exist")
    kallisto = context.require_tool("kallisto")
    target.parent.mkdir(parents=True, exist_ok=True)
    context.run([kallisto, "index", "-k", str(config["kmer_size"]), "-i", target, fasta])
    return {"status": "completed"}


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise StepError(f"expected a number, got {value!r}") from None


def single_end_lengths(config: dict[str, Any]) -> tuple[float, float]:
    """(fragment length, sd) for ``--single``, by amalgkit's rule (see the module doc)."""
    length = _number(config["fragment_length"])
    if length is None:
        nominal = _number(config["nominal_length"])
        length = nominal if nominal is not None and nominal >= 200 else 200.0
    sd = _number(config["fragment_sd"])
    return length, sd if sd is not None else length / 10


def _item_value(context: StepContext, key: str) -> Any:
    return context.item.get(key) if isinstance(context.item, dict) else None


@step(
    "rna.quant",
    inputs={
        "index": "rna.index's index",
        "reads": "the run's FASTQ file(s): 1 or 2",
    },
    outputs={
        "abundance": "<RUN>_abundance.tsv",
        "run_info": "<RUN>_run_info.json",
    },
    version="1",
    tools=["kallisto"],
    params={
        "properties": {
            "run": {"type": ["string", "null"], "default": None,
                    "description": "Run id (default: the fan-out row's 'run', else the name of "
                                   "the output's folder)."},
            "lib_layout": {"type": "string", "enum": ["auto", "paired", "single"],
                           "default": "auto",
                           "description": "auto: the fan-out row's lib_layout, else paired "
                                          "when two read files are given."},
            "nominal_length": {"type": _NUMBER_OR_TEXT, "default": None,
                               "description": "Library insert size from the metadata (default: "
                                              "the fan-out row's nominal_length); used for "
                                              "single-end runs when >= 200."},
            "fragment_length": {"type": _NUMBER_OR_TEXT, "default": None,
                                "description": "Single-end fragment length -l; null = amalgkit "
                                               "rule (nominal_length if >= 200, else 200)."},
            "fragment_sd": {"type": _NUMBER_OR_TEXT, "default": None,
                            "description": "Single-end fragment length sd -s; null = length/10 "
                                           "(20 for the default 200)."},
            "bootstrap": {"type": "integer", "minimum": 0, "default": 0,
                          "description": "kallisto bootstraps -b (needs an HDF5-enabled "
                                         "kallisto to be useful)."},
            "seed": {"type": "integer", "default": 42, "description": "kallisto --seed."},
        },
    },
)
def quant(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """``kallisto quant`` of ONE run: inputs 'index' and 'reads' (1 or 2 FASTQ files); outputs
    'abundance' (<RUN>_abundance.tsv) and 'run_info' (<RUN>_run_info.json)."""
    index_path = single_path(inputs, "index")
    reads = path_list(inputs.get("reads"))
    abundance = single_path(outputs, "abundance", output=True)
    run_info = single_path(outputs, "run_info", output=True)
    run = config["run"] or _item_value(context, "run") or abundance.parent.name
    layout = config["lib_layout"]
    if layout == "auto":
        layout = str(_item_value(context, "lib_layout") or "").lower() or (
            "paired" if len(reads) == 2 else "single")
    expected = 2 if layout == "paired" else 1
    if len(reads) != expected:
        raise StepError(f"run '{run}' is {layout}-end but {len(reads)} read file(s) were given: "
                        f"{', '.join(map(str, reads)) or 'none'}",
                        hint="paired runs need [read1, read2], single-end runs one file")
    for path in [index_path, *reads]:
        if not path.exists():
            raise StepError(f"run '{run}': input '{path}' does not exist")
    kallisto = context.require_tool("kallisto")
    work = context.tmp_dir / f"kallisto_{run}"
    work.mkdir(parents=True, exist_ok=True)
    argv: list[str | Path] = [kallisto, "quant", "-i", index_path, "-o", work,
                              "-t", str(max(1, context.threads)), "--seed", str(config["seed"])]
    if config["bootstrap"]:
        argv += ["-b", str(config["bootstrap"])]
    if layout == "single":
        if config["nominal_length"] is None:
            config = {**config, "nominal_length": _item_value(context, "nominal_length")}
        length, sd = single_end_lengths(config)
        argv += ["--single", "-l", f"{length:g}", "-s", f"{sd:g}"]
    argv += reads
    context.run(argv)
    produced = work / "abundance.tsv"
    if not produced.exists():
        raise StepError(f"kallisto wrote no abundance.tsv for run '{run}'",
                        hint=f"see the log: {context.log_path}")
    for source, target in ((produced, abundance), (work / "run_info.json", run_info)):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
    h5 = work / "abundance.h5"
    if h5.exists():
        shutil.move(str(h5), abundance.parent / f"{run}_abundance.h5")
    info = json.loads(run_info.read_text())
    warnings = []
    if not info.get("n_pseudoaligned"):
        warnings.append(f"run '{run}': no read pseudoaligned (wrong species or index?)")
    context.log.info("%s: %s of %s reads pseudoaligned (%s%%)", run,
                     info.get("n_pseudoaligned"), info.get("n_processed"),
                     info.get("p_pseudoaligned"))
    return {"status": "completed", "warnings": warnings,
            "metadata": {"run": run, "layout": layout,
                         "p_pseudoaligned": info.get("p_pseudoaligned")}}
