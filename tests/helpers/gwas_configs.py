"""Helpers for the MetaInformAnt-shaped GWAS config tests (tests/gwas/test_gwas_config*.py):
run the bundled spec with a config file, a related-samples data set derived from the bundled
example, GEMMA, and small BAMs simulated from a reference with planted variants."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "gwas" / "gwas.yaml"
EXAMPLE = ROOT / "examples" / "gwas"
TEMPLATE = ROOT / "tests" / "data" / "metainformant-configs" / "gwas_template.yaml"

needs_gemma = pytest.mark.skipif(shutil.which("gemma") is None, reason="gemma is not installed")
needs_calling_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("bcftools", "samtools", "bwa")),
    reason="bcftools, samtools and bwa are needed (make tools)")


def mi_run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``mi-run ARGV`` in ``cwd`` (the state directory and relative paths land there)."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)


def related_example(root: Path, *, seed: int = 7) -> dict[str, Any]:
    """The bundled example's first 200 samples as founders of 100 couples with 3 children
    each (Mendelian transmission, seeded): 500 samples with planted relatedness, written as a
    PLINK fileset ``root/related.{bed,bim,fam}`` with ``phenotypes.tsv`` (a polygenic trait,
    h2 about 0.6, plus one planted large effect) and ``covariates.tsv`` (sex, age)."""
    from bed_reader import open_bed, to_bed

    rng = np.random.default_rng(seed)
    with open_bed(EXAMPLE / "example.bed", count_A1=True) as bed:
        founders = bed.read(index=np.s_[:200, :], dtype="float32")  # samples x variants
        props = {k: bed.properties[k] for k in ("chromosome", "bp_position", "sid",
                                                "allele_1", "allele_2")}
    founders = np.where(np.isnan(founders), 0, founders)
    children = []
    for couple in range(100):
        mother, father = founders[2 * couple], founders[2 * couple + 1]
        for _ in range(3):
            children.append(rng.binomial(1, mother / 2) + rng.binomial(1, father / 2))
    geno = np.vstack([founders, np.array(children, dtype="float32")])
    n, m = geno.shape
    ids = [f"F{k:03d}" for k in range(200)] + [f"C{k:03d}" for k in range(300)]
    causal = rng.choice(m, 300, replace=False)
    standardised = (geno[:, causal] - geno[:, causal].mean(0)) / (geno[:, causal].std(0) + 1e-9)
    polygenic = standardised @ rng.normal(0, 1, len(causal))
    polygenic *= np.sqrt(0.6) / polygenic.std()
    freq = geno[:200].mean(0) / 2
    planted = int(np.flatnonzero((freq > 0.3) & (freq < 0.7))[0])  # common: well powered
    sex = rng.integers(0, 2, n).astype(float)
    age = np.round(rng.uniform(20, 70, n), 1)
    trait = polygenic + 0.5 * (geno[:, planted] - geno[:, planted].mean()) + 0.2 * sex \
        + 0.01 * age + rng.normal(0, np.sqrt(0.4), n)
    to_bed(root / "related.bed", geno, properties={"fid": ids, "iid": ids, **props},
           count_A1=True)
    pd.DataFrame({"sample_id": ids, "score": np.round(trait, 6)}).to_csv(
        root / "phenotypes.tsv", sep="\t", index=False)
    pd.DataFrame({"sample_id": ids, "sex": sex, "age": age}).to_csv(
        root / "covariates.tsv", sep="\t", index=False)
    return {"bed": root / "related.bed", "planted": str(props["sid"][planted]), "ids": ids}


def run_gemma(root: Path, dosages: np.ndarray, variants: pd.DataFrame, trait: np.ndarray,
              covariates: np.ndarray, kinship: np.ndarray) -> tuple[pd.DataFrame, float]:
    """``gemma -lmm 1`` (Wald) on our dosages (variants x samples, ALT counts) with the given
    kinship and covariates (intercept included); its association table and 'pve estimate'."""
    from bed_reader import to_bed

    n = dosages.shape[1]
    ids = [f"s{k}" for k in range(n)]
    to_bed(root / "g.bed", dosages.T.astype("float32"), properties={
        "fid": ids, "iid": ids, "chromosome": variants["CHR"].astype(str).tolist(),
        "bp_position": variants["POS"].tolist(), "sid": variants["SNP"].tolist(),
        "allele_1": variants["ALT"].tolist(), "allele_2": variants["REF"].tolist(),
        "pheno": trait.tolist()}, count_A1=True)
    np.savetxt(root / "k.txt", kinship, fmt="%.12g", delimiter="\t")
    np.savetxt(root / "c.txt", covariates, fmt="%.12g", delimiter="\t")
    proc = subprocess.run(["gemma", "-bfile", "g", "-k", "k.txt", "-c", "c.txt", "-lmm", "1",
                           "-o", "g", "-outdir", "gemma_out"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = pd.read_csv(root / "gemma_out" / "g.assoc.txt", sep="\t")
    log = (root / "gemma_out" / "g.log.txt").read_text()
    pve = next(float(line.split("=")[1]) for line in log.splitlines()
               if "pve estimate" in line and "se(" not in line)
    return table, pve


_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _reads(haplotype: str, n_reads: int, length: int, error: float,
           rng: np.random.Generator) -> list[str]:
    """Single-end reads from random positions and strands, with substitution errors."""
    reads = []
    for start in rng.integers(0, len(haplotype) - length, n_reads):
        read = list(haplotype[start:start + length])
        for k in np.flatnonzero(rng.random(length) < error):
            read[k] = "ACGT"[(("ACGT".index(read[k])) + rng.integers(1, 4)) % 4]
        text = "".join(read)
        reads.append(text.translate(_COMPLEMENT)[::-1] if rng.random() < 0.5 else text)
    return reads


def simulated_bams(root: Path, *, n_samples: int = 30, n_sites: int = 12, length: int = 8000,
                   depth: int = 10, seed: int = 11) -> dict[str, Any]:
    """A seeded random reference ``ref.fa`` (one contig, chr1) with ``n_sites`` planted SNPs;
    per sample, genotypes drawn at each site, reads simulated from its two haplotypes
    (``depth`` x per haplotype, 100 bp, 0.1 % errors) and aligned with ``bwa mem`` into a
    sorted, indexed BAM whose read group names the sample. Also ``phenotypes.tsv`` (trait
    'score' driven by site 0) and the truth table (POS, REF, ALT and one column per sample)."""
    rng = np.random.default_rng(seed)
    reference = "".join(rng.choice(list("ACGT"), length))
    (root / "ref.fa").write_text(">chr1\n" + "\n".join(
        reference[i:i + 70] for i in range(0, length, 70)) + "\n")
    positions = np.sort(rng.choice(np.arange(500, length - 500, 300), n_sites, replace=False))
    alts = ["ACGT"[("ACGT".index(reference[p]) + rng.integers(1, 4)) % 4] for p in positions]
    freqs = rng.uniform(0.25, 0.6, n_sites)
    ids = [f"B{k:02d}" for k in range(n_samples)]
    haps = rng.random((n_samples, 2, n_sites)) < freqs  # True: ALT on that haplotype
    subprocess.run(["bwa", "index", "ref.fa"], cwd=root, check=True, capture_output=True)
    bams = []
    for k, sample in enumerate(ids):
        reads: list[str] = []
        for h in range(2):
            seq = list(reference)
            for site, pos in enumerate(positions):
                if haps[k, h, site]:
                    seq[pos] = alts[site]
            reads += _reads("".join(seq), depth * length // 100, 100, 0.001, rng)
        fastq = root / f"{sample}.fq"
        fastq.write_text("".join(f"@{sample}_{i}\n{r}\n+\n{'I' * len(r)}\n"
                                 for i, r in enumerate(reads)))
        sam = subprocess.run(["bwa", "mem", "-R", f"@RG\\tID:{sample}\\tSM:{sample}",
                              "ref.fa", fastq.name], cwd=root, check=True, capture_output=True)
        bam = root / f"{sample}.bam"
        subprocess.run(["samtools", "sort", "-o", bam.name, "-"], cwd=root, input=sam.stdout,
                       check=True, capture_output=True)
        subprocess.run(["samtools", "index", bam.name], cwd=root, check=True)
        fastq.unlink()
        bams.append(bam)
    genotypes = haps.sum(1)  # samples x sites, ALT count
    truth = pd.DataFrame({"POS": positions + 1, "REF": [reference[p] for p in positions],
                          "ALT": alts})
    for k, sample in enumerate(ids):
        truth[sample] = genotypes[k]
    score = 1.0 * genotypes[:, 0] + rng.normal(0, 0.3, n_samples)
    pd.DataFrame({"sample_id": ids, "score": np.round(score, 5)}).to_csv(
        root / "phenotypes.tsv", sep="\t", index=False)
    return {"reference": root / "ref.fa", "bams": bams, "truth": truth, "ids": ids}
