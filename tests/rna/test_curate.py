"""rna.curate (amalgkit curate with batch_effect_alg no) on synthetic runs with planted faults."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine import StepError
from engine.testing import call_step
from stepslib.rna.curate_core import correlation_outliers, correlation_statistics, tau

GENES = [f"g{i:03d}" for i in range(200)]


def run_step(tmp_path: Path, name: str, params: dict, inputs: dict, outputs: dict) -> Any:
    return call_step(name, params, inputs=inputs, outputs=outputs, work_dir=tmp_path)


def synthetic(tmp_path: Path, extra_meta: dict[str, list] | None = None) -> dict[str, Path]:
    """2 groups x 2 BioProjects x 3 runs, plus: an 'A' run with a B profile (OUTLIER), a run
    mapped at 10% (LOWMAP), one at 0% (ZEROMAP), one with unknown mapping rate (NAMAP) and a
    metadata run without counts (MISSING)."""
    rng = np.random.default_rng(7)
    base = rng.lognormal(4, 1.2, size=len(GENES))
    profile = {"A": base.copy(), "B": base.copy()}
    profile["B"][:60] *= np.where(np.arange(60) % 2 == 0, 12.0, 1 / 12)
    profile["A"][60:70] = 0.0  # genes silent in A: zeros that must stay zero
    bp_effect = {bp: rng.lognormal(0, 0.15, size=len(GENES)) for bp in ("PRJ1", "PRJ2")}
    rows, columns = [], {}
    for group in ("A", "B"):
        for bp in ("PRJ1", "PRJ2"):
            for k in range(3):
                run = f"SRR{group}{bp[-1]}{k}"
                columns[run] = rng.poisson(profile[group] * bp_effect[bp] * rng.uniform(0.5, 2))
                rows.append((run, group, bp, 90.0))
    specials = [("OUTLIER", "A", "PRJ1", "B", 85.0), ("LOWMAP", "B", "PRJ2", "B", 10.0),
                ("ZEROMAP", "A", "PRJ2", "A", 0.0), ("NAMAP", "B", "PRJ1", "B", math.nan)]
    for run, label, bp, truth, rate in specials:
        columns[run] = rng.poisson(profile[truth] * bp_effect[bp])
        rows.append((run, label, bp, rate))
    rows.append(("MISSING", "B", "PRJ2", 90.0))
    counts = pd.DataFrame(columns, index=GENES).astype(float)
    counts.loc["g199"] = 0.0  # a gene never seen
    eff = pd.DataFrame(np.tile(rng.uniform(300, 3000, size=(len(GENES), 1)), counts.shape[1]),
                       index=GENES, columns=counts.columns).round(2)
    meta = pd.DataFrame(rows, columns=["run", "sample_group", "bioproject", "mapping_rate"])
    meta.insert(0, "scientific_name", "Genus one")
    meta["exclusion"] = "no"
    for column, values in (extra_meta or {}).items():
        meta[column] = values
    base_dir = tmp_path / "merge" / "Genus_one"
    base_dir.mkdir(parents=True)
    paths = {"counts": base_dir / "Genus_one_est_counts.tsv",
             "eff_length": base_dir / "Genus_one_eff_length.tsv",
             "metadata": tmp_path / "merge" / "metadata.tsv"}
    counts.rename_axis("target_id").reset_index().to_csv(paths["counts"], sep="\t", index=False)
    eff.rename_axis("target_id").reset_index().to_csv(paths["eff_length"], sep="\t", index=False)
    meta.to_csv(paths["metadata"], sep="\t", index=False)
    return paths


def table(tmp_path: Path, name: str, **options: Any) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "curate" / "Genus_one" / "tables" / f"Genus_one.{name}.tsv",
                       sep="\t", **options)


def test_curate_removes_outlier_and_low_mapping_runs(tmp_path: Path) -> None:
    paths = synthetic(tmp_path)
    result = run_step(tmp_path, "rna.curate", {}, paths, {"dir": tmp_path / "curate"})
    meta = table(tmp_path, "metadata").set_index("run")
    assert meta.loc["OUTLIER", "exclusion"] == "low_within_sample_group_correlation"
    assert meta.loc["LOWMAP", "exclusion"] == "low_mapping_rate"
    assert meta.loc["ZEROMAP", "exclusion"] == "low_mapping_rate"
    assert meta.loc["MISSING", "exclusion"] == "failed_quantification"
    kept = sorted(meta.index[meta["exclusion"] == "no"])
    assert kept == sorted([r for r in meta.index if r.startswith("SRR")] + ["NAMAP"])
    assert result["metadata"]["species"]["Genus_one"]["kept"] == 13
    final = table(tmp_path, "no.tc", index_col="target_id")
    # amalgkit's order: by sample_group, then BioProject
    groups = meta.loc[final.columns, "sample_group"].tolist()
    assert groups == sorted(groups) and set(final.columns) == set(kept)
    assert list(final.index) == GENES
    assert (final.loc["g199"] == 0).all() and (final.loc["g060"].loc[
        [c for c in final.columns if meta.loc[c, "sample_group"] == "A"]] == 0).all()
    uncorrected = table(tmp_path, "uncorrected.tc", index_col="target_id")
    assert "OUTLIER" in uncorrected.columns and "MISSING" not in uncorrected.columns
    means = table(tmp_path, "no.sample_group.mean", index_col="target_id")
    assert list(means.columns) == ["A", "B"]
    a_runs = [c for c in final.columns if meta.loc[c, "sample_group"] == "A"]
    np.testing.assert_allclose(means["A"], final[a_runs].mean(axis=1))
    stats = table(tmp_path, "no.correlation_statistics", index_col="round")
    # round 2 removes the outlier, round 3 changes nothing and is recorded
    assert list(stats.index) == ["round_0", "round_1", "round_3"]
    assert stats.shape[1] == 12 and (stats["wiwi_mean"] > stats["bwbw_mean"]).all()
    taus = table(tmp_path, "no.tau", index_col="target_id")
    assert list(taus.columns) == ["tau", "highest", "order"] and len(taus) == len(GENES)
    assert math.isnan(taus.loc["g199", "tau"]) and taus.loc["g060", "tau"] == pytest.approx(1)
    assert taus.loc["g060", "highest"] == "B" and taus.loc["g060", "order"] == "B"


def test_fpkm_uses_tmm_library_size_when_present(tmp_path: Path) -> None:
    lib = [1e6 * (i + 1) for i in range(17)]
    paths = synthetic(tmp_path, {"tmm_library_size": lib})
    run_step(tmp_path, "rna.curate", {"skip_curation": "yes"}, paths, {"dir": tmp_path / "curate"})
    counts = pd.read_csv(paths["counts"], sep="\t", index_col=0)
    eff = pd.read_csv(paths["eff_length"], sep="\t", index_col=0)
    meta = pd.read_csv(paths["metadata"], sep="\t").set_index("run")
    got = table(tmp_path, "uncorrected.tc", index_col="target_id")
    run = "SRRB21"
    expected = np.log2(counts[run] / eff[run] / meta.loc[run, "tmm_library_size"] * 1e9 + 1)
    np.testing.assert_allclose(got[run], expected, rtol=1e-12)
    assert not (tmp_path / "curate/Genus_one/tables/Genus_one.no.tau.tsv").exists()


def test_tpm_norm_and_other_groups_selection(tmp_path: Path) -> None:
    paths = synthetic(tmp_path)
    run_step(tmp_path, "rna.curate", {"norm": "lognp1-tpm", "sample_group": ["B"]}, paths,
             {"dir": tmp_path / "curate"})
    got = table(tmp_path, "uncorrected.tc", index_col="target_id")
    np.testing.assert_allclose(np.expm1(got).sum(axis=0), 1e6)
    meta = table(tmp_path, "metadata")
    assert set(meta["sample_group"]) == {"B"}
    # one group only: no correlation-based removal, so the 'A' outlier is simply absent
    assert set(meta.loc[meta["exclusion"] != "no", "exclusion"]) == {
        "low_mapping_rate", "failed_quantification"}


def test_only_no_batch_correction_is_implemented(tmp_path: Path) -> None:
    paths = synthetic(tmp_path)
    with pytest.raises(StepError, match="'sva' is not implemented"):
        run_step(tmp_path, "rna.curate", {"batch_effect_alg": "sva"}, paths,
                 {"dir": tmp_path / "curate"})


def test_tau_by_hand() -> None:
    # log2p1 values of x = [1, 3, 7] etc.; tau = sum(1 - x/max) / (n - 1)
    means = pd.DataFrame({"A": [1.0, 0.0, 2.0, 0.0], "B": [2.0, 0.0, 2.0, 0.0],
                          "C": [3.0, 0.0, 2.0, 4.0]}, index=["mixed", "off", "flat", "only_c"])
    got = tau(means, "log2p1-fpkm")
    assert got.loc["mixed", "tau"] == pytest.approx((6 / 7 + 4 / 7) / 2)
    assert got.loc["mixed", "highest"] == "C" and got.loc["mixed", "order"] == "C|B|A"
    assert math.isnan(got.loc["off", "tau"]) and pd.isna(got.loc["off", "highest"])
    assert got.loc["flat", "tau"] == 0 and got.loc["flat", "order"] == "A|B|C"
    assert got.loc["only_c", "tau"] == 1 and got.loc["only_c", "order"] == "C"


def test_correlation_statistics_by_hand() -> None:
    # cor(r1,r3)=1, cor(r1,r2)=cor(r2,r3)=-1, cor(r1,r4)=cor(r3,r4)=0.8, cor(r2,r4)=-0.8
    tc = pd.DataFrame({"r1": [1, 2, 3, 4], "r2": [4, 3, 2, 1], "r3": [1, 2, 3, 4],
                       "r4": [1, 2, 4, 3]}, dtype=float)
    meta = pd.DataFrame({"run": ["r1", "r2", "r3", "r4"], "bioproject": ["P1", "P1", "P2", "P2"],
                         "sample_group": ["A", "B", "A", "B"]})
    got = correlation_statistics(tc, meta, "pearson")
    # full matrix as amalgkit: each pair twice, the diagonal counts as within/within
    assert got["wiwi_mean"] == 1 and got["wiwi_variance"] == 0
    assert got["bwbw_mean"] == pytest.approx(-0.1) and got["bwbw_median"] == pytest.approx(-0.1)
    assert got["bwbw_variance"] == pytest.approx(1.08)
    assert got["wibw_mean"] == pytest.approx(-0.1) and got["wibw_variance"] == pytest.approx(1.08)
    assert got["bwwi_mean"] == pytest.approx(0.1) and got["bwwi_variance"] == pytest.approx(1.08)
    one = correlation_statistics(tc[["r1"]], meta, "pearson")
    assert len(one) == 12 and all(math.isnan(v) for v in one.values())


def test_outlier_removal_rules_batch_versus_one_per_bioproject() -> None:
    # x1, x2 (BioProject P1) are labelled A but have the B profile; y1 (P4) the reverse.
    rng = np.random.default_rng(3)
    profile = {"a": rng.lognormal(2, 1, 50), "b": rng.lognormal(2, 1, 50)}
    layout = [("a1", "A", "P1", "a"), ("a2", "A", "P1", "a"), ("x1", "A", "P1", "b"),
              ("x2", "A", "P1", "b"), ("a3", "A", "P2", "a"), ("a4", "A", "P2", "a"),
              ("a5", "A", "P2", "a"), ("b1", "B", "P3", "b"), ("b2", "B", "P3", "b"),
              ("b3", "B", "P4", "b"), ("y1", "B", "P4", "a")]
    tc = pd.DataFrame({run: np.log2(profile[p] * rng.lognormal(0, 0.1, 50) + 1)
                       for run, _, _, p in layout})
    meta = pd.DataFrame(layout, columns=["run", "sample_group", "bioproject", "profile"])
    meta["exclusion"] = "no"
    options = ("pearson", 0.0, 0.3)
    # one per iteration: the first candidate of each BioProject
    assert correlation_outliers(tc, meta, ["A", "B"], *options, one_per_iter=True) == ["x1",
                                                                                      "y1"]
    # amalgkit's batch rule: lowest (other BioProjects in the group, candidates in the
    # BioProject): y1 has (1, 1), x1 and x2 have (1, 2)
    assert correlation_outliers(tc, meta, ["A", "B"], *options, one_per_iter=False) == ["y1"]
    assert correlation_outliers(tc, meta, ["A"], *options, one_per_iter=False) == []
