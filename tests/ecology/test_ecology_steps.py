"""The ecology steps one by one: orientation, input errors, exact rarefaction against brute
force, seeded rarefying, Chao1 variants, a missing library, ECO_ variables, the entry point."""

from __future__ import annotations

import itertools
import sys
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine import StepError
from engine.testing import call_step
from stepslib.ecology._entry import eco_environment, execute_ecology_workflow
from stepslib.ecology.rarefaction import expected_richness
from tests.helpers.ecology import EXAMPLE, read_tsv


def _load(tmp_path: Path, table: Path, params: dict[str, Any] | None = None,
          **extra: Path) -> dict[str, Any]:
    outputs = {"counts": str(tmp_path / "out" / "counts.tsv")}
    outputs.update({k: str(tmp_path / "out" / f"{k}.tsv") for k in extra})
    result: dict[str, Any] = call_step("ecology.load", params or {},
                                       inputs={"table": str(table), **{k: str(v) for k, v in
                                                                       extra.items()}},
                                       outputs=outputs, work_dir=tmp_path)
    return result


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_orientation_auto_from_groups_both_ways(tmp_path: Path) -> None:
    groups = _write(tmp_path / "g.csv", "site,group\ns1,a\ns2,a\ns3,b\n")
    by_site = _write(tmp_path / "t1.tsv", "site\tx\ty\ns1\t1\t2\ns2\t3\t0\ns3\t0\t5\n")
    by_species = _write(tmp_path / "t2.tsv", "sp\ts1\ts2\ts3\nx\t1\t3\t0\ny\t2\t0\t5\n")
    first = _load(tmp_path, by_site, groups=groups)
    assert first["output"]["orientation"] == "sites_by_species (auto)"
    one = read_tsv(tmp_path / "out" / "counts.tsv")
    second = _load(tmp_path, by_species, groups=groups)
    assert second["output"]["orientation"] == "species_by_sites (auto)"
    assert read_tsv(tmp_path / "out" / "counts.tsv").equals(one)
    assert second["status"] == "completed" and second["output"]["groups"] == 2


