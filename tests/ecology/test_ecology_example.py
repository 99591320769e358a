"""The bundled example through mi-run: planted indicator species, habitat effect and the
poorest habitat are found; MetaInformAnt's names drive the same workflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.ecology import EXAMPLE, ROOT, SPEC, read_tsv, run_spec


def test_spec_validates_and_lists_every_step() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(SPEC), "--dry-run"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("load", "rarefy", "alpha", "rarefaction", "beta", "ordination", "tests",
                 "indicators", "abundance", "report"):
        assert name in proc.stdout


def test_example_data_is_reproducible(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(EXAMPLE / "make_example_data.py"), str(tmp_path)],
                   check=True)
    for name in ("community.tsv", "groups.csv", "env.tsv", "tree.nwk", "truth.tsv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


@pytest.mark.slow
def test_example_finds_what_was_planted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_spec(tmp_path, f"output={out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")
    indicators = read_tsv(out / "indicators" / "indicator_species.tsv")
    for row in truth[truth["kind"] == "indicator"].itertuples():
        assert indicators.loc[row.name, "group"] == row.value
        assert indicators.loc[row.name, "q_value"] < 0.05
    alpha = read_tsv(out / "diversity" / "alpha.tsv")
    groups = read_tsv(out / "store" / "groups.tsv")["group"]
    means = alpha["richness"].groupby(groups).mean()
    poorest = truth.query("kind == 'poorest_group'")["value"].item()
    assert means.idxmin() == poorest
    for row in truth[truth["kind"] == "mean_richness"].itertuples():
        assert means[row.name] == pytest.approx(float(row.value), abs=0.01)
    tests = read_tsv(out / "tests" / "group_tests.tsv").set_index("test")
    assert tests.loc["PERMANOVA", "p_value"] < 0.01 and tests.loc["ANOSIM", "value"] > 0.5
    assert "faith_pd" in alpha.columns
    assert (out / "beta" / "dm_weighted_unifrac.tsv").exists()
    summary = json.loads((out / "workflow_summary.json").read_text())
    assert {"alpha_means", "tests", "indicator_species", "abundance_models"} <= set(summary)
    for plot in ("alpha_by_group", "pcoa", "rarefaction"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 5000
    counts = read_tsv(out / "store" / "counts.tsv")
    assert counts.shape == (24, 60)  # species x sites on disk, sites x species after load


@pytest.mark.slow
def test_metainformant_config_names(tmp_path: Path) -> None:
    """A MetaInformAnt-style config: input/output/groups and the analysis switches."""
    config = tmp_path / "eco.yaml"
    config.write_text(
        f"input: {EXAMPLE / 'community.tsv'}\noutput: {tmp_path / 'mi'}\n"
        f"groups: {EXAMPLE / 'groups.csv'}\ndiversity: true\nbeta_diversity: true\n"
        "rarefaction: false\nordination: false\nindicators: false\nmacroecology: false\n"
        "all: false\ndry_run: false\n")
    proc = run_spec(tmp_path, "tree=null", "env=null", "permutations=99", config=config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unknown config key" not in proc.stderr
    out = tmp_path / "mi"
    assert (out / "diversity" / "alpha.tsv").exists()
    assert (out / "tests" / "group_tests.tsv").exists()
    for absent in ("ordination", "indicators", "macroecology", "diversity/rarefaction.tsv"):
        assert not (out / absent).exists(), absent
    again = run_spec(tmp_path, "tree=null", "env=null", "permutations=99", "all=true",
                     config=config)
    assert again.returncode == 0, again.stdout + again.stderr
    for present in ("ordination", "indicators", "macroecology", "diversity/rarefaction.tsv"):
        assert (out / present).exists(), present
