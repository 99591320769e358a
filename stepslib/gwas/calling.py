"""``gwas.call_variants``: call variants from aligned reads (bcftools mpileup | bcftools call).

Multi-sample calling over every BAM at once (``bcftools mpileup -f REF -a AD,DP`` piped into
``bcftools call -mv``, the multiallelic caller, variant sites only), then split to biallelic
records (``bcftools norm -m-``) so that every ALT gets a 0/1/2 dosage, bgzipped and indexed.
Sample names come from the BAMs' read groups (``@RG SM:``), as bcftools reads them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, path_list, require_tool, single_path, step

PARAMS = {
    "properties": {
        "method": {"enum": ["bcftools"], "default": "bcftools",
                   "description": "The caller: bcftools mpileup + call -mv (gatk and freebayes, "
                                  "which MetaInformAnt also names, are not implemented)."},
        "min_base_quality": {"type": "integer", "minimum": 0, "default": 13,
                             "description": "bcftools mpileup -Q."},
        "min_mapping_quality": {"type": "integer", "minimum": 0, "default": 0,
                                "description": "bcftools mpileup -q."},
        "max_depth": {"type": "integer", "minimum": 1, "default": 250,
                      "description": "bcftools mpileup -d (reads per file and position)."},
    },
}


def _reference_index(reference: Path, context: StepContext) -> Path:
    """The FASTA itself when its .fai exists beside it, else a copy indexed in the scratch dir
    (never write next to a user's input)."""
    if not reference.exists():
        raise StepError(f"reference FASTA not found: {reference}",
                        hint="set variants.calling.reference to the FASTA the BAMs were "
                             "aligned to")
    if Path(str(reference) + ".fai").exists():
        return reference
    copy = Path(context.tmp_dir) / reference.name
    shutil.copyfile(reference, copy)
    samtools = require_tool("samtools")  # to index the copy
    _run([samtools, "faidx", str(copy)], context)
    return copy


def _run(argv: list[str], context: StepContext, stdout: Any = None) -> None:
    context.log.info("$ %s", " ".join(argv))
    proc = subprocess.run(argv, stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if proc.stdout and stdout is None:
        context.log.info("%s", proc.stdout.strip())
    if proc.stderr:
        context.log.info("%s", proc.stderr.strip())
    if proc.returncode != 0:
        raise StepError(f"{Path(argv[0]).name} {argv[1]} failed (exit {proc.returncode}): "
                        f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}",
                        hint="see the step's log (mi-run log SPEC call_variants)")


@step(
    "gwas.call_variants",
    params=PARAMS,
    version="1",
    inputs={
        "bams": "aligned reads, one or more sorted BAM/CRAM files (indexed or not)",
        "reference": "the reference FASTA the reads were aligned to",
    },
    outputs={
        "vcf": {"description": "bgzipped multi-sample VCF of biallelic variant sites (+ .csi)",
                "suffixes": [".vcf.gz"]},
    },
)
def call_variants(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                  context: StepContext) -> dict[str, Any]:
    """inputs: ``bams`` (one or more), ``reference`` (FASTA). outputs: ``vcf`` (.vcf.gz with
    a .csi index beside it)."""
    bams = path_list(inputs.get("bams"))
    if not bams:
        raise StepError("no BAM file to call variants from",
                        hint="list them under variants.calling.bam_files")
    missing = [str(b) for b in bams if not b.exists()]
    if missing:
        raise StepError(f"BAM file(s) not found: {', '.join(missing)}")
    bcftools = require_tool("bcftools")
    reference = _reference_index(single_path(inputs, "reference"), context)
    out = single_path(outputs, "vcf", output=True)
    tmp = Path(context.tmp_dir)
    raw = tmp / "raw.bcf"
    pileup = tmp / "pileup.bcf"
    _run([bcftools, "mpileup", "-f", str(reference), "-a", "AD,DP", "-Ob", "-o", str(pileup),
          "-Q", str(config["min_base_quality"]), "-q", str(config["min_mapping_quality"]),
          "-d", str(config["max_depth"]), "--threads", str(context.threads),
          *map(str, bams)], context)
    _run([bcftools, "call", "-mv", "-Ob", "-o", str(raw), str(pileup)], context)
    _run([bcftools, "norm", "-m-", "-f", str(reference), "-Oz", "-o", str(out), str(raw)],
         context)
    _run([bcftools, "index", "-f", str(out)], context)
    count = subprocess.run([bcftools, "index", "-n", str(out)], capture_output=True, text=True)
    n_sites = int(count.stdout.strip() or 0) if count.returncode == 0 else None
    samples = subprocess.run([bcftools, "query", "-l", str(out)], capture_output=True, text=True)
    n_samples = len(samples.stdout.split())
    context.log.info("%s variant records in %d samples", n_sites, n_samples)
    return {"status": "completed",
            "metadata": {"n_variants": n_sites, "n_samples": n_samples, "n_bams": len(bams),
                         "method": config["method"]}}
