"""The bundled example through mi-run: the spec finds the planted variants, PCs fix lambda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "gwas" / "gwas.yaml"
EXAMPLE = ROOT / "examples" / "gwas"


def _run(tmp_path: Path, *settings: str) -> dict:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "engine.cli", "run", str(SPEC), "-j", "1",
            "--set", f"work_dir={out}", *(x for s in settings for x in ("--set", s))]
    proc = subprocess.run(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"out": out,
            "summary": json.loads((out / "results" / "results_summary.json").read_text())}


def test_spec_validates() -> None:
    argv = [sys.executable, "-m", "engine.cli", "run", str(SPEC), "--dry-run"]
    proc = subprocess.run(argv, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("load", "qc", "ld_prune", "structure", "associate", "correct", "plots"):
        assert name in proc.stdout


@pytest.mark.slow
def test_example_finds_planted_variants_with_lambda_near_one(tmp_path: Path) -> None:
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")
    run = _run(tmp_path)
    summary = run["summary"]
    hits = pd.read_csv(run["out"] / "results" / "significant_hits.tsv", sep="\t")
    assert set(truth["SNP"]) <= set(hits["SNP"])
    assert summary["n_significant_genome_wide"] == len(truth)  # and nothing else
    assert 0.95 < summary["lambda_gc"] < 1.15
    for name in ("manhattan", "qq", "pca"):
        for suffix in ("png", "svg"):
            assert (run["out"] / "plots" / f"{name}.{suffix}").stat().st_size > 1000
    dropped = pd.read_csv(run["out"] / "store" / "dropped_samples.tsv", sep="\t")
    assert len(dropped) == 7  # 4 genotyped without phenotype, 3 phenotyped without genotypes


@pytest.mark.slow
def test_example_without_pcs_is_confounded(tmp_path: Path) -> None:
    summary = _run(tmp_path, "structure.compute_pca=false")["summary"]
    assert summary["lambda_gc"] > 2  # population structure inflates every test
    assert not (tmp_path / "out" / "structure").exists()


@pytest.mark.slow
def test_example_vcf_and_binary_trait(tmp_path: Path) -> None:
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")
    run = _run(tmp_path, f"variants.vcf_files=[{EXAMPLE / 'example.vcf.gz'}]",
               f"samples.phenotype_file={EXAMPLE / 'phenotypes.tsv'}",
               f"samples.covariates_file={EXAMPLE / 'covariates.tsv'}",
               "association.trait=disease")
    summary = run["summary"]
    assert summary["n_variants_tested"] > 3000
    assert summary["lambda_gc"] < 1.15
    top = {h["SNP"] for h in summary["top_hits"][:5]}
    assert len(top & set(truth["SNP"])) >= 2  # the binary trait has less power
