"""Make the bundled GWAS example: two subpopulations, 5 chromosomes, 3 planted causal SNPs.

Deterministic (fixed seeds). Run from anywhere::

    python examples/gwas/make_example_data.py [OUT_DIR]

Writes (default: next to this script):
- ``example.bed/.bim/.fam``: PLINK 1 binary genotypes (bim column 5 = ALT, column 6 = REF);
- ``example.vcf.gz``: the same genotypes as a bgzipped VCF (only if ``bcftools`` is on PATH);
- ``phenotypes.tsv``: ``sample_id``, ``height`` (quantitative), ``disease`` (0/1);
- ``covariates.tsv``: ``sample_id``, ``sex`` (0/1), ``age``;
- ``truth.tsv``: the planted causal variants and their effects.

Design: msprime simulates 300 + 300 diploids from two populations that split 1,500
generations ago (Fst around 0.07), 5 chromosomes of 300 kb with a high recombination rate
(LD decays within kilobases, so each causal SNP gives one narrow peak). Only biallelic SNPs
with minor allele count >= 3 are kept. 0.3% of genotypes are set missing at random, plus 15 variants with
~20% missingness (removed by ``--geno 0.05``) and 10 SNPs relabelled as indels (for the indel
filter). The population-structure confounder: both traits have a mean shift in population B,
so without PCs the test statistics inflate. Four genotyped samples have no phenotype row and
three phenotype rows have no genotypes, to exercise the sample-alignment report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import msprime
import numpy as np
import pandas as pd
from bed_reader import to_bed

N_PER_POP = 300
N_CHROM = 5
CHROM_LENGTH = 300_000
SEED = 20240611
RECOMBINATION = 5e-7  # per bp per generation: LD decays within ~10 kb, so hits stay local
SPLIT_TIME = 1_500  # generations: Fst around 0.07
CAUSAL_BETA = (0.6, -0.55, 0.65)  # per-allele effects in trait SD units


def simulate_dosages(seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Dosage matrix (variants x samples, ALT count), variant table, population label."""
    demography = msprime.Demography()
    demography.add_population(name="A", initial_size=10_000)
    demography.add_population(name="B", initial_size=10_000)
    demography.add_population(name="ANC", initial_size=10_000)
    demography.add_population_split(time=SPLIT_TIME, derived=["A", "B"], ancestral="ANC")
    blocks, rows = [], []
    for chrom in range(1, N_CHROM + 1):
        ts = msprime.sim_ancestry(
            samples={"A": N_PER_POP, "B": N_PER_POP}, demography=demography,
            sequence_length=CHROM_LENGTH, recombination_rate=RECOMBINATION, random_seed=seed + chrom,
        )
        ts = msprime.sim_mutations(ts, rate=1.2e-8, random_seed=seed + 100 + chrom)
        last_pos = 0
        for var in ts.variants():
            if len(var.alleles) != 2 or var.alleles[1] is None:
                continue
            haps = var.genotypes
            dosage = (haps[0::2] + haps[1::2]).astype(np.int8)
            alt_count = int(dosage.sum())
            if min(alt_count, 2 * dosage.size - alt_count) < 3:
                continue
            pos = max(int(var.site.position) + 1, last_pos + 1)  # 1-based, strictly increasing
            last_pos = pos
            blocks.append(dosage)
            rows.append((chrom, pos, var.alleles[0], var.alleles[1]))
    dosages = np.vstack(blocks)
    variants = pd.DataFrame(rows, columns=["CHR", "POS", "REF", "ALT"])
    variants.insert(2, "SNP", [f"rs{i + 1:06d}" for i in range(len(variants))])
    population = np.repeat([0, 1], N_PER_POP)
    return dosages, variants, population


def pick_causal(dosages: np.ndarray, variants: pd.DataFrame, population: np.ndarray,
                rng: np.random.Generator) -> list[int]:
    """One causal SNP on each of chromosomes 1, 3, 5: common, similar frequency in A and B."""
    chosen = []
    for chrom in (1, 3, 5):
        idx = np.flatnonzero(variants["CHR"].to_numpy() == chrom)
        freq_a = dosages[idx][:, population == 0].mean(axis=1) / 2
        freq_b = dosages[idx][:, population == 1].mean(axis=1) / 2
        ok = idx[(np.minimum(freq_a, freq_b) > 0.25) & (np.maximum(freq_a, freq_b) < 0.75)
                 & (np.abs(freq_a - freq_b) < 0.05)]
        chosen.append(int(rng.choice(ok)))
    return chosen


