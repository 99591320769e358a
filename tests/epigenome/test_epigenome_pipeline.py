"""methylation.yaml end to end on the bundled example (planted DMRs found, nothing else), with
MetaInformAnt's config names, and through execute_epigenome_workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.epigenome import EXAMPLE, needs_bedtools, run_spec, summary_json


def test_spec_plans_every_step(tmp_path: Path) -> None:
    code, out, err = run_spec(tmp_path, "methylation.yaml", "--dry-run")
    assert code == 0, out + err
    for name in ("load", "qc", "beta", "summarize", "dml", "dmr", "peaks_overlap", "report"):
        assert name in out


@pytest.mark.slow
@needs_bedtools
def test_example_recovers_the_planted_dmrs_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run_spec(tmp_path, "methylation.yaml", "--set", f"work_dir={out}")
    assert code == 0, stdout + err
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")
    dmrs = pd.read_csv(out / "dml" / "dmrs.tsv", sep="\t")
    assert len(dmrs) == len(truth) == 5
    for row in truth.itertuples():
        hit = dmrs[(dmrs["chrom"] == row.chrom) & (dmrs["start"] <= row.end)
                   & (dmrs["end"] >= row.start)]
        assert len(hit) == 1, row
        # diff = control - treated: the opposite sign of the planted treated shift
        assert hit["diff.Methy"].iloc[0] * row.delta_treated < 0
        assert hit["nCG"].iloc[0] >= 0.6 * row.n_cpgs
    summary = summary_json(out)
    assert summary["plots"] == ["beta_histograms.png", "chromosome_beta.png", "volcano.png"]
    assert all(s["conversion_rate"] != "NA" and float(s["conversion_rate"]) > 0.99
               for s in summary["samples"])
    overlap = summary["peaks_overlap"]
    assert overlap["mean_beta_inside_peaks"] < 0.3 < overlap["mean_beta_outside_peaks"]
    chromosomes = pd.read_csv(out / "chromosome_summary.tsv", sep="\t")
    assert list(chromosomes.columns) == ["sample", "chromosome", "mean", "std", "min", "max",
                                         "count"]
    assert sorted((out / "bedgraph").iterdir())[0].name == "ctrl_1.bedGraph"
    for plot in summary["plots"]:
        assert (out / "plots" / plot).stat().st_size > 5000


METAINFORMANT_CONFIG = """\
methylation: {table}
bedgraph: {bedgraph}
output: {out}
compute_beta: true
summarize_by_chromosome: true
min_methylation_coverage: 1
max_distance_for_integration: 500
chipseq_qvalue_threshold: 0.05
min_peak_length: 50
max_peak_length: 10000
methylation_threshold: 0.8
"""


@pytest.mark.slow
@needs_bedtools
def test_metainformant_config_names(tmp_path: Path) -> None:
    table = tmp_path / "cpgs.tsv"
    table.write_text("chrom\tpos\tmethylated\tunmethylated\n"
                     "chr1\t100\t3\t1\nchr1\t200\t0\t0\nchr2\t50\t1\t1\n")
    bedgraph = tmp_path / "t.bedgraph"
    bedgraph.write_text("track type=bedGraph\nchr1\t0\t100\t0.5\nchr2\t0\t10\t1.5\n")
    config = tmp_path / "mi.yaml"
    out = tmp_path / "output" / "epigenome"
    config.write_text(METAINFORMANT_CONFIG.format(table=table, bedgraph=bedgraph, out=out))
    code, stdout, err = run_spec(tmp_path, "methylation.yaml", "--dry-run", "-c", str(config))
    assert code == 0, stdout + err
    assert "accepted, not used: chipseq_qvalue_threshold" in stdout
    code, stdout, err = run_spec(tmp_path, "methylation.yaml", "-c", str(config))
    assert code == 0, stdout + err
    beta = pd.read_csv(out / "beta_values.tsv", sep="\t")
    assert beta["cpgs"].tolist()[:1] == [0.75] and len(beta) == 2  # uncovered CpG: no row kept
    summary = pd.read_csv(out / "chromosome_summary.tsv", sep="\t")
    assert summary["chromosome"].tolist() == ["chr1", "chr2"]
    tracks = json.loads((out / "bedgraph_analysis.json").read_text())
    assert tracks["t.bedgraph"]["n_regions"] == 2 and tracks["t.bedgraph"]["mean_value"] == 1.0
    assert not (out / "dml").exists()  # one sample: nothing to compare
    assert (out / "workflow_summary.json").is_file()


@pytest.mark.slow
def test_execute_epigenome_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stepslib.epigenome import execute_epigenome_workflow

    monkeypatch.chdir(tmp_path)
    result = execute_epigenome_workflow({"peaks": None, "dmr": {"p_threshold": 0.01}},
                                        work_dir=tmp_path / "w", jobs=2)
    assert result.ok
    assert result["status"] == "completed" and result["errors"] == []  # the seed's shape
    assert len(pd.read_csv(tmp_path / "w" / "dml" / "dmrs.tsv", sep="\t")) == 5
    assert not (tmp_path / "w" / "integration").exists()
