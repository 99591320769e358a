"""UniFrac and Faith's PD against QIIME 1.9.1's expected results shipped in scikit-bio's wheel
(the "tiny test": otu-table.tsv, tree.nwk, unweighted/weighted UniFrac DMs, faith-pd.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.testing import call_step
from tests.helpers.ecology import max_relative_error, read_tsv

skbio = pytest.importorskip("skbio")
DATA = Path(skbio.__file__).parent / "diversity"
BETA = DATA / "beta" / "tests" / "data" / "qiime-191-tt"
ALPHA = DATA / "alpha" / "tests" / "data" / "qiime-191-tt"


@pytest.fixture
def loaded(tmp_path: Path) -> dict[str, str]:
    """QIIME's classic-BIOM TSV (species x sites, '# Constructed from biom file' line) loaded
    with orientation auto: the tree's tips match its rows, so rows are species."""
    store = tmp_path / "store"
    result = call_step("ecology.load", {}, inputs={"table": str(BETA / "otu-table.tsv"),
                                                   "tree": str(BETA / "tree.nwk")},
                       outputs={"counts": str(store / "counts.tsv"),
                                "tree": str(store / "tree.nwk")}, work_dir=tmp_path)
    assert result["output"]["orientation"] == "species_by_sites (auto)"
    assert result["output"]["sites"] == 8
    return {"counts": str(store / "counts.tsv"), "tree": str(store / "tree.nwk")}


def test_unifrac_matches_qiime_191(loaded: dict[str, str], tmp_path: Path) -> None:
    out = {n: str(tmp_path / f"{n}.tsv") for n in ("braycurtis", "jaccard", "sorensen",
                                                    "unweighted_unifrac", "weighted_unifrac")}
    call_step("ecology.beta", {}, inputs=loaded, outputs=out, work_dir=tmp_path)
    for name in ("unweighted_unifrac", "weighted_unifrac"):
        ours = read_tsv(Path(out[name]))
        theirs = read_tsv(BETA / f"{name}_dm.txt")
        sites = list(ours.index)  # QIIME's file also lists a sample absent from the table
        assert max_relative_error(ours.loc[sites, sites], theirs.loc[sites, sites]) < 1e-9


def test_faith_pd_matches_qiime_191(loaded: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "alpha.tsv"
    call_step("ecology.alpha", {}, inputs=loaded, outputs={"alpha": str(out)},
              work_dir=tmp_path)
    ours = read_tsv(out)["faith_pd"]
    theirs = read_tsv(ALPHA / "faith-pd.txt")["PD_whole_tree"]
    assert max_relative_error(ours.loc[theirs.index], theirs) < 1e-9
