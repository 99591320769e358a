"""epigenome.dml / epigenome.dmr against DSS itself (DMLtest(smoothing = FALSE), callDML,
callDMR) on DSS's own example data, run at test time with Rscript (about 15 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stepslib.epigenome import dss as model
from tests.helpers.epigenome import DSS_DATA, load_and_qc, needs_dss, rscript, step

STAT_RTOL = 1e-3  # the tolerance; measured: 2.7e-7 at worst


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("dss")
    rscript("dss_reference.R", out / "dml.tsv", out / "dmls.tsv", out / "dmrs.tsv")
    return {name: pd.read_csv(out / f"{name}.tsv", sep="\t")
            for name in ("dml", "dmls", "dmrs")}


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("ours")
    sheet = tmp / "sheet.tsv"
    sheet.write_text("sample\tgroup\tpath\n" + "".join(
        f"{name}\t{name[:5]}\t{DSS_DATA / (name + '.txt')}\n"
        for name in ("cond1_1", "cond1_2", "cond2_1", "cond2_2")))
    paths = load_and_qc(tmp, {"sheet": sheet}, min_coverage=1)
    step("epigenome.dml", tmp, {"p_threshold": 0.001, "delta": 0.1},
         inputs={"counts": paths["store"], "samples": paths["samples"]},
         outputs={"dml": tmp / "dml.tsv", "hits": tmp / "dmls.tsv"})
    step("epigenome.dmr", tmp, {"p_threshold": 0.01},
         inputs={"dml": tmp / "dml.tsv"}, outputs={"dmr": tmp / "dmrs.tsv"})
    return {name: pd.read_csv(tmp / f"{name}.tsv", sep="\t")
            for name in ("dml", "dmls", "dmrs")}


@pytest.mark.slow
@needs_dss
def test_dml_statistics_agree_with_dss(reference: dict[str, pd.DataFrame],
                                       ours: dict[str, pd.DataFrame]) -> None:
    ref, got = reference["dml"], ours["dml"]
    assert len(got) == len(ref) == 18075  # the same CpGs tested
    merged = ref.merge(got, on="pos", suffixes=("_dss", ""))
    assert len(merged) == len(ref)
    rel = np.abs(merged["stat"] - merged["stat_dss"]) / np.abs(merged["stat_dss"])
    assert rel.max() < STAT_RTOL
    for column in ("mu1", "mu2", "phi1", "phi2"):
        assert np.allclose(merged[column], merged[f"{column}_dss"], rtol=1e-4, atol=1e-9)
    assert set(ref.loc[ref["pval"] < 0.001, "pos"]) == set(got.loc[got["pval"] < 0.001, "pos"])


@pytest.mark.slow
@needs_dss
def test_the_same_710_dmls_as_dss_calldml(reference: dict[str, pd.DataFrame],
                                          ours: dict[str, pd.DataFrame]) -> None:
    assert len(reference["dmls"]) == len(ours["dmls"]) == 710
    assert set(reference["dmls"]["pos"]) == set(ours["dmls"]["pos"])
    top = ours["dmls"].iloc[0]
    assert top["pos"] == reference["dmls"]["pos"].iloc[0]


@pytest.mark.slow
@needs_dss
def test_dmr_rules_agree_with_dss_calldmr_on_dss_own_tests(
        reference: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """The region rules alone: our callDMR on DSS's own per-CpG table gives DSS's regions."""
    ref = reference["dml"]
    regions = model.call_dmr(ref["chr"].to_numpy(dtype=str), ref["pos"].to_numpy(),
                             ref["pval"].to_numpy(), p_threshold=0.01, min_length=50,
                             min_cpgs=3, merge_distance=100)
    ours = {(int(ref["pos"].iloc[a]), int(ref["pos"].iloc[b])) for a, b in regions}
    dss = set(zip(reference["dmrs"]["start"], reference["dmrs"]["end"], strict=True))
    assert len(dss) > 10 and ours == dss


@pytest.mark.slow
@needs_dss
def test_dmrs_from_our_tests_match_dss(reference: dict[str, pd.DataFrame],
                                       ours: dict[str, pd.DataFrame]) -> None:
    got = set(zip(ours["dmrs"]["start"], ours["dmrs"]["end"], strict=True))
    dss = set(zip(reference["dmrs"]["start"], reference["dmrs"]["end"], strict=True))
    assert got == dss
    area = ours["dmrs"].set_index("start")["areaStat"]
    ref_area = reference["dmrs"].set_index("start")["areaStat"]
    assert np.allclose(area.loc[ref_area.index], ref_area, rtol=1e-3)


def test_brent_matches_known_minimum() -> None:
    """The port of R's optimize finds a parabola's minimum to its tolerance, many at once."""
    centres = np.linspace(-4.5, -0.5, 7)
    found = model.brent_minimize(lambda x, rows: (x - centres[rows]) ** 2, -5.0, np.log(0.99),
                                 len(centres), 1e-6)
    assert np.allclose(found, centres, atol=1e-5)


def test_has_coverage_window_is_plus_minus_100_bp_within_a_chromosome() -> None:
    chrom = np.array(["a", "a", "a", "b"])
    pos = np.array([1, 101, 202, 150])
    cov = np.array([[2.0], [1.0], [3.0], [9.0]])
    # window sums: 1 -> 2+1, 101 -> 2+1 (202 is 101 away), 202 -> 3, b:150 -> 9 (not a:101)
    assert model.has_coverage(chrom, pos, cov, thresh=2.5).tolist() == [True, True, True, True]
    assert model.has_coverage(chrom, pos, cov, thresh=3.0).tolist() == [False, False, False, True]
