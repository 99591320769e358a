"""rna.csca: cross-species summaries (tables + PNG/PDF figures) from curate-shaped tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine import StepError
from engine.testing import call_step

FIGURES = ("csca_pca", "csca_correlation_heatmap", "csca_dendrogram", "csca_boxplot")


def run_step(tmp_path: Path, name: str, params: dict, inputs: dict, outputs: dict) -> Any:
    return call_step(name, params, inputs=inputs, outputs=outputs, work_dir=tmp_path)


def write_species(curate: Path, sp: str, genes: list[str], seed: int,
                  excluded: str | None = None) -> None:
    """<curate>/<Sp>/tables/<Sp>.no.tc.tsv + metadata: groups leaf/root x 2 BioProjects x 2."""
    rng = np.random.default_rng(seed)
    profiles = {"leaf": rng.normal(5, 2, len(genes)), "root": rng.normal(5, 2, len(genes))}
    rows, columns = [], {}
    for group in ("leaf", "root"):
        for bp in ("P1", "P2"):
            for k in range(2):
                run = f"{sp.split('_')[1][:3].upper()}{group[0]}{bp[-1]}{k}"
                columns[run] = np.clip(profiles[group] + rng.normal(0, 0.3, len(genes)), 0, None)
                rows.append((sp.replace("_", " "), group, f"{sp}{bp}", run,
                             "low_mapping_rate" if run == excluded else "no"))
    tables = curate / sp / "tables"
    tables.mkdir(parents=True)
    pd.DataFrame(columns, index=pd.Index(genes, name="target_id")).reset_index().to_csv(
        tables / f"{sp}.no.tc.tsv", sep="\t", index=False)
    pd.DataFrame(rows, columns=["scientific_name", "sample_group", "bioproject", "run",
                                "exclusion"]).to_csv(tables / f"{sp}.metadata.tsv", sep="\t",
                                                     index=False)


def assert_figures(out: Path) -> None:
    for name in FIGURES:
        png, pdf = out / f"{name}.png", out / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


def test_csca_two_species_through_orthogroups(tmp_path: Path) -> None:
    curate = tmp_path / "curate"
    write_species(curate, "Genus_one", [f"one_{i}" for i in range(40)], 1, excluded="ONEl10")
    write_species(curate, "Genus_two", [f"two_{i}" for i in range(40)], 2)
    rows = [(f"OG{i}", f"one_{i}", f"two_{i}") for i in range(30)]
    rows += [("OGmulti", "one_30, one_31", "two_30"), ("OGhalf", "one_32", "")]
    pd.DataFrame(rows, columns=["Orthogroup", "Genus_one", "Genus_two"]).to_csv(
        tmp_path / "Orthogroups.tsv", sep="\t", index=False)
    out = tmp_path / "csca"
    result = run_step(tmp_path, "rna.csca", {}, {"curate": curate,
                                                 "orthogroup_table": tmp_path / "Orthogroups.tsv"},
                      {"dir": out})
    assert result["metadata"] == {"species": 2, "runs": 15, "genes": 30}
    assert_figures(out)
    unaveraged = pd.read_csv(out / "csca_ortholog_unaveraged.tsv", sep="\t", index_col=0)
    assert unaveraged.index.name == "orthogroup_id" and len(unaveraged) == 30
    assert "ONEl10" not in unaveraged.columns and unaveraged.shape[1] == 15
    one = pd.read_csv(curate / "Genus_one/tables/Genus_one.no.tc.tsv", sep="\t", index_col=0)
    assert unaveraged.loc["OG7", "ONEr21"] == one.loc["one_7", "ONEr21"]
    averaged = pd.read_csv(out / "csca_ortholog_averaged.tsv", sep="\t", index_col=0)
    assert sorted(averaged.columns) == ["Genus_one_leaf", "Genus_one_root", "Genus_two_leaf",
                                        "Genus_two_root"]
    leaf_runs = ["ONEl11", "ONEl20", "ONEl21"]  # ONEl10 was excluded
    np.testing.assert_allclose(averaged["Genus_one_leaf"], unaveraged[leaf_runs].mean(axis=1))
    samples = pd.read_csv(out / "csca_samples.tsv", sep="\t")
    assert list(samples.columns) == ["run", "species", "sample_group", "bioproject"]


def test_csca_single_species_and_shared_ids(tmp_path: Path) -> None:
    curate = tmp_path / "curate"
    write_species(curate, "Genus_one", [f"g{i}" for i in range(25)], 3)
    result = run_step(tmp_path, "rna.csca", {"sample_group": ["leaf", "root"]},
                      {"curate": curate}, {"dir": tmp_path / "one"})
    assert result["metadata"]["runs"] == 8 and result["metadata"]["genes"] == 25
    assert_figures(tmp_path / "one")
    write_species(curate, "Other_two", [f"g{i}" for i in range(10, 40)], 4)
    result = run_step(tmp_path, "rna.csca", {}, {"curate": curate}, {"dir": tmp_path / "two"})
    assert result["metadata"] == {"species": 2, "runs": 16, "genes": 15}


def test_csca_needs_orthologs_when_ids_differ(tmp_path: Path) -> None:
    curate = tmp_path / "curate"
    write_species(curate, "Genus_one", ["a", "b", "c"], 5)
    write_species(curate, "Genus_two", ["x", "y", "z"], 6)
    with pytest.raises(StepError, match="share no target id"):
        run_step(tmp_path, "rna.csca", {}, {"curate": curate}, {"dir": tmp_path / "out"})


def test_csca_sample_group_may_name_a_metadata_column(tmp_path: Path) -> None:
    """MetaInformAnt's cross-species config writes ``sample_group: tissue``: runs are grouped
    by the tissue column; a text that is no column is amalgkit's comma-separated groups."""
    curate = tmp_path / "curate"
    genes = [f"g{i}" for i in range(30)]
    write_species(curate, "Oryza_sativa", genes, seed=3)
    meta_path = curate / "Oryza_sativa/tables/Oryza_sativa.metadata.tsv"
    meta = pd.read_csv(meta_path, sep="\t")
    meta["tissue"] = np.where(meta["sample_group"] == "leaf", "blade", "tip")
    meta.to_csv(meta_path, sep="\t", index=False)
    run_step(tmp_path, "rna.csca", {"sample_group": "tissue"}, {"curate": curate},
             {"dir": tmp_path / "by_tissue"})
    samples = pd.read_csv(tmp_path / "by_tissue/csca_samples.tsv", sep="\t")
    assert set(samples["sample_group"]) == {"blade", "tip"}
    run_step(tmp_path, "rna.csca", {"sample_group": "leaf"}, {"curate": curate},
             {"dir": tmp_path / "leaf_only"})
    samples = pd.read_csv(tmp_path / "leaf_only/csca_samples.tsv", sep="\t")
    assert set(samples["sample_group"]) == {"leaf"} and len(samples) == 4
