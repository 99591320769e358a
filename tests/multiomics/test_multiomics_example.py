"""The bundled example through mi-run: the planted factors, their zero blocks, the group and
phenotype factors and the missing samples are found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.multiomics import EXAMPLE, ROOT, SPEC, mi_run, read_tsv, run_spec

STEPS = ("load", "align", "preprocess", "joint_pca", "mofa", "cca", "nmf", "associate", "report")


def test_spec_validates_and_lists_every_step() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(SPEC), "--dry-run"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in STEPS:
        assert name in proc.stdout


def test_example_data_is_reproducible(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(EXAMPLE / "make_example_data.py"), str(tmp_path)],
                   check=True)
    for name in ("transcriptomics.tsv", "proteomics.csv", "metabolomics.tsv", "metadata.tsv",
                 "factors.tsv", "truth.tsv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def truth_lists(kind: str) -> dict[str, list[str]]:
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t", keep_default_na=False)
    rows = truth[truth["kind"] == kind]
    return {r.name: [v for v in str(r.value).split(",") if v] for r in rows.itertuples()}


def matched_factors(out: Path) -> dict[str, tuple[str, float]]:
    """For each planted factor, the learned factor it correlates with best and |r|, over the
    samples seen in a layer where it is active (elsewhere nothing can reveal it)."""
    planted = read_tsv(EXAMPLE / "factors.tsv")
    learned = read_tsv(out / "mofa" / "factors.tsv")
    learned = learned.loc[:, learned.std() > 1e-8]
    missing = truth_lists("missing_samples")
    active = truth_lists("active_factors")
    found = {}
    for factor in planted.columns:
        layers = [lay for lay, fs in active.items() if factor in fs]
        seen = [s for s in planted.index if any(s not in missing[lay] for lay in layers)]
        r = learned.loc[seen].corrwith(planted.loc[seen, factor]).abs()
        found[factor] = (str(r.idxmax()), float(r.max()))
    return found


@pytest.mark.slow
def test_example_finds_what_was_planted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_spec(tmp_path, f"output.directory={out}", "integration.joint_nmf=true",
                    "nmf_layers=[transcriptomics]")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = matched_factors(out)
    for factor, (_, r) in found.items():
        assert r >= 0.95, (factor, r)
    assert len({name for name, _ in found.values()}) == 4
    variance = read_tsv(out / "mofa" / "variance_explained.tsv")
    for layer, factors in truth_lists("active_factors").items():
        for factor in factors:
            assert variance.loc[layer, found[factor][0]] > 0.1, (layer, factor)
    for layer, factors in truth_lists("inactive_factors").items():
        for factor in factors:  # the zero blocks
            assert variance.loc[layer, found[factor][0]] < 0.01, (layer, factor)
    associations = read_tsv(out / "associate" / "factor_associations.tsv", index=False)
    for variable, planted in (("group", "Z1"), ("phenotype", "Z2")):
        rows = associations[associations["variable"] == variable]
        best = rows.loc[rows["p_value"].idxmin()]
        assert best["factor"] == found[planted][0] and best["q_value"] < 1e-6
    dropped = read_tsv(out / "align" / "dropped_samples.tsv", index=False)
    for layer, samples in truth_lists("missing_samples").items():
        assert sorted(dropped[dropped["layer"] == layer]["sample_id"]) == sorted(samples)
    summary = json.loads((out / "workflow_summary.json").read_text())
    assert {"mofa_r2", "joint_pca_variance_ratio", "canonical_correlations",
            "associations_q_below_0.05", "nmf_components"} <= set(summary)
    for plot in ("variance_explained", "factor_scatter"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 5000
    assert (out / "mofa" / "mofa.hdf5").exists()
    nmf = read_tsv(out / "nmf" / "joint_nmf_sample_factors.tsv")
    assert nmf.shape == (120, 10) and (nmf.to_numpy() >= 0).all()


@pytest.mark.slow
def test_inner_join_knn_and_h5mu(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_spec(tmp_path, f"output.directory={out}", "samples.require_all_omics=true",
                    "imputation=knn", "top_k=100", "output.save_integrated_data=true",
                    "integration.mofa=false", "integration.canonical_correlation=false")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inner = int(pd.read_csv(EXAMPLE / "truth.tsv", sep="\t").query(
        "kind == 'n_samples_inner_join'")["value"].item())
    aligned = read_tsv(out / "store" / "aligned.tsv")
    assert len(aligned) == inner and not aligned.isna().any(axis=None)
    dropped = read_tsv(out / "align" / "dropped_samples.tsv", index=False)
    assert set(dropped["action"]) == {"dropped"} and dropped["sample_id"].nunique() == 120 - inner
    imputed = read_tsv(out / "store" / "imputed.tsv")
    assert imputed.shape == (inner, 300)  # top 100 of each of the three layers
    import mudata

    mdata = mudata.read_h5mu(out / "integrated" / "integrated.h5mu")
    assert set(mdata.mod) == {"transcriptomics", "proteomics", "metabolomics"}
    np.testing.assert_allclose(np.asarray(mdata.mod["proteomics"].X),
                               imputed.filter(like="proteomics:").to_numpy(), atol=1e-12)


def test_a_negative_layer_stops_nmf_with_the_fix(tmp_path: Path) -> None:
    proc = run_spec(tmp_path, f"output.directory={tmp_path / 'o'}", "integration.mofa=false",
                    "integration.joint_nmf=true", "integration.canonical_correlation=false")
    assert proc.returncode != 0
    assert "NMF needs non-negative input; layer(s) metabolomics" in proc.stdout + proc.stderr
    assert "nmf_layers" in proc.stdout + proc.stderr


def test_cca_without_ridge_on_wide_layers_says_what_to_do(tmp_path: Path) -> None:
    proc = run_spec(tmp_path, f"output.directory={tmp_path / 'o'}", "integration.mofa=false",
                    "cca_ridge=0")
    assert proc.returncode != 0
    assert "classical CCA is undefined" in proc.stdout + proc.stderr
    assert "set a ridge > 0" in proc.stdout + proc.stderr


def test_domain_command_is_listed(tmp_path: Path) -> None:
    proc = mi_run(tmp_path, "domains")
    assert proc.returncode == 0, proc.stderr
    assert "multiomics" in proc.stdout
