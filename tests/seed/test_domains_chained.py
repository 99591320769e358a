"""Domains feeding each other through their documented layouts: the simulation's reads (and
their truth VCF) are what `mi-run dna run` reads, and the calls find the planted variants."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from tests.helpers.running import cli

TOOLS = ("dwgsim", "bwa", "samtools", "bcftools", "fastp", "bgzip")


def _sites(vcf: Path, samples: int | None = None) -> set[tuple[str, int]]:
    """(chrom, pos) of the records where one of the first ``samples`` samples (all: None)
    carries a non-reference allele."""
    found = set()
    with gzip.open(vcf, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            genotypes = fields[9:] if samples is None else fields[9:9 + samples]
            alleles = (a for g in genotypes for a in g.split(":")[0].replace("|", "/").split("/"))
            if any(a not in ("0", ".") for a in alleles):
                found.add((fields[0], int(fields[1])))
    return found


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason="make tools installs them")
def test_simulated_reads_are_called_by_the_dna_workflow(work: Path) -> None:
    code, _, err = cli("simulation", "run", "--output", "sim", "--set", "reads.enabled=true",
                       "--set", "reads.samples=2", "-q")
    assert code == 0, err
    reads = work / "sim" / "reads"
    code, _, err = cli("dna", "run", "--set", f"reference_fasta={reads / 'reference.fa'}",
                       "--set", f"sample_sheet={reads / 'samples.tsv'}", "--set", "ploidy=2",
                       "--set", "work_dir=calls", "-q")
    assert code == 0, err
    truth = _sites(reads / "truth.vcf.gz", samples=2)  # the two samples that got reads
    called = _sites(work / "calls" / "calls" / "calls.vcf.gz")
    assert len(truth) > 200
    assert called <= truth  # nothing called that was not planted
    assert len(called) >= 0.85 * len(truth)  # 10x diploid reads: ~93 % found on this seed
