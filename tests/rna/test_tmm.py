"""Our TMM against edgeR's ``calcNormFactors(method="TMM")`` values recorded in tests/rna/data.

The expected factors come from R 4.2.2 + edgeR 3.40.2 (Debian r-base-core, r-bioc-edger); the
exact R calls and versions are in the header of ``tmm_edger_expected.tsv`` and in
``tmm_make_fixture.py``, which regenerates them. R is not needed to run these tests.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.testing import call_step
from stepslib.rna.tmm import amalgkit_factors, calc_norm_factors

DATA = Path(__file__).parent / "data"
EXPECTED = pd.read_csv(DATA / "tmm_edger_expected.tsv", sep="\t", comment="#")

# case -> (keyword arguments for calc_norm_factors, explicit lib sizes?, amalgkit two rounds?)
CASES: dict[str, tuple[dict, bool, bool]] = {
    "zeros_default": ({}, False, False),
    "zeros_options": ({"logratio_trim": 0.2, "sum_trim": 0.1, "do_weighting": False},
                      False, False),
    "libsizes_default": ({}, False, False),
    "libsizes_acutoff": ({"a_cutoff": -14}, False, False),
    "fractional_libsize": ({}, True, False),
    "fractional_ref3": ({"ref_column": 2}, True, False),
    "fractional_amalgkit": ({}, True, True),
    "zeros_amalgkit": ({}, False, True),
    "libsizes_amalgkit": ({}, False, True),
    "sparse_default": ({}, False, False),
}


def load_matrix(name: str) -> np.ndarray:
    return pd.read_csv(DATA / f"tmm_{name}.tsv", sep="\t", index_col=0).to_numpy(float)


def recorded_lib_sizes(matrix: str) -> np.ndarray:
    """The explicit lib sizes listed in the expected file's header (as given to edgeR)."""
    for line in (DATA / "tmm_edger_expected.tsv").read_text().splitlines():
        if line.startswith(f"#   {matrix}: "):
            return np.array([float(v) for v in line.split(": ", 1)[1].split(",")])
    raise AssertionError(f"no lib sizes recorded for {matrix}")


