"""specs/dna/variants.yaml on the bundled example, checked against independent answers:
dwgsim's truth, freebayes, pysam's counts of the BAMs, and specs/gwas/gwas.yaml reading the VCF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.dna import (
    EXAMPLE,
    ROOT,
    SPECS,
    as_set,
    needs_freebayes,
    needs_variant_tools,
    normalised_sites,
    run_spec,
    truth_sites,
)

pytestmark = [pytest.mark.slow, pytest.mark.tools, needs_variant_tools]
STEPS = ("reference", "samples", "qc_trim", "align", "markdup", "bamqc", "call",
         "normalize_filter", "stats", "report")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default run (bcftools, ploidy 1): its output folder."""
    tmp = tmp_path_factory.mktemp("variants")
    run_spec("variants.yaml", tmp)
    return tmp / "out"


def test_every_planted_variant_is_called_and_nothing_else(example: Path, tmp_path: Path) -> None:
    reference = example / "reference" / "reference.fa"
    calls = as_set(normalised_sites(example / "calls" / "calls.vcf.gz", reference, tmp_path))
    truth = as_set(truth_sites(EXAMPLE / "truth.tsv", reference, tmp_path))
    assert len(truth) == 170
    assert truth - calls == set(), "missed planted variants"
    assert calls - truth == set(), "false calls at the default filters"


def test_truth_tsv_agrees_with_dwgsims_own_truth_vcf(tmp_path: Path) -> None:
    """truth.tsv's dwgsim rows are dwgsim's mutations.vcf (REF on the reference genome)."""
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")
    for sample in ("S1", "S2", "S3"):
        vcf = [line.split("\t") for line in (EXAMPLE / "truth" / f"{sample}.mutations.vcf")
               .read_text().splitlines() if not line.startswith("#")]
        mine = truth[(truth["sample"] == sample) & (truth["source"] == "dwgsim")]
        assert sorted((r[0], int(r[1]), r[4]) for r in vcf) == sorted(
            zip(mine["CHROM"], mine["POS"], mine["ALT"]))


def test_report_summary_and_step_metrics(example: Path) -> None:
    summary = json.loads((example / "report" / "workflow_summary.json").read_text())
    assert summary["calls"]["records"] == 159
    assert summary["calls"]["per_sample"] == {"S1": 62, "S2": 59, "S3": 49}
    assert 0.4 < summary["calls"]["ts_tv"] < 1.5  # random substitutions: Ts/Tv near 0.5
    for row in summary["samples"]:
        assert 10 < row["mean_depth"] < 14 and row["mapped_fraction"] > 0.99
    for name in ("depth", "qual"):
        assert (example / "report" / f"{name}.png").stat().st_size > 5000
    per_sample = pd.read_csv(example / "stats" / "per_sample.tsv", sep="\t")
    assert dict(zip(per_sample["sample"], per_sample["n_variants"])) == summary["calls"]["per_sample"]


def test_bam_qc_counts_equal_pysams(example: Path) -> None:
    pysam = pytest.importorskip("pysam")
    table = pd.read_csv(example / "qc" / "bamqc.tsv", sep="\t").set_index("sample")
    for sample, row in table.iterrows():
        counts = {"total": 0, "mapped": 0, "properly_paired": 0, "duplicates": 0}
        with pysam.AlignmentFile(str(example / "bam" / f"{sample}.bam")) as bam:
            for read in bam.fetch(until_eof=True):
                counts["total"] += 1
                counts["mapped"] += not read.is_unmapped
                counts["properly_paired"] += read.is_proper_pair and not read.is_unmapped
                counts["duplicates"] += read.is_duplicate
            # samtools depth's defaults: no base-quality threshold, duplicates, secondary,
            # QC-failed and unmapped reads left out, deletions not counted
            depth = sum(sum(sum(base) for base in bam.count_coverage(
                contig, quality_threshold=0, read_callback="all")) for contig in bam.references)
            length = sum(bam.lengths)
        assert {k: int(row[k]) for k in counts} == counts
        assert row["mean_depth"] == pytest.approx(depth / length, abs=5e-4)  # rounded to 3 places


@needs_freebayes
def test_freebayes_makes_the_same_calls_after_normalisation(example: Path, tmp_path: Path) -> None:
    run_spec("variants.yaml", tmp_path, "caller=freebayes")
    reference = example / "reference" / "reference.fa"
    ours = as_set(normalised_sites(example / "calls" / "calls.vcf.gz", reference, tmp_path))
    freebayes = as_set(normalised_sites(tmp_path / "out" / "calls" / "calls.vcf.gz", reference,
                                        tmp_path))
    assert ours == freebayes


def test_gwas_spec_reads_the_calls_and_finds_the_causal_snp(tmp_path: Path) -> None:
    """A 12-sample cohort (3 samples cannot carry a test): call, then specs/gwas/gwas.yaml
    through its genotypes key; the planted causal SNP is the top hit."""
    cohort = tmp_path / "cohort"
    subprocess.run([sys.executable, str(EXAMPLE / "make_example_data.py"), str(cohort), "12"],
                   check=True)
    run_spec("variants.yaml", tmp_path, f"reference_fasta={cohort / 'reference.fa'}",
             f"sample_sheet={cohort / 'samples.tsv'}")
    calls = tmp_path / "out" / "calls" / "calls.vcf.gz"
    gwas_out = tmp_path / "gwas"
    argv = [sys.executable, "-m", "engine.cli", "run", str(ROOT / "specs" / "gwas" / "gwas.yaml"),
            "-j", "2", "--set", f"work_dir={gwas_out}", "--set", f"genotypes={calls}",
            "--set", f"phenotypes={cohort / 'phenotypes.tsv'}", "--set", "covariates=[]",
            "--set", "use_pcs=false", "--set", "trait=trait"]
    proc = subprocess.run(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = int(subprocess.run(["bcftools", "index", "-n", str(calls)], capture_output=True,
                                 text=True, check=True).stdout)
    variants = pd.read_csv(gwas_out / "store" / "variants.tsv", sep="\t")
    assert len(variants) == records  # every call loaded, none skipped
    truth = pd.read_csv(cohort / "truth.tsv", sep="\t")
    causal = truth[truth["source"] == "causal"].iloc[0]
    results = pd.read_csv(gwas_out / "results" / "summary_statistics.tsv", sep="\t")
    top = results.sort_values("P").iloc[0]
    assert (str(top["CHR"]), int(top["POS"])) == (causal["CHROM"], int(causal["POS"]))


def test_dry_run_lists_every_step() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(SPECS / "variants.yaml"),
                           "--dry-run"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in STEPS:
        assert name in proc.stdout