def main(out_dir: Path) -> None:
    rng = np.random.default_rng(SEED)
    dosages, variants, population = simulate_dosages(SEED)
    n_var, n_samp = dosages.shape
    causal = pick_causal(dosages, variants, population, rng)

    sex = rng.integers(0, 2, n_samp)
    age = np.round(rng.uniform(20, 70, n_samp), 1)
    genetic = sum(b * (dosages[i] - dosages[i].mean()) for b, i in zip(CAUSAL_BETA, causal))
    confounder = 0.8 * population  # subpopulation B has a higher mean: structure confounds
    height = genetic + confounder + 0.3 * sex + 0.01 * (age - 45) + rng.normal(0, 1, n_samp)
    liability = genetic + confounder + rng.normal(0, 1, n_samp)
    disease = (liability > np.median(liability)).astype(int)

    # Missing data: sporadic calls, a few bad variants, indel-labelled SNPs.
    geno = dosages.astype(np.float32)
    geno[rng.random(geno.shape) < 0.003] = np.nan
    bad = rng.choice(np.setdiff1d(np.arange(n_var), causal), 15, replace=False)
    for i in bad:
        geno[i, rng.random(n_samp) < 0.2] = np.nan
    indel = rng.choice(np.setdiff1d(np.arange(n_var), np.r_[causal, bad]), 10, replace=False)
    variants.loc[indel, "ALT"] = variants.loc[indel, "REF"] + "T"

    sample_ids = [f"S{i + 1:04d}" for i in range(n_samp)]
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "example"
    to_bed(
        f"{prefix}.bed", geno.T,  # to_bed wants samples x variants; counts allele_1 = ALT
        properties={
            "fid": sample_ids, "iid": sample_ids, "sex": np.where(sex == 1, 1, 2),
            "chromosome": variants["CHR"].astype(str).tolist(), "sid": variants["SNP"].tolist(),
            "bp_position": variants["POS"].tolist(), "cm_position": [0.0] * n_var,
            "allele_1": variants["ALT"].tolist(), "allele_2": variants["REF"].tolist(),
        },
        count_A1=True,
    )

    pheno = pd.DataFrame({"sample_id": sample_ids, "height": np.round(height, 4),
                          "disease": disease})
    pheno.loc[rng.choice(n_samp, 6, replace=False), "height"] = np.nan  # a few missing values
    pheno = pheno.drop(index=[10, 200, 333, 590])  # genotyped but not phenotyped
    extra = pd.DataFrame({"sample_id": ["X0001", "X0002", "X0003"], "height": [0.1, 0.2, 0.3],
                          "disease": [0, 1, 0]})
    pd.concat([pheno, extra]).to_csv(out_dir / "phenotypes.tsv", sep="\t", index=False,
                                     na_rep="NA")
    pd.DataFrame({"sample_id": sample_ids, "sex": sex, "age": age}).to_csv(
        out_dir / "covariates.tsv", sep="\t", index=False)
    truth = variants.loc[causal, ["CHR", "POS", "SNP", "REF", "ALT"]].assign(BETA=CAUSAL_BETA)
    truth.to_csv(out_dir / "truth.tsv", sep="\t", index=False)

    if shutil.which("plink2") and shutil.which("bcftools"):
        # plink2 writes the VCF (REF/ALT kept as in the .bim), bcftools recompresses with BGZF.
        tmp = out_dir / "_vcf_tmp"
        subprocess.run(["plink2", "--bfile", str(prefix), "--export", "vcf", "id-paste=iid",
                        "--out", str(tmp), "--silent"], check=True)
        subprocess.run(["bcftools", "view", "-Oz", "-o", str(out_dir / "example.vcf.gz"),
                        f"{tmp}.vcf"], check=True)
        for suffix in (".vcf", ".log"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    print(f"{n_var} variants x {n_samp} samples; causal {variants.loc[causal, 'SNP'].tolist()}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
