"""Joint variant calling over all samples and normalisation/filtering of the calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, require_tool, require_tools, single_path, step
from stepslib.dna._tools import capture, paths, pipe, result


def _vcf_gz_output(outputs: dict[str, Any]) -> tuple[Path, Path]:
    vcf, index = single_path(outputs, "vcf", output=True), single_path(outputs, "index", output=True)
    if index != vcf.with_name(vcf.name + ".csi"):
        raise StepError(f"the index output must be {vcf.name}.csi (where bcftools writes it)")
    return vcf, index


def count_records(context: StepContext, bcftools: str, vcf: Path) -> int:
    return sum(1 for line in capture(context, [bcftools, "view", "-H", vcf]).splitlines() if line)


@step(
    "dna.call",
    version="1",
    tools=["bcftools", "freebayes", "bgzip"],
    params={"properties": {
        "caller": {"enum": ["bcftools", "freebayes"], "default": "bcftools",
                   "description": "bcftools mpileup | call -mv, or freebayes (all samples jointly)"},
        "ploidy": {"type": "integer", "minimum": 1, "maximum": 8, "default": 2,
                   "description": "ploidy of every sample (bcftools call --ploidy, freebayes -p)"},
        "min_mapq": {"type": "integer", "minimum": 0, "default": 20,
                     "description": "minimum mapping quality of a read"},
        "min_baseq": {"type": "integer", "minimum": 0, "default": 13,
                      "description": "minimum base quality"},
        "max_depth": {"type": "integer", "minimum": 1, "default": 250,
                      "description": "bcftools mpileup --max-depth per file"},
    }},
    inputs={"reference": "indexed reference FASTA", "fai": "its .fai",
            "bams": "duplicate-marked BAMs (one per sample)", "bais": "their indexes"},
    outputs={"vcf": {"description": "raw calls (bgzipped VCF)", "suffixes": [".vcf.gz"]},
             "index": {"description": "its CSI index", "suffixes": [".csi"]}},
)
def call(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Joint calling of all samples: variant sites only, with per-sample genotypes."""
    reference, bams = single_path(inputs, "reference"), paths(inputs, "bams")
    vcf, _index = _vcf_gz_output(outputs)
    ploidy = str(config["ploidy"])
    tools = require_tools("bcftools", *(["freebayes", "bgzip"] if config["caller"] == "freebayes"
                                         else []))
    bcftools = tools["bcftools"]
    if config["caller"] == "bcftools":
        pipe(context, [[bcftools, "mpileup", "-f", reference, "-a", "FORMAT/AD,FORMAT/DP",
                        "-q", str(config["min_mapq"]), "-Q", str(config["min_baseq"]),
                        "-d", str(config["max_depth"]), "-Ou", *bams],
                       [bcftools, "call", "-mv", "--ploidy", ploidy, "-Oz", "-o", vcf]])
    else:
        pipe(context, [[tools["freebayes"], "-f", reference, "-p", ploidy,
                        "-m", str(config["min_mapq"]), "-q", str(config["min_baseq"]), *bams],
                       [tools["bgzip"], "-c"]], stdout=vcf)
    context.run([bcftools, "index", "-f", vcf])
    n = count_records(context, bcftools, vcf)
    return result({"caller": config["caller"], "ploidy": config["ploidy"], "raw_records": n,
                   "n_samples": len(bams)})


@step(
    "dna.normalize_filter",
    version="2",
    tools=["bcftools"],
    params={"properties": {
        "min_qual": {"type": "number", "minimum": 0, "default": 20,
                     "description": "keep records with QUAL >= this"},
        "min_depth": {"type": "integer", "minimum": 0, "default": 5,
                      "description": "keep records with INFO/DP >= this (summed over samples)"},
        "atomize": {"type": "boolean", "default": True,
                    "description": "bcftools norm -a: split MNPs and complex records into "
                                   "SNPs and indels (freebayes writes them; bcftools does not)"},
    }},
    inputs={"vcf": "raw calls", "reference": "reference FASTA (for left-alignment)",
            "fai": "its .fai"},
    outputs={"vcf": {"description": "normalised, filtered calls", "suffixes": [".vcf.gz"]},
             "index": {"description": "its CSI index", "suffixes": [".csi"]}},
)
def normalize_filter(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                     context: StepContext) -> dict[str, Any]:
    """``bcftools norm [-a] -m-any -f ref`` (atomize MNPs, split multi-allelics, left-align
    indels), then keep
    ``QUAL >= min_qual && INFO/DP >= min_depth``; the output is indexed."""
    bcftools = require_tool("bcftools")
    raw, reference = single_path(inputs, "vcf"), single_path(inputs, "reference")
    vcf, _index = _vcf_gz_output(outputs)
    expression = f"QUAL>={config['min_qual']} && INFO/DP>={config['min_depth']}"
    steps: list[list[str | Path]] = [[bcftools, "norm", "-m-any", "-f", reference, "-Ou", raw]]
    if config["atomize"]:
        # after the split, so that an overlapping allele becomes a missing genotype and not a
        # '*' ALT record (which a GWAS reader would count as a variant)
        steps.append([bcftools, "norm", "-a", "--atom-overlaps", ".", "-f", reference, "-Ou", "-"])
    steps.append([bcftools, "view", "-i", expression, "-Oz", "-o", vcf])
    pipe(context, steps)
    context.run([bcftools, "index", "-f", vcf])
    n_in = count_records(context, bcftools, raw)
    n_out = count_records(context, bcftools, vcf)
    return result({"records_in": n_in, "records_out": n_out, "filter": expression})