def test_every_recorded_case_is_checked() -> None:
    assert set(EXPECTED["case"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_tmm_matches_edger(case: str) -> None:
    options, with_lib, two_rounds = CASES[case]
    rows = EXPECTED[EXPECTED["case"] == case]
    counts = load_matrix(rows["matrix"].iloc[0])
    lib = recorded_lib_sizes(rows["matrix"].iloc[0]) if with_lib else None
    if two_rounds:
        factors, _ = amalgkit_factors(counts, lib, **options)
    else:
        factors = calc_norm_factors(counts, lib, **options)
    np.testing.assert_allclose(factors, rows["factor"].to_numpy(), rtol=0, atol=1e-6)


def test_amalgkit_second_round_uses_median_factor_sample() -> None:
    counts = load_matrix("zeros")
    first = calc_norm_factors(counts)
    _, reference = amalgkit_factors(counts)
    assert first[reference] == np.sort(first)[math.ceil(first.size / 2) - 1]
    # this fixture was chosen so that round 2 differs from round 1 (see zeros_amalgkit)
    assert not np.allclose(first, amalgkit_factors(counts)[0])


def test_degenerate_inputs_give_unit_factors() -> None:
    assert calc_norm_factors(np.array([[3.0], [5.0]])).tolist() == [1.0]
    assert calc_norm_factors(np.zeros((4, 3))).tolist() == [1.0, 1.0, 1.0]
    identical = np.tile(np.arange(1.0, 21.0)[:, None], (1, 3))
    np.testing.assert_allclose(calc_norm_factors(identical), 1.0)


def test_factors_ignore_a_common_scale_and_the_gene_order() -> None:
    counts = load_matrix("libsizes")
    expected = calc_norm_factors(counts)
    np.testing.assert_allclose(calc_norm_factors(counts * 10), expected, atol=1e-12)
    order = np.random.default_rng(1).permutation(counts.shape[0])
    np.testing.assert_allclose(calc_norm_factors(counts[order]), expected, atol=1e-12)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="NA counts"):
        calc_norm_factors(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="lib_size"):
        calc_norm_factors(np.ones((3, 2)), lib_size=np.ones(3))


# --- rna.cstmm --------------------------------------------------------------------------------

def run_step(tmp_path: Path, name: str, params: dict, inputs: dict, outputs: dict) -> Any:
    return call_step(name, params, inputs=inputs, outputs=outputs, work_dir=tmp_path)


def write_counts(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.rename_axis("target_id").reset_index().to_csv(path, sep="\t", index=False)
    return path


def write_metadata(path: Path, rows: list[tuple[str, str, float, str]]) -> Path:
    frame = pd.DataFrame(rows, columns=["scientific_name", "run", "mapping_rate", "exclusion"])
    frame.insert(1, "sample_group", "leaf")
    frame.to_csv(path, sep="\t", index=False)
    return path


def expected_factors(case: str) -> pd.Series:
    rows = EXPECTED[EXPECTED["case"] == case]
    return pd.Series(rows["factor"].to_numpy(), index=rows["sample"].to_numpy())


def test_cstmm_single_species_matches_edger_two_rounds(tmp_path: Path) -> None:
    counts = pd.read_csv(DATA / "tmm_zeros.tsv", sep="\t", index_col=0)
    counts.columns = [f"SRR{c}" for c in counts.columns]
    src = write_counts(tmp_path / "merge/Genus_one/Genus_one_est_counts.tsv", counts)
    meta = write_metadata(tmp_path / "merge/metadata.tsv",
                          [("Genus one", run, 80.0, "no") for run in counts.columns]
                          + [("Genus one", "SRRgone", 50.0, "no")])
    out = tmp_path / "cstmm/Genus_one/Genus_one_cstmm_counts.tsv"
    result = run_step(tmp_path, "rna.cstmm", {},
                      {"counts": [src], "metadata": meta},
                      {"counts": [out], "metadata": tmp_path / "cstmm/metadata.tsv"})
    assert result["metadata"]["mode"] == "single"
    edger = expected_factors("zeros_amalgkit")
    got = pd.read_csv(tmp_path / "cstmm/metadata.tsv", sep="\t").set_index("run")
    np.testing.assert_allclose(got.loc[[f"SRR{s}" for s in edger.index],
                                       "tmm_normalization_factor"], edger, atol=1e-6)
    np.testing.assert_allclose(got.loc["SRRs2", "tmm_library_size"], counts["SRRs2"].sum())
    assert got.loc["SRRgone", "exclusion"] == "no_cstmm_output"
    assert (got.drop(index="SRRgone")["exclusion"] == "no").all()
    corrected = pd.read_csv(out, sep="\t", index_col="target_id")
    assert list(corrected.columns) == list(counts.columns)
    np.testing.assert_allclose(corrected["SRRs6"], counts["SRRs6"] / edger["s6"], rtol=1e-6)


def test_cstmm_cross_species_uses_single_copy_orthologs_and_full_lib_sizes(
        tmp_path: Path) -> None:
    # The 'fractional' matrix split over two species: runs s1-s3 in A, s4-s7 in B. Each
    # species also has a filler gene outside every orthogroup so that its full column sums
    # equal the lib sizes edgeR was given; so cstmm must reproduce 'fractional_amalgkit'.
    matrix = pd.read_csv(DATA / "tmm_fractional.tsv", sep="\t", index_col=0)
    lib = pd.Series(recorded_lib_sizes("fractional"), index=matrix.columns)
    species = {"Genus_one": ["s1", "s2", "s3"], "Genus_two": ["s4", "s5", "s6", "s7"]}
    paths = []
    for sp, runs in species.items():
        prefix = sp[-3:]
        frame = matrix[runs].copy()
        frame.index = [f"{prefix}_{g}" for g in frame.index]
        frame.loc[f"{prefix}_para1"] = 5.0  # multi-copy orthogroup members, never used
        frame.loc[f"{prefix}_para2"] = 9.0
        frame.loc[f"{prefix}_filler"] = lib[runs] - matrix[runs].sum() - 14.0
        frame.columns = [f"{prefix.upper()}_{r}" for r in runs]
        paths.append(write_counts(tmp_path / f"merge/{sp}/{sp}_est_counts.tsv", frame))
    rows = [(f"OG{i:04d}", f"one_{g}", f"two_{g}") for i, g in enumerate(matrix.index)]
    rows += [("OGpara", "one_para1, one_para2", "two_para1,two_para2"),  # 0% single-copy
             ("OGhalf", "one_filler", ""),  # 50% single-copy: kept, then dropped (missing)
             ("OGghost", "one_absent", "two_absent")]  # ids not in the counts: dropped
    table = pd.DataFrame(rows, columns=["Orthogroup", "Genus_one", "Genus_two"])
    table.to_csv(tmp_path / "Orthogroups.tsv", sep="\t", index=False)
    runs = [("Genus one", f"ONE_{r}", 50.0, "no") for r in species["Genus_one"]]
    runs += [("Genus two", f"TWO_{r}", 50.0, "no") for r in species["Genus_two"]]
    meta = write_metadata(tmp_path / "merge/metadata.tsv",
                          [*runs, ("Genus two", "TWO_x", 0.0, "no"),
                           ("Genus two", "TWO_y", 10.0, "low_nspots")])
    outs = [tmp_path / f"cstmm/{sp}/{sp}_cstmm_counts.tsv" for sp in species]
    params = {"orthogroup_table": str(tmp_path / "Orthogroups.tsv")}
    result = run_step(tmp_path, "rna.cstmm", params,
                      {"counts": paths, "metadata": meta},
                      {"counts": outs, "metadata": tmp_path / "cstmm/metadata.tsv",
                       "genecount": tmp_path / "cstmm/cstmm_orthogroup_genecount.tsv"})
    assert result["metadata"] == {"mode": "cross", "genes": 150, "runs": 7,
                                  "reference": result["metadata"]["reference"]}
    got = pd.read_csv(tmp_path / "cstmm/metadata.tsv", sep="\t").set_index("run")
    edger = expected_factors("fractional_amalgkit")
    ours = [f"{'ONE' if s in species['Genus_one'] else 'TWO'}_{s}" for s in edger.index]
    np.testing.assert_allclose(got.loc[ours, "tmm_normalization_factor"], edger, atol=1e-6)
    np.testing.assert_allclose(got.loc[ours, "tmm_library_size"], lib, rtol=1e-9)
    assert got.loc["TWO_x", "exclusion"] == "no_mapping"
    assert got.loc["TWO_y", "exclusion"] == "low_nspots"
    two = pd.read_csv(outs[1], sep="\t", index_col="target_id")
    assert "two_filler" in two.index
    np.testing.assert_allclose(two["TWO_s5"], pd.read_csv(paths[1], sep="\t", index_col=0)
                               ["TWO_s5"] / edger["s5"], rtol=1e-9)
    genecount = pd.read_csv(tmp_path / "cstmm/cstmm_orthogroup_genecount.tsv", sep="\t",
                            index_col="orthogroup_id")
    assert genecount.loc["OGpara"].tolist() == [2, 2]
    assert genecount.loc["OGhalf"].tolist() == [1, 0]


def test_cstmm_normalises_several_species_each_on_its_own_without_orthologs(
        tmp_path: Path) -> None:
    """orthogroup_table "" with two species: amalgkit's single-species mode once per species,
    so each species' factors equal those of a run with that species alone."""
    rng = np.random.default_rng(7)
    frames = {sp: pd.DataFrame(rng.poisson(rng.uniform(5, 500, (60, 1)), (60, 4)).astype(float),
                               index=[f"{sp}_g{i}" for i in range(60)],
                               columns=[f"{sp[0]}R{j}" for j in range(4)])
              for sp in ("Ab_cd", "Ef_gh")}
    paths = [write_counts(tmp_path / f"{sp}_est_counts.tsv", f) for sp, f in frames.items()]
    meta = write_metadata(tmp_path / "metadata.tsv",
                          [(sp.replace("_", " "), run, 50.0, "no")
                           for sp, f in frames.items() for run in f.columns])
    result = run_step(tmp_path, "rna.cstmm", {}, {"counts": paths, "metadata": meta},
                      {"counts": [tmp_path / "o1.tsv", tmp_path / "o2.tsv"],
                       "metadata": tmp_path / "m.tsv"})
    assert result["metadata"]["mode"] == "single"
    both = pd.read_csv(tmp_path / "m.tsv", sep="\t").set_index("run")
    for sp, path in zip(frames, paths):
        alone = tmp_path / sp
        run_step(alone, "rna.cstmm", {}, {"counts": [path], "metadata": meta},
                 {"counts": [alone / "o.tsv"], "metadata": alone / "m.tsv"})
        single = pd.read_csv(alone / "m.tsv", sep="\t").set_index("run")
        runs = list(frames[sp].columns)
        np.testing.assert_allclose(both.loc[runs, "tmm_normalization_factor"],
                                   single.loc[runs, "tmm_normalization_factor"], rtol=1e-12)
