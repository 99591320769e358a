"""Plain helpers for the GWAS step tests: small simulated genotypes, plink2 (fixtures live in
tests/gwas/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.testing import call_step

StepCaller = Callable[..., Any]
HAS_PLINK2 = shutil.which("plink2") is not None
needs_plink2 = pytest.mark.skipif(not HAS_PLINK2, reason="plink2 is not installed")


def simulate_plink(prefix: Path, *, n_samples: int = 300, n_variants: int = 400,
                   missing_rate: float = 0.01, seed: int = 1, missing: bool = True,
                   ) -> dict[str, Any]:
    """A small PLINK fileset with structure, missing calls, HWE violators and rare variants.

    Also writes ``<prefix>.pheno.tsv`` (sample_id, qt, cc 0/1) and ``<prefix>.covar.tsv``
    (sample_id, c1, c2). Variant 5 is causal for both traits.
    """
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    pop = rng.integers(0, 2, n_samples)
    base = rng.uniform(0.02, 0.5, n_variants)
    freq = np.clip(base[:, None] + np.where(pop == 1, 0.08, -0.08)[None, :] * rng.normal(
        0, 1, n_variants)[:, None], 0.005, 0.995)
    geno = rng.binomial(2, freq).astype(np.float32)  # variants x samples
    geno[:8] = rng.binomial(2, 0.004, (8, n_samples))  # rare variants (MAF filter)
    geno[10:14] = np.where(rng.random((4, n_samples)) < 0.5, 0, 2)  # no hets: HWE failures
    geno[20] = 1
    geno[20, :3] = 0  # almost all hets: HWE excess-het failure
    geno[30] = 0  # monomorphic
    causal = 40
    geno[causal] = rng.binomial(2, 0.3, n_samples)
    c1 = rng.normal(0, 1, n_samples)
    c2 = rng.integers(0, 2, n_samples).astype(float)
    g = geno[causal]
    qt = 0.5 * g + 0.3 * c1 + 0.5 * pop + rng.normal(0, 1, n_samples)
    cc = (rng.random(n_samples) < 1 / (1 + np.exp(-(-0.6 + 0.6 * g + 0.4 * c1 + 0.3 * pop)))
          ).astype(int)
    mask = rng.random(geno.shape) < missing_rate
    high = slice(causal + 1, min(causal + 40, n_variants))  # some high missingness
    mask[high] |= rng.random(mask[high].shape) < 0.06
    if missing:
        geno[mask] = np.nan
        geno[:, :2] = np.where(rng.random((n_variants, 2)) < 0.3, np.nan, geno[:, :2])  # bad
    ids = [f"i{k}" for k in range(n_samples)]
    chrom = np.repeat(["1", "2", "3"], [n_variants // 2, n_variants // 4,
                                        n_variants - n_variants // 2 - n_variants // 4])
    pos = np.concatenate([np.arange(1, (chrom == c).sum() + 1) * 1000 for c in ("1", "2", "3")])
    alt = rng.choice(list("ACGT"), n_variants)
    ref = np.array(["T" if a == "A" else "A" for a in alt])
    to_bed(f"{prefix}.bed", geno.T, properties={
        "fid": ids, "iid": ids, "chromosome": chrom.tolist(), "bp_position": pos.tolist(),
        "sid": [f"v{k}" for k in range(n_variants)], "allele_1": alt.tolist(),
        "allele_2": ref.tolist()}, count_A1=True)
    pd.DataFrame({"sample_id": ids, "qt": np.round(qt, 6), "cc": cc}).to_csv(
        f"{prefix}.pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"sample_id": ids, "c1": np.round(c1, 6), "c2": c2}).to_csv(
        f"{prefix}.covar.tsv", sep="\t", index=False)
    return {"causal": f"v{causal}", "ids": ids}


def load_outputs(root: Path) -> dict[str, Path]:
    return {"dosages": root / "dosages.npy", "variants": root / "variants.tsv",
            "phenotypes": root / "phenotypes.tsv", "covariates": root / "covariates.tsv",
            "dropped": root / "dropped.tsv"}


def qc_outputs(root: Path) -> dict[str, Path]:
    return {k: root / f"{k}.tsv" for k in ("variant_qc", "sample_qc", "kept_variants",
                                           "kept_samples", "summary")}


def plink2(*args: Any, cwd: Path) -> None:
    import subprocess

    subprocess.run(["plink2", "--silent", "--threads", "1", *map(str, args)], cwd=cwd,
                   check=True, capture_output=True)


def plink_sample_file(table: pd.DataFrame, path: Path, *, case_control: tuple[str, ...] = (),
                      ) -> Path:
    """Our sample_id TSV as a plink2 --pheno/--covar file (#FID IID ..., cases coded 2)."""
    out = table.rename(columns={"sample_id": "IID"}).copy()
    out.insert(0, "#FID", out["IID"])
    for column in case_control:
        out[column] = out[column] + 1
    out.to_csv(path, sep="\t", index=False, na_rep="NA")
    return path


def printed_close(ours: np.ndarray, printed: np.ndarray, rel: float = 1e-6,
                  atol: float = 0.0) -> np.ndarray:
    """|ours - printed| within plink2's 6-significant-digit rounding plus ``rel`` relative.

    plink2 prints BETA/SE/OR with 6 significant digits, so a value is only known to half a
    unit in its 6th digit: that is the floor of any comparison.
    """
    ours, printed = np.asarray(ours, float), np.asarray(printed, float)
    with np.errstate(divide="ignore"):
        half_ulp = 0.5 * 10.0 ** (np.floor(np.log10(np.abs(printed))) - 5)
    return np.abs(ours - printed) <= half_ulp * 1.001 + rel * np.abs(printed) + atol


def prepare(tmp_path: Path, **options: Any) -> dict[str, Any]:
    raw = tmp_path / "raw"
    raw.mkdir()
    info = simulate_plink(raw / "sim", **options)
    store, qcdir = tmp_path / "store", tmp_path / "qc"
    loads, qcs = load_outputs(store), qc_outputs(qcdir)
    call_step("gwas.load", {}, inputs={
        "genotypes": raw / "sim.bed", "phenotypes": raw / "sim.pheno.tsv",
        "covariates": raw / "sim.covar.tsv"}, outputs=loads, work_dir=tmp_path)
    call_step("gwas.qc", {}, inputs={k: loads[k] for k in ("dosages", "variants", "phenotypes")},
              outputs=qcs, work_dir=tmp_path)
    return {**info, "raw": raw, "prefix": raw / "sim", **loads, **qcs}
