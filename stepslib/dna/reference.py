"""``dna.reference``: a local FASTA, indexed for samtools/bcftools (faidx) and bwa."""

from __future__ import annotations

import re
import shutil
from typing import Any

from engine import StepContext, StepError, require_tools, single_path, step
from stepslib.dna._tools import paths, result

# MetaInformAnt's accession check (metainformant dna fetch --assembly)
ASSEMBLY_PATTERN = r"^(GCF|GCA)_[0-9]{9,}(\.[0-9]+)?$"
BWA_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")


def check_assembly(assembly: str | None) -> None:
    if assembly is not None and not re.match(ASSEMBLY_PATTERN, assembly):
        raise StepError(f"'{assembly}' is not an NCBI assembly accession",
                        hint="an accession looks like GCF_000001405.40 or GCA_000005845.2")


def no_network_error(assembly: str) -> StepError:
    """What a fetch says: mi-run downloads nothing, the user provides the FASTA."""
    return StepError(
        f"mi-run does not download assembly {assembly} (no network access at run time)",
        hint=f"download it yourself, e.g. 'datasets download genome accession {assembly} "
             "--include genome' (NCBI datasets CLI) and unzip it, then give the FASTA as "
             "reference_fasta: /path/to/genomic.fna (with --set or in the --config file)")


@step(
    "dna.reference",
    version="1",
    tools=["samtools", "bwa"],
    params={"properties": {
        "assembly": {"type": ["string", "null"], "default": None, "pattern": ASSEMBLY_PATTERN,
                     "description": "NCBI accession of the reference (a validated label; "
                                    "nothing is downloaded)"},
        "bwa_index": {"type": "boolean", "default": True,
                      "description": "build the bwa index (off when only minimap2 aligns)"},
    }},
    inputs={"fasta": {"description": "the reference FASTA (plain or bgzip); an empty list "
                                     "with an assembly accession asks for a download",
                      "required": False}},
    outputs={"fasta": {"description": "the reference, copied next to its indexes",
                       "suffixes": [".fa", ".fasta", ".fna"]},
             "fai": {"description": "samtools faidx index", "suffixes": [".fai"]},
             "index": {"description": "the bwa index files (.amb .ann .bwt .pac .sa), or []",
                       "required": False}},
)
def reference(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Copy the reference FASTA under work_dir and index it (``samtools faidx``, ``bwa index``).

    ``assembly`` is kept as a label; with no FASTA given the step fails saying which file to
    provide (mi-run has no network access at run time).
    """
    check_assembly(config["assembly"])
    sources = paths(inputs, "fasta")
    if not sources:
        if config["assembly"]:
            raise no_network_error(config["assembly"])
        raise StepError("no reference FASTA given", hint="set reference_fasta: /path/to/ref.fa")
    tools = require_tools("samtools", *(["bwa"] if config["bwa_index"] else []))
    fasta = single_path(outputs, "fasta", output=True)
    if single_path(outputs, "fai", output=True) != fasta.with_name(fasta.name + ".fai"):
        raise StepError(f"the fai output must be {fasta.name}.fai (where samtools writes it)")
    source = sources[0]
    if source.name.endswith(".gz"):
        import gzip

        with gzip.open(source, "rb") as src, open(fasta, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        shutil.copyfile(source, fasta)
    context.run([tools["samtools"], "faidx", fasta])
    index = paths(outputs, "index")
    if config["bwa_index"]:
        expected = {fasta.with_name(fasta.name + s) for s in BWA_SUFFIXES}
        if set(index) != expected:
            raise StepError("the index output must list the bwa index files "
                            f"{sorted(p.name for p in expected)}")
        context.run([tools["bwa"], "index", fasta])
    contigs = [line.split("\t") for line in fasta.with_name(fasta.name + ".fai")
               .read_text().splitlines()]
    length = sum(int(c[1]) for c in contigs)
    seq = "".join(line.strip() for line in fasta.read_text().splitlines()
                  if not line.startswith(">")).upper() if length < 50_000_000 else ""
    gc = (seq.count("G") + seq.count("C")) / max(1, len(seq) - seq.count("N")) if seq else None
    context.log.info("%d contigs, %d bp", len(contigs), length)
    return result({"n_contigs": len(contigs), "length_bp": length,
                   "gc_fraction": round(gc, 4) if gc is not None else None},
                  assembly=config["assembly"], contigs=[c[0] for c in contigs[:50]])
