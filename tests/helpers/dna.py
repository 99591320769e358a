"""Plain helpers for the DNA tests: run the DNA specs, compare calls with a truth set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs" / "dna"
EXAMPLE = ROOT / "examples" / "dna"
VARIANT_TOOLS = ("bwa", "samtools", "bcftools", "fastp")
needs_variant_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in VARIANT_TOOLS),
    reason=f"needs {', '.join(VARIANT_TOOLS)} (make tools)")
needs_freebayes = pytest.mark.skipif(shutil.which("freebayes") is None,
                                     reason="freebayes is not installed (make tools)")
needs_ape = pytest.mark.skipif(
    shutil.which("Rscript") is None
    or subprocess.run(["Rscript", "-e", "library(ape)"], capture_output=True).returncode != 0
    if shutil.which("Rscript") else True, reason="Rscript with ape is not installed (r-cran-ape)")


def run_spec(spec: str, tmp_path: Path, *settings: str, jobs: int = 2) -> subprocess.CompletedProcess[str]:
    """``mi-run specs/dna/<spec> --set work_dir=tmp/out ...`` in tmp_path; asserts success."""
    argv = [sys.executable, "-m", "engine.cli", "run", str(SPECS / spec), "-j", str(jobs),
            "--set", f"output={tmp_path / 'out'}", *(x for s in settings for x in ("--set", s))]
    proc = subprocess.run(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def normalised_sites(vcf: Path, reference: Path, tmp: Path) -> pd.DataFrame:
    """Records of ``vcf`` after ``bcftools norm -m-any -f reference`` as sample, CHROM, POS,
    REF, ALT: one row per sample whose genotype carries the ALT allele (a sites-only VCF, as
    dwgsim's truth, gives the sample ``'*'``)."""
    normed = tmp / (vcf.name.split(".")[0] + ".norm.vcf")
    subprocess.run(["bcftools", "norm", "-m-any", "-f", str(reference), "-o", str(normed), str(vcf)],
                   check=True, capture_output=True)
    samples = subprocess.run(["bcftools", "query", "-l", str(normed)], check=True,
                             capture_output=True, text=True).stdout.split()
    fmt = "%CHROM\t%POS\t%REF\t%ALT" + ("[\t%GT]" if samples else "") + "\n"
    text = subprocess.run(["bcftools", "query", "-f", fmt, str(normed)], check=True,
                          capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        chrom, pos, ref, alt, *gts = line.split("\t")
        for sample, gt in zip(samples, gts) if samples else [("*", "1")]:
            if any(a not in ("0", ".") for a in gt.replace("|", "/").split("/")):
                rows.append((sample, chrom, int(pos), ref, alt))
    return pd.DataFrame(rows, columns=["sample", "CHROM", "POS", "REF", "ALT"])


def truth_sites(truth_tsv: Path, reference: Path, tmp: Path) -> pd.DataFrame:
    """The planted variants of truth.tsv, normalised per sample like the calls."""
    truth = pd.read_csv(truth_tsv, sep="\t")
    contigs = [line.split("\t")[:2] for line in
               Path(str(reference) + ".fai").read_text().splitlines()] if Path(
        str(reference) + ".fai").exists() else []
    if not contigs:
        subprocess.run(["samtools", "faidx", str(reference)], check=True)
        contigs = [line.split("\t")[:2] for line in
                   Path(str(reference) + ".fai").read_text().splitlines()]
    frames = []
    for sample, block in truth.groupby("sample"):
        vcf = tmp / f"truth_{sample}.vcf"
        header = "##fileformat=VCFv4.2\n" + "".join(
            f"##contig=<ID={c},length={n}>\n" for c, n in contigs)
        body = "".join(f"{r.CHROM}\t{r.POS}\t.\t{r.REF}\t{r.ALT}\t.\t.\t.\n"
                       for r in block.sort_values(["CHROM", "POS"]).itertuples())
        vcf.write_text(header + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + body)
        sites = normalised_sites(vcf, reference, tmp)
        frames.append(sites.assign(sample=sample))
    return pd.concat(frames, ignore_index=True)


def as_set(frame: pd.DataFrame) -> set[tuple[str, str, int, str, str]]:
    return {(r.sample, r.CHROM, int(r.POS), r.REF, r.ALT) for r in frame.itertuples()}
