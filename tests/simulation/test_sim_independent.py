"""Our tskit statistics against independent implementations on the exported VCF:
scikit-allel to 1e-12, vcftools to its printed precision; mean π over seeded replicates
against 4Neμ; the demes file and the config give the same model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.simulation import (
    EXAMPLE,
    allel_statistics,
    needs_vcftools,
    simulate,
    two_populations,
    vcftools_statistics,
)

MODELS = {
    "split": two_populations(),
    "migration_growth": {
        "populations": [{"name": "X", "initial_size": 5_000, "growth_rate": 0.001},
                        {"name": "Y", "initial_size": 20_000},
                        {"name": "Z", "initial_size": 8_000},
                        {"name": "ANC", "initial_size": 10_000}],
        "migrations": [{"source": "X", "dest": "Y", "rate": 2e-4, "symmetric": True},
                       {"source": "Y", "dest": "Z", "rate": 1e-4}],
        "splits": [{"time": 1_500, "derived": ["X", "Y", "Z"], "ancestral": "ANC"}]},
    "stdpopsim": {"catalogue": "HomSap/OutOfAfrica_3G09"},
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_stats_equal_scikit_allel_to_1e_12(tmp_path: Path, model: str) -> None:
    pytest.importorskip("allel")
    if model == "stdpopsim":
        pytest.importorskip("stdpopsim")
    length = 300_000 if model != "split" else 1_000_000
    ancestry = {"n": 40, "sequence_length": length, "seed": 7}
    if model == "stdpopsim":
        ancestry["recombination_rate"] = None  # the species' rate, from the catalogue
    sim = simulate(tmp_path, demography=MODELS[model], ancestry=ancestry,
                   mutations={"seed": 7, "rate": None if model == "stdpopsim" else 1e-8})
    assert sim["results"]["mutations"]["output"]["multiallelic_sites"] == 0
    ours = sim["stats"]
    theirs = allel_statistics(sim["paths"]["vcf"], sim["paths"]["samples"], length)
    assert set(theirs) == set(ours)
    compared = 0
    for group, values in theirs.items():
        for name, value in values.items():
            assert math.isclose(ours[group][name], value, rel_tol=1e-12, abs_tol=1e-12), \
                (group, name, ours[group][name], value)
            compared += 1
    pops = sim["results"]["demography"]["output"]["sampled_populations"]
    assert compared == 2 * (len(pops) + 1) + 2 * len(pops) * (len(pops) - 1) // 2


@needs_vcftools
def test_stats_equal_vcftools_to_its_printed_precision(tmp_path: Path) -> None:
    length = 1_000_000
    sim = simulate(tmp_path, demography=two_populations(), ancestry={"n": 50, "seed": 42})
    ours = sim["stats"]
    theirs = vcftools_statistics(sim["paths"]["vcf"], sim["paths"]["samples"], length,
                                 tmp_path / "vcftools")
    # vcftools prints 6 significant digits per site (π) or per value (D, F_ST)
    assert math.isclose(ours["all"]["pi"], theirs["pi"], rel_tol=1e-5)
    assert abs(ours["all"]["tajimas_d"] - theirs["tajimas_d"]) < 1e-6
    assert abs(ours["A/B"]["fst_weir_cockerham"] - theirs["fst_weir_cockerham"]) < 1e-6
    # and the Hudson F_ST is not tskit's Fst(), which uses another definition
    assert abs(ours["A/B"]["fst_tskit"] - ours["A/B"]["fst_hudson"]) > 0.01


def test_jc69_makes_multiallelic_sites_and_says_so(tmp_path: Path) -> None:
    sim = simulate(tmp_path, ancestry={"n": 50, "seed": 3, "sequence_length": 2_000_000},
                   mutations={"model": "jc69", "rate": 5e-8, "seed": 3}, export=False)
    result = sim["results"]["mutations"]
    assert result["output"]["multiallelic_sites"] > 0
    assert "multiallelic" in result["warnings"][0]


@pytest.mark.slow
def test_mean_pi_over_20_replicates_is_within_3_se_of_4_ne_mu(tmp_path: Path) -> None:
    ne, mu = 10_000, 1e-8
    pis = []
    for seed in range(1, 21):
        sim = simulate(tmp_path / str(seed),
                       demography={"populations": [{"name": "P", "initial_size": ne}]},
                       ancestry={"n": 20, "seed": seed, "sequence_length": 500_000},
                       mutations={"rate": mu, "seed": seed}, export=False)
        pis.append(sim["stats"]["P"]["pi"])
    mean, se = float(np.mean(pis)), float(np.std(pis, ddof=1) / np.sqrt(len(pis)))
    assert abs(mean - 4 * ne * mu) < 3 * se, (mean, se)


def test_demes_file_and_config_give_the_same_statistics(tmp_path: Path) -> None:
    by_config = simulate(tmp_path / "config", demography=two_populations(),
                         ancestry={"n": 20, "seed": 5, "sequence_length": 200_000}, export=False)
    by_file = simulate(tmp_path / "file", demes_file=EXAMPLE / "two_populations.demes.yaml",
                       ancestry={"n": 20, "seed": 5, "sequence_length": 200_000}, export=False)
    for key in ("A", "B"):
        a, b = by_config["stats"][key], by_file["stats"][key]
        assert a["segregating_sites"] > 0
        # the populations' order differs (file: ANC first), so draws differ: same model, not bytes
        assert 0.3 < a["pi"] / b["pi"] < 3
    assert by_file["results"]["demography"]["output"]["sampled_populations"] == ["A", "B"]
