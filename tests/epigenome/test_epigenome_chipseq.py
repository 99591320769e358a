"""chipseq.yaml on the bundled simulation: every planted site found, no false peak, FRiP equal
to ``bedtools intersect -u | wc -l``; a missing tool names its Debian package."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from engine.errors import ToolMissingError
from tests.helpers.epigenome import EXAMPLE, run_spec, step

TOOLS = ("bowtie2", "samtools", "macs2", "bedtools")
needs_chip_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS),
    reason="apt-get install bowtie2 samtools macs bedtools")


def _overlapping(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """For each interval of a (chrom, start, end): does any interval of b overlap it?"""
    return a.apply(lambda r: bool(((b["chrom"] == r["chrom"]) & (b["start"] < r["end"])
                                   & (b["end"] > r["start"])).any()), axis=1)


@pytest.mark.slow
@needs_chip_tools
def test_example_finds_every_planted_site_and_no_false_peak(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run_spec(tmp_path, "chipseq.yaml", "--set", f"work_dir={out}")
    assert code == 0, stdout + err
    truth = pd.read_csv(EXAMPLE / "chipseq" / "truth.tsv", sep="\t")
    names = ["chrom", "start", "end"]
    consensus = pd.read_csv(out / "consensus_peaks.bed", sep="\t", header=None,
                            usecols=[0, 1, 2], names=names)
    assert _overlapping(truth, consensus).all()  # 20 / 20
    assert _overlapping(consensus, truth).all()  # no false peak
    assert len(consensus) == len(truth) == 20
    summary = json.loads((out / "workflow_summary.json").read_text())
    for sample in ("chip_rep1", "chip_rep2"):
        bam = out / "align" / sample / f"{sample}.bam"
        peaks = out / "peaks" / sample / "peaks.narrowPeak"
        inside = subprocess.run(f"bedtools intersect -u -bed -a {bam} -b {peaks} | wc -l",
                                shell=True, capture_output=True, text=True, check=True).stdout
        frip = pd.read_csv(out / "peaks" / sample / "frip.tsv", sep="\t").iloc[0]
        assert frip["reads_in_peaks"] == int(inside)
        assert summary["samples"][sample]["frip"] == pytest.approx(int(inside) / frip["reads"],
                                                                 abs=1e-6)
        assert 0.05 < frip["frip"] < 0.2  # 2,000 of 27,000 reads lie in planted sites
    assert (out / "plots" / "frip_peaks.png").stat().st_size > 5000


def test_missing_tool_names_the_debian_package(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="macs"):
        step("epigenome.macs2", tmp_path, inputs={"treatment": tmp_path / "t.bam",
                                                  "index": tmp_path},
             outputs={"peaks": tmp_path / "p.narrowPeak", "raw": tmp_path / "raw"})
