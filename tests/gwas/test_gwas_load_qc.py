"""gwas.load and gwas.qc: readers, sample alignment, and QC that keeps what plink2 keeps."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stepslib.gwas.qcstats import hwe_exact
from tests.helpers.gwas import load_outputs, needs_plink2, plink2, qc_outputs, simulate_plink


def _write_vcf(path: Path) -> None:
    lines = [
        "##fileformat=VCFv4.2", "##contig=<ID=1>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc",
        "1\t100\trs1\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t1/1",
        "1\t200\t.\tC\tT\t.\t.\t.\tGT\t./.\t1|1\t0|1",
        "1\t300\trs3\tG\tA,C\t.\t.\t.\tGT\t0/1\t0/2\t1/2",  # multi-allelic: skipped
        "1\t400\trs4\tT\tTA\t.\t.\t.\tGT\t1/0\t0/0\t0/0",
    ]
    path.write_text("\n".join(lines) + "\n")


def test_load_vcf_dosages_missing_and_alignment(tmp_path: Path, run_step: Any) -> None:
    vcf = tmp_path / "x.vcf"
    _write_vcf(vcf)
    pd.DataFrame({"sample_id": ["c", "a", "zz"], "y": [1.0, None, 3.0]}).to_csv(
        tmp_path / "p.tsv", sep="\t", index=False)
    out = load_outputs(tmp_path / "store")
    result = run_step("gwas.load", inputs={"genotypes": vcf, "phenotypes": tmp_path / "p.tsv",
                                           "covariates": []}, outputs=out)
    dosages = np.load(out["dosages"])
    # columns follow the genotype order (a, c); b has no phenotype row, zz no genotypes
    assert dosages.tolist() == [[0, 2], [-1, 1], [1, 0]]
    variants = pd.read_csv(out["variants"], sep="\t")
    assert variants["SNP"].tolist() == ["rs1", "1:200:C:T", "rs4"]
    assert variants["ALT"].tolist() == ["G", "T", "TA"]
    dropped = pd.read_csv(out["dropped"], sep="\t")
    assert set(zip(dropped.sample_id, dropped.present_in)) == {("b", "genotypes"),
                                                               ("zz", "phenotypes")}
    pheno = pd.read_csv(out["phenotypes"], sep="\t")
    assert pheno["sample_id"].tolist() == ["a", "c"] and np.isnan(pheno["y"][0])
    assert result["metadata"]["n_dropped"] == 2


def test_plink_and_vcf_inputs_give_the_same_store(tmp_path: Path, run_step: Any) -> None:
    pytest.importorskip("cyvcf2")
    info = simulate_plink(tmp_path / "sim", n_samples=40, n_variants=100)
    bed_out, vcf_out = load_outputs(tmp_path / "bed"), load_outputs(tmp_path / "vcf")
    run_step("gwas.load", inputs={"genotypes": tmp_path / "sim.bed",
                                  "phenotypes": tmp_path / "sim.pheno.tsv"}, outputs=bed_out)
    # write the VCF ourselves from the .bed through bed-reader (independent of our reader)
    from bed_reader import open_bed

    with open_bed(tmp_path / "sim.bed") as bed:
        g = bed.read(dtype="float32")
        alt, ref = bed.allele_1, bed.allele_2
        header = ["##fileformat=VCFv4.2", "##contig=<ID=1>", "##contig=<ID=2>",
                  "##contig=<ID=3>",
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                  "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                             "FORMAT", *info["ids"][:40]])]
        body = []
        code = {0.0: "0/0", 1.0: "0/1", 2.0: "1/1"}
        for j in range(g.shape[1]):
            calls = ["./." if np.isnan(v) else code[float(v)] for v in g[:, j]]
            body.append("\t".join([str(bed.chromosome[j]), str(bed.bp_position[j]),
                                   str(bed.sid[j]), ref[j], alt[j], ".", ".", ".", "GT",
                                   *calls]))
    (tmp_path / "sim.vcf").write_text("\n".join(header + body) + "\n")
    run_step("gwas.load", inputs={"genotypes": tmp_path / "sim.vcf",
                                  "phenotypes": tmp_path / "sim.pheno.tsv"}, outputs=vcf_out)
    assert np.array_equal(np.load(bed_out["dosages"]), np.load(vcf_out["dosages"]))
    a = pd.read_csv(bed_out["variants"], sep="\t", dtype=str)
    b = pd.read_csv(vcf_out["variants"], sep="\t", dtype=str)
    pd.testing.assert_frame_equal(a, b)


def _hwe_enumerated(het: int, hom1: int, hom2: int) -> float:
    """Textbook exact test by explicit enumeration with exact integer arithmetic."""
    from fractions import Fraction
    from math import factorial

    n = het + hom1 + hom2
    rare = min(2 * hom1 + het, 2 * hom2 + het)
    probs = {}
    for h in range(rare % 2, rare + 1, 2):
        hr, hc = (rare - h) // 2, n - h - (rare - h) // 2
        probs[h] = Fraction(2**h * factorial(n), factorial(hr) * factorial(h) * factorial(hc))
    total = sum(probs.values())
    return float(sum(p for p in probs.values() if p <= probs[het]) / total)


def test_hwe_exact_matches_enumeration() -> None:
    cases = [(het, a, b) for het, a, b in itertools.product(range(0, 9), range(0, 7), range(7))
             if het + a + b > 0]
    het, a, b = map(np.array, zip(*cases))
    ours = hwe_exact(het, a, b)
    expected = [_hwe_enumerated(*c) for c in cases]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


@pytest.mark.tools
@needs_plink2
def test_hwe_pvalues_match_plink2_hardy(sim: dict[str, Any], tmp_path: Path) -> None:
    plink2("--bfile", sim["prefix"], "--hardy", "--out", tmp_path / "h", cwd=tmp_path)
    plink2("--bfile", sim["prefix"], "--hardy", "midp", "--out", tmp_path / "hm", cwd=tmp_path)
    from stepslib.gwas.qcstats import genotype_counts

    dosages = np.load(sim["dosages"])
    hom_ref, het, hom_alt, _ = genotype_counts(iter([dosages])).T
    for name, midp in (("h", False), ("hm", True)):
        hardy = pd.read_csv(tmp_path / f"{name}.hardy", sep="\t")
        ours = hwe_exact(het, hom_ref, hom_alt, midp=midp)
        assert hardy["ID"].tolist() == [f"v{i}" for i in range(len(ours))]
        # plink2 prints 6 significant digits
        np.testing.assert_allclose(ours, hardy["MIDP" if midp else "P"], rtol=1e-5,
                                   atol=1e-300)


@pytest.mark.tools
@needs_plink2
@pytest.mark.parametrize("params", [
    {},  # defaults: --mind 0.05 --geno 0.05 --maf 0.01 --hwe 1e-6
    {"min_call_rate": 0.9, "max_missing": 0.02, "min_maf": 0.2, "hwe_pval": 1e-3},
    {"min_call_rate": None, "max_missing": 0.1, "min_maf": 0.05, "hwe_pval": 1e-4,
     "hwe_midp": True},
    {"hwe_pval": 1e-3, "hwe_keep_fewhet": True, "min_maf": None},
])
def test_qc_keeps_the_variants_and_samples_plink2_keeps(
        sim: dict[str, Any], tmp_path: Path, run_step: Any, params: dict[str, Any]) -> None:
    out = qc_outputs(tmp_path / "qc2")
    run_step("gwas.qc", params, inputs={k: sim[k] for k in ("dosages", "variants",
                                                            "phenotypes")}, outputs=out)
    full = {"min_call_rate": 0.95, "max_missing": 0.05, "min_maf": 0.01, "hwe_pval": 1e-6,
            **params}
    args: list[Any] = ["--bfile", sim["prefix"], "--write-snplist", "--write-samples"]
    if full["min_call_rate"] is not None:
        args += ["--mind", round(1 - full["min_call_rate"], 10)]
    if full["max_missing"] is not None:
        args += ["--geno", full["max_missing"]]
    if full["min_maf"] is not None:
        args += ["--maf", full["min_maf"]]
    if full["hwe_pval"] is not None:
        args += ["--hwe", full["hwe_pval"]]
        args += ["midp"] if full.get("hwe_midp") else []
        args += ["keep-fewhet"] if full.get("hwe_keep_fewhet") else []
    plink2(*args, "--out", tmp_path / "p", cwd=tmp_path)
    theirs = (tmp_path / "p.snplist").read_text().split()
    ours = pd.read_csv(out["kept_variants"], sep="\t")["SNP"].tolist()
    assert ours == theirs
    their_samples = pd.read_csv(tmp_path / "p.id", sep="\t")["IID"].tolist()
    assert pd.read_csv(out["kept_samples"], sep="\t")["sample_id"].tolist() == their_samples
    summary = pd.read_csv(out["summary"], sep="\t")
    assert summary.query("filter == 'kept' and level == 'variants'")["count"].item() == len(
        theirs)
    assert 0 < len(theirs) < 400  # the filters did something


def test_qc_indel_filter_and_summary(sim: dict[str, Any], tmp_path: Path,
                                     run_step: Any) -> None:
    variants = pd.read_csv(sim["variants"], sep="\t")
    variants.loc[[100, 101], "ALT"] = ["AT", "-"]
    variants.to_csv(sim["variants"], sep="\t", index=False)
    out = qc_outputs(tmp_path / "qc3")
    result = run_step("gwas.qc", {"exclude_indels": True, "min_maf": None, "hwe_pval": None,
                                  "max_missing": None, "min_call_rate": None},
                      inputs={k: sim[k] for k in ("dosages", "variants", "phenotypes")},
                      outputs=out)
    kept = pd.read_csv(out["kept_variants"], sep="\t")["index"].tolist()
    assert 100 not in kept and 101 not in kept and len(kept) == 398
    assert result["metadata"]["variants_removed"] == {"exclude_indels": 2}
