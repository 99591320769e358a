"""load + beta against bsseq (``read.bismark`` + ``getMeth(type = "raw")``) on bsseq's own
Bismark files, and the formats MetaInformAnt gets wrong."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import StepError
from tests.helpers.epigenome import BSSEQ_DATA, load_and_qc, needs_bsseq, rscript, step

COV = BSSEQ_DATA / "test_data.fastq_bismark.bismark.cov.gz"
REPORT = BSSEQ_DATA / "test_data.cytosineReport.gz"


def _ours(tmp_path: Path, source: Path) -> pd.DataFrame:
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"sample\tgroup\tpath\ns1\tall\t{source}\n")
    paths = load_and_qc(tmp_path, {"sheet": sheet}, min_coverage=1)
    step("epigenome.beta", tmp_path, inputs={"counts": paths["store"]},
         outputs={"beta": tmp_path / "beta.tsv", "bedgraph": tmp_path / "bg"})
    return pd.read_csv(tmp_path / "beta.tsv", sep="\t", dtype={"chrom": str})


@pytest.mark.slow
@needs_bsseq
@pytest.mark.parametrize("source", [COV, REPORT], ids=["cov", "cytosine_report"])
def test_beta_equals_bsseq_getmeth_raw(tmp_path: Path, source: Path) -> None:
    rscript("bsseq_reference.R", source, tmp_path / "ref.tsv")
    ref = pd.read_csv(tmp_path / "ref.tsv", sep="\t", dtype={"chrom": str})
    ours = _ours(tmp_path, source)
    merged = ref.merge(ours, on=["chrom", "pos"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(merged) == len(ref)
    same = np.isclose(merged["beta"], merged["s1"], rtol=0, atol=1e-12, equal_nan=True)
    assert same.all()  # identical (NaN where bsseq has no coverage)
    if source == COV:
        assert len(ref) == 2013
        assert ours["s1"].mean() == pytest.approx(0.6602086, abs=5e-8)
        assert ref["beta"].mean() == pytest.approx(0.6602086, abs=5e-8)


def test_cov_total_is_methylated_plus_unmethylated(tmp_path: Path) -> None:
    """MetaInformAnt reads column 6 (unmethylated) as the total; here N = col5 + col6."""
    source = tmp_path / "s.cov"
    source.write_text("chr1\t10\t10\t75\t3\t1\nchr1\t20\t20\t0\t0\t4\n")
    beta = _ours(tmp_path, source)
    assert beta["s1"].tolist() == [0.75, 0.0]


def test_zero_coverage_gives_nan_not_zero(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text("chrom\tpos\tmethylated\tunmethylated\nchr1\t10\t2\t2\nchr1\t20\t3\t0\n")
    b.write_text("chrom\tpos\tmethylated\tunmethylated\nchr1\t10\t1\t0\n")
    paths = load_and_qc(tmp_path, {"methylation": [a, b]})
    step("epigenome.beta", tmp_path, inputs={"counts": paths["counts"]},
         outputs={"beta": tmp_path / "beta.tsv", "bedgraph": tmp_path / "bg"})
    beta = pd.read_csv(tmp_path / "beta.tsv", sep="\t")
    assert beta["a"].tolist() == [0.5, 1.0]
    assert beta["b"].iloc[0] == 1.0 and np.isnan(beta["b"].iloc[1])
    track = (tmp_path / "bg" / "b.bedGraph").read_text().splitlines()
    assert track[1:] == ["chr1\t9\t10\t1"]  # no line for the uncovered CpG


def test_dss_format_and_sheet_formats(tmp_path: Path) -> None:
    dss = tmp_path / "d.txt"
    dss.write_text("chr\tpos\tN\tX\nchr2\t5\t10\t4\n")
    report = tmp_path / "r.CpG_report.txt.gz"
    with gzip.open(report, "wt") as handle:  # a CpG on both strands, and a CHG
        handle.write("chr2\t5\t+\t1\t1\tCG\tCGA\nchr2\t6\t-\t3\t1\tCG\tCGT\n"
                     "chr2\t9\t+\t5\t0\tCHG\tCAG\n")
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"sample\tgroup\tfile\nd\tx\t{dss.name}\nr\ty\t{report.name}\n")
    paths = load_and_qc(tmp_path, {"sheet": sheet})
    store = pd.read_csv(paths["store"], sep="\t")
    assert store.to_dict("records") == [{"chrom": "chr2", "pos": 5, "M:d": 4, "N:d": 10,
                                         "M:r": 4, "N:r": 6}]
    samples = pd.read_csv(paths["samples"], sep="\t")
    assert samples["format"].tolist() == ["dss", "bismark_cpg_report"]


def test_low_coverage_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    """MetaInformAnt's default filter silently drops every locus of bsseq's test file."""
    source = tmp_path / "low.cov"
    source.write_text("".join(f"chr1\t{p}\t{p}\t100\t1\t0\n" for p in range(10, 200, 10)))
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"sample\tgroup\tpath\ns1\tall\t{source}\n")
    with pytest.raises(StepError, match=r"no CpG has 5\+ reads.*median coverage of covered "
                                        r"CpGs: 1") as err:
        load_and_qc(tmp_path, {"sheet": sheet}, min_coverage=5)
    assert "min_methylation_coverage" in (err.value.hint or "")


def test_conversion_rate_from_lambda(tmp_path: Path) -> None:
    source = tmp_path / "s.cov"
    source.write_text("chr1\t10\t10\t50\t5\t5\nlambda\t5\t5\t1\t1\t99\n")
    paths = load_and_qc(tmp_path, {"sheet": _sheet(tmp_path, source)})
    qc = pd.read_csv(paths["qc_samples"], sep="\t")
    assert qc["conversion_rate"].tolist() == [0.99]
    store = pd.read_csv(paths["counts"], sep="\t")
    assert store["chrom"].tolist() == ["chr1"]  # the control contig leaves the store


def _sheet(tmp_path: Path, source: Path) -> Path:
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"sample\tgroup\tpath\ns1\tall\t{source}\n")
    return sheet