def test_orientation_auto_without_groups_says_it_cannot(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.tsv", "site\tx\ty\ns1\t1\t2\ns2\t3\t0\n")
    with pytest.raises(StepError, match="cannot tell whether rows are sites or species") as err:
        _load(tmp_path, table)
    assert "orientation: sites_by_species" in (err.value.hint or "")
    assert _load(tmp_path, table, {"orientation": "species_by_sites"})["output"]["sites"] == 2


def test_bad_values_and_missing_groups_are_clear_errors(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.tsv", "site\tx\ty\ns1\t1\tmany\ns2\t3\t0\n")
    with pytest.raises(StepError, match="not a number at site 's1', species 'y'"):
        _load(tmp_path, bad, {"orientation": "sites_by_species"})
    table = _write(tmp_path / "t.tsv", "site\tx\ty\ns1\t1\t2\ns2\t3\t0\ns3\t1\t1\n")
    groups = _write(tmp_path / "g.tsv", "site\tgroup\ns1\ta\ns2\tb\n")
    with pytest.raises(StepError, match=r"no group for sites \['s3'\]"):
        _load(tmp_path, table, {"orientation": "sites_by_species"}, groups=groups)


def test_biom_table_is_species_by_sites(tmp_path: Path) -> None:
    biom = pytest.importorskip("biom")
    from biom.util import biom_open

    table = biom.Table(np.array([[1, 0, 4], [2, 3, 0]]), ["x", "y"], ["s1", "s2", "s3"])
    with biom_open(str(tmp_path / "t.biom"), "w") as handle:
        table.to_hdf5(handle, "test")
    result = _load(tmp_path, tmp_path / "t.biom")
    counts = read_tsv(tmp_path / "out" / "counts.tsv")
    assert list(counts.index) == ["s1", "s2", "s3"] and counts.loc["s3", "x"] == 4
    assert result["output"]["species"] == 2


def test_exact_rarefaction_equals_brute_force_enumeration() -> None:
    counts = np.array([3, 2, 1, 1])
    individuals = np.repeat(np.arange(len(counts)), counts)
    for depth in range(1, counts.sum() + 1):
        draws = list(itertools.combinations(range(len(individuals)), depth))
        mean = sum(len(set(individuals[list(d)])) for d in draws) / comb(len(individuals), depth)
        assert expected_richness(counts, depth) == pytest.approx(mean, rel=1e-12)
    assert np.isnan(expected_richness(counts, 8))


def test_rarefy_is_seeded_and_exact_depth(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.tsv", "site\tx\ty\tz\ns1\t10\t5\t5\ns2\t3\t30\t1\ns3\t2\t1\t0\n")
    _load(tmp_path, table, {"orientation": "sites_by_species"})
    runs = []
    for k in range(2):
        out = tmp_path / f"r{k}.tsv"
        result = call_step("ecology.rarefy", {"depth": 10, "seed": 7},
                           inputs={"counts": str(tmp_path / "out" / "counts.tsv")},
                           outputs={"counts": str(out)}, work_dir=tmp_path)
        runs.append(read_tsv(out))
    assert runs[0].equals(runs[1])
    assert (runs[0].sum(axis=1) == 10).all() and list(runs[0].index) == ["s1", "s2"]
    assert result["output"]["sites_dropped"] == 1 and result["warnings"]


def test_chao1_bias_corrected_and_classic(tmp_path: Path) -> None:
    # S = 5, f1 = 2 (two singletons), f2 = 1: corrected 5 + 2*1/(2*2) = 5.5; classic 5 + 4/2 = 7
    table = _write(tmp_path / "t.tsv", "site\ta\tb\tc\td\te\ns1\t1\t1\t2\t5\t9\ns2\t4\t4\t4\t4\t4\n")
    _load(tmp_path, table, {"orientation": "sites_by_species"})
    values = {}
    for kind in ("bias_corrected", "classic"):
        out = tmp_path / f"{kind}.tsv"
        result = call_step("ecology.alpha", {"chao1": kind},
                           inputs={"counts": str(tmp_path / "out" / "counts.tsv")},
                           outputs={"alpha": str(out)}, work_dir=tmp_path)
        values[kind] = read_tsv(out).loc["s1", "chao1"]
        assert result["status"] == "completed" and "mean_shannon" in result["output"]
    assert values == {"bias_corrected": pytest.approx(5.5), "classic": pytest.approx(7.0)}


def test_missing_scikit_bio_says_what_to_install(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    table = _write(tmp_path / "t.tsv", "site\ta\tb\ns1\t1\t2\ns2\t3\t1\n")
    _load(tmp_path, table, {"orientation": "sites_by_species"})
    monkeypatch.setitem(sys.modules, "skbio", None)
    with pytest.raises(StepError, match="scikit-bio is not installed") as err:
        call_step("ecology.alpha", {}, inputs={"counts": str(tmp_path / "out" / "counts.tsv")},
                  outputs={"alpha": str(tmp_path / "a.tsv")}, work_dir=tmp_path)
    assert "pip install 'scikit-bio>=0.7'" in (err.value.hint or "")


def test_eco_prefix_is_honoured_and_mi_wins() -> None:
    env = eco_environment({"ECO_PERMUTATIONS": "99", "ECO_SEED": "3", "MI_SEED": "5", "X": "1"})
    assert env["MI_PERMUTATIONS"] == "99" and env["MI_SEED"] == "5" and env["X"] == "1"


@pytest.mark.slow
def test_execute_ecology_workflow_with_metainformant_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = execute_ecology_workflow(
        {"input": str(EXAMPLE / "community.tsv"), "groups": str(EXAMPLE / "groups.csv"),
         "tree": None, "ordination": False, "macroecology": False, "indicators": False,
         "rarefaction": False},
        work_dir=tmp_path / "eco", environ={"ECO_PERMUTATIONS": "49"}, jobs=1)
    assert result.ok, result.failed
    assert result["status"] == "completed" and result["errors"] == []  # the seed's shape
    tests = pd.read_csv(tmp_path / "eco" / "tests" / "group_tests.tsv", sep="\t")
    assert set(tests["permutations"]) == {49}  # from ECO_PERMUTATIONS


def test_nmds_of_a_euclidean_configuration_has_zero_stress_and_warns(tmp_path: Path) -> None:
    """Distances of points in the plane: NMDS recovers them (stress ~0), and says that a
    stress this low can mean a degenerate solution."""
    rng = np.random.default_rng(3)
    points = rng.normal(size=(12, 2))
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(axis=2))
    sites = [f"s{i}" for i in range(12)]
    path = tmp_path / "d.tsv"
    pd.DataFrame(dist, index=sites, columns=sites).to_csv(path, sep="\t", index_label="site")
    result = call_step("ecology.ordination", {"nmds_starts": 3},
                       inputs={"distance": str(path)},
                       outputs={"scores": str(tmp_path / "s.tsv"),
                                "eigenvalues": str(tmp_path / "e.tsv"),
                                "nmds": str(tmp_path / "n.tsv")}, work_dir=tmp_path)
    assert result["output"]["nmds_stress"] < 1e-6
    assert any("degenerate" in w for w in result["warnings"])
    eig = read_tsv(tmp_path / "e.tsv")
    assert eig["proportion_explained"].iloc[:2].sum() == pytest.approx(1.0)  # planar: 2 axes


def test_whittaker_partition_of_two_disjoint_equal_sites() -> None:
    """Two equally weighted sites with no shared species: beta is exactly 2 (two
    'effective communities') for richness and for Shannon's Hill number."""
    from stepslib.ecology.beta import whittaker

    table = pd.DataFrame([[5, 5, 0, 0], [0, 0, 3, 3]], index=["s1", "s2"])
    found = whittaker(table)
    assert found["whittaker_beta_richness"] == pytest.approx(2.0)
    assert found["beta_shannon_hill"] == pytest.approx(2.0)
    assert found["gamma_shannon_hill"] == pytest.approx(4.0)
