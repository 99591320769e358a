"""specs/dna/phylo.yaml: the planted tree found on the bundled example, and agreement with R's
ape on its woodmouse alignment (exported at test time; GPL data, not copied into the repo)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.dna import EXAMPLE, needs_ape, run_spec

pytestmark = [pytest.mark.tools]

APE_SCRIPT = """
library(ape)
data(woodmouse)
out <- commandArgs(trailingOnly = TRUE)[1]
write.dna(woodmouse, file.path(out, "woodmouse.fa"), format = "fasta", colsep = "")
for (model in c("JC69", "K80")) {
  d <- as.matrix(dist.dna(woodmouse, model = model))
  write.table(formatC(d, digits = 17, format = "g"), file.path(out, paste0(model, ".tsv")),
              sep = "\\t", quote = FALSE)
}
write.tree(nj(dist.dna(woodmouse, model = "JC69")), file.path(out, "nj.newick"))
complete <- woodmouse[, apply(as.character(woodmouse), 2, function(c) all(c %in% c("a","c","g","t")))]
cat(ncol(complete), length(seg.sites(complete)),
    sprintf("%.17g", mean(dist.dna(woodmouse, model = "raw", pairwise.deletion = TRUE))),
    sprintf("%.17g", mean(dist.dna(woodmouse, model = "raw"))), "\\n",
    file = file.path(out, "numbers.txt"))
"""


def _tree(path: Path):
    from skbio import TreeNode

    return TreeNode.read(str(path))


@pytest.fixture(scope="module")
def ape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ape")
    subprocess.run(["Rscript", "-e", APE_SCRIPT, str(folder)], check=True, capture_output=True)
    return folder


def _ours(tmp_path: Path, ape: Path, *settings: str) -> Path:
    run_spec("phylo.yaml", tmp_path, f"input={ape / 'woodmouse.fa'}", "msa_method=none",
             "min_length=0", "ml_program=none", *settings)
    return tmp_path / "out"


@pytest.mark.slow
@needs_ape
def test_jc69_distances_and_nj_tree_equal_apes(ape: Path, tmp_path: Path) -> None:
    out = _ours(tmp_path, ape)
    ours = pd.read_csv(out / "phylogeny" / "distances.tsv", sep="\t", index_col=0)
    theirs = pd.read_csv(ape / "JC69.tsv", sep="\t", index_col=0).loc[ours.index, ours.columns]
    assert np.abs(ours.to_numpy() - theirs.to_numpy()).max() < 1e-12
    assert ours.loc["No304", "No306"] == pytest.approx(0.00330397010094, abs=1e-13)
    assert _tree(out / "phylogenetic_tree.newick").compare_rfd(_tree(ape / "nj.newick")) == 0
    population = json.loads((out / "population_analysis.json").read_text())
    sites, _segregating, pi_pairwise, _pi_complete = (ape / "numbers.txt").read_text().split()
    assert population["deletion"] == "pairwise"
    assert population["nucleotide_diversity"] == pytest.approx(float(pi_pairwise), abs=1e-12)
    assert int(sites) == 910  # ape's complete deletion keeps 910 of 965 columns


@pytest.mark.slow
@needs_ape
def test_k80_and_complete_deletion_diversity_equal_apes(ape: Path, tmp_path: Path) -> None:
    out = _ours(tmp_path, ape, "distance_model=K80", "diversity_deletion=complete",
                "analyze_composition=false")
    ours = pd.read_csv(out / "phylogeny" / "distances.tsv", sep="\t", index_col=0)
    theirs = pd.read_csv(ape / "K80.tsv", sep="\t", index_col=0).loc[ours.index, ours.columns]
    assert np.abs(ours.to_numpy() - theirs.to_numpy()).max() < 1e-12
    population = json.loads((out / "population_analysis.json").read_text())
    sites, segregating, _pi_pairwise, pi_complete = (ape / "numbers.txt").read_text().split()
    assert population["sites_used"] == int(sites)
    assert population["segregating_sites"] == int(segregating)
    assert population["nucleotide_diversity"] == pytest.approx(float(pi_complete), abs=1e-12)
    assert not (out / "composition_analysis.json").exists()


@pytest.mark.slow
def test_example_finds_the_planted_tree_with_both_methods(tmp_path: Path) -> None:
    run_spec("phylo.yaml", tmp_path)
    out = tmp_path / "out"
    truth = _tree(EXAMPLE / "truth_tree.newick")
    assert _tree(out / "phylogeny" / "nj.newick").compare_rfd(truth) == 0
    assert _tree(out / "phylogeny" / "ml.newick").compare_rfd(truth) == 0
    summary = json.loads((out / "workflow_summary.json").read_text())
    assert summary["n_sequences_kept"] == 8  # the two short fragments are dropped
    assert summary["composition"]["n_sequences"] == 8
    assert (out / "tree.png").stat().st_size > 10_000
    composition = pd.read_csv(out / "composition" / "composition.tsv", sep="\t")
    assert composition.set_index("name").loc["B", "length"] < 1200  # a planted deletion


@pytest.mark.slow
def test_fasttree_also_finds_the_planted_tree(tmp_path: Path) -> None:
    run_spec("phylo.yaml", tmp_path, "ml_program=fasttree", "analyze_composition=false",
             "analyze_population=false")
    out = tmp_path / "out"
    assert _tree(out / "phylogeny" / "ml.newick").compare_rfd(
        _tree(EXAMPLE / "truth_tree.newick")) == 0
    assert not (out / "population_analysis.json").exists()
