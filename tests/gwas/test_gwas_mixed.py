"""``association.model: mixed`` against GEMMA (``gemma -lmm 1``, Debian's 0.98.5) run
independently on the same genotypes, phenotype, covariates and relatedness matrix, on the
bundled example's founders plus 300 children (planted relatedness, tests/helpers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.gwas_configs import SPEC, mi_run, needs_gemma, related_example, run_gemma

CONFIG = """\
work_dir: out/work
variants:
  vcf_files: [{bed}]
samples:
  phenotype_file: phenotypes.tsv
  covariates_file: covariates.tsv
structure:
  compute_pca: false
  compute_relatedness: true
  kinship_method: vanraden
association:
  model: mixed
  trait: score
  covariates: [sex, age]
  relatedness_matrix: auto
output:
  results_dir: out/results
  plots_dir: out/plots
"""


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("mixed")
    data = related_example(root)
    (root / "mixed.yaml").write_text(CONFIG.format(bed=data["bed"]))
    proc = mi_run(root, str(SPEC), "-c", "mixed.yaml", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = root / "out" / "work"
    kept = pd.read_csv(work / "qc" / "kept_samples.tsv", sep="\t")["index"].to_numpy()
    pheno = pd.read_csv(work / "store" / "phenotypes.tsv", sep="\t", index_col=0)
    cov = pd.read_csv(work / "store" / "covariates.tsv", sep="\t", index_col=0)
    covariates = np.column_stack([np.ones(len(kept)), cov[["sex", "age"]].to_numpy()[kept]])
    return {"root": root, "data": data, "work": work, "kept": kept,
            "trait": pheno["score"].to_numpy()[kept], "covariates": covariates,
            "ours": pd.read_csv(work / "association" / "score.assoc.tsv", sep="\t")}


@needs_gemma
@pytest.mark.slow
def test_mixed_model_matches_gemma_lmm1(mixed_run: dict) -> None:
    work: Path = mixed_run["work"]
    dosages = np.load(work / "store" / "dosages.npy")[:, mixed_run["kept"]]
    variants = pd.read_csv(work / "store" / "variants.tsv", sep="\t", dtype={"CHR": str})
    kinship = np.load(work / "structure" / "kinship.npy")
    gemma_dir = mixed_run["root"] / "gemma"
    gemma_dir.mkdir()
    theirs, pve = run_gemma(gemma_dir, dosages, variants, mixed_run["trait"],
                            mixed_run["covariates"], kinship)
    ours: pd.DataFrame = mixed_run["ours"]
    both = ours.merge(theirs, left_on="SNP", right_on="rs")
    assert len(both) == len(ours) == len(theirs) > 3000  # the same QC-passing variants
    sign = np.where(both["A1"] == both["allele1"], 1.0, -1.0)
    beta, gemma_beta = both["BETA"] * sign, both["beta"]
    # 1e-4 relative; a beta near 0 (below 1 % of its SE) within 1e-6 SE instead
    scale = np.maximum(gemma_beta.abs(), 0.01 * both["se"])
    assert (np.abs(beta - gemma_beta) <= 1e-4 * scale).all()
    assert (np.abs(both["SE"] - both["se"]) <= 1e-4 * both["se"]).all()
    assert np.abs(np.log10(both["P"]) - np.log10(both["p_wald"])).max() < 1e-3
    summary = json.loads((mixed_run["root"] / "out" / "results" / "results_summary.json"
                          ).read_text())
    reported = summary["heritability"]["heritability_reml"]
    assert reported == pytest.approx(pve, rel=1e-4)  # REML heritability beside GEMMA's
    assert 0.4 < pve < 0.8  # the simulation's h2 is about 0.6


@pytest.mark.slow
def test_mixed_model_finds_the_planted_variant(mixed_run: dict) -> None:
    ours: pd.DataFrame = mixed_run["ours"]
    top = ours.nsmallest(1, "P")
    assert top["SNP"].iloc[0] == mixed_run["data"]["planted"]
    hits = pd.read_csv(mixed_run["root"] / "out" / "results" / "significant_hits.tsv", sep="\t")
    assert mixed_run["data"]["planted"] in set(hits["SNP"])


def test_mixed_model_without_a_relatedness_matrix_is_refused(tmp_path: Path) -> None:
    from engine.testing import call_step
    from tests.helpers.gwas import prepare

    paths = prepare(tmp_path, missing=False)
    with pytest.raises(Exception, match="needs the relatedness matrix"):
        call_step("gwas.associate", {"model": "mixed", "trait": "qt"},
                  inputs={k: str(paths[k]) for k in ("dosages", "variants", "phenotypes",
                                                     "covariates", "kept_variants",
                                                     "kept_samples")},
                  outputs={"results": str(tmp_path / "r.tsv")}, work_dir=tmp_path)
