"""``variants.calling`` (bam_files + reference + method: bcftools): variants are called from
BAMs made at test time (reads simulated from a seeded reference with planted SNPs, aligned
with bwa), then the association runs on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.gwas_configs import SPEC, mi_run, needs_calling_tools, simulated_bams


def _config(bams: list[Path], reference: str = "ref.fa") -> str:
    return f"""\
work_dir: out/work
threads: 2
variants:
  vcf_files: []
  dest_dir: out/variants
  calling:
    bam_files: [{", ".join(b.name for b in bams)}]
    reference: {reference}
    method: bcftools
samples:
  phenotype_file: phenotypes.tsv
structure:
  compute_pca: false
association:
  model: linear
  trait: score
  min_sample_size: 20
qc:
  min_qual: 30
output:
  results_dir: out/results
  plots_dir: out/plots
"""


@needs_calling_tools
@pytest.mark.slow
def test_bams_are_called_then_associated(tmp_path: Path) -> None:
    from cyvcf2 import VCF

    sim = simulated_bams(tmp_path)
    (tmp_path / "calling.yaml").write_text(_config(sim["bams"]))
    plan = mi_run(tmp_path, str(SPEC), "-c", "calling.yaml", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert any(line.split()[:2] == ["call_variants", "run"] for line in plan.stdout.splitlines())
    proc = mi_run(tmp_path, str(SPEC), "-c", "calling.yaml", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # MetaInformAnt's place for the calls: variants.dest_dir/called_variants.vcf.gz
    vcf = VCF(str(tmp_path / "out" / "variants" / "called_variants.vcf.gz"), gts012=True)
    assert vcf.samples == sim["ids"]
    calls = {(r.POS, r.REF, r.ALT[0]): np.where(r.gt_types == 3, -1, r.gt_types) for r in vcf}
    truth: pd.DataFrame = sim["truth"]
    planted = {(int(r.POS), r.REF, r.ALT): r for r in truth.itertuples(index=False)}
    assert set(calls) == set(planted)  # every planted SNP, nothing else
    expected = truth[sim["ids"]].to_numpy()
    called = np.array([calls[key] for key in planted])
    assert (called == expected).mean() >= 0.98
    results = pd.read_csv(tmp_path / "out" / "results" / "summary_statistics.tsv", sep="\t")
    assert set(results["POS"]) <= set(truth["POS"]) and len(results) >= 10
    assert results.nsmallest(1, "P")["POS"].iloc[0] == truth["POS"].iloc[0]  # drives 'score'
    summary = json.loads((tmp_path / "out" / "results" / "results_summary.json").read_text())
    assert summary["n_variants_tested"] == len(results)


@needs_calling_tools
def test_calling_without_a_reference_says_what_to_set(tmp_path: Path) -> None:
    bams = [tmp_path / "a.bam"]
    bams[0].write_bytes(b"")
    (tmp_path / "phenotypes.tsv").write_text("sample_id\tscore\n")
    text = _config(bams).replace("    reference: ref.fa\n", "")
    (tmp_path / "calling.yaml").write_text(text)
    proc = mi_run(tmp_path, str(SPEC), "-c", "calling.yaml", "--dry-run")
    assert proc.returncode == 2
    assert "variants.calling.reference is not set in the config" in proc.stderr


def test_an_unsupported_caller_is_located_in_the_users_file(tmp_path: Path) -> None:
    (tmp_path / "a.bam").write_bytes(b"")
    (tmp_path / "ref.fa").write_text(">c\nACGT\n")
    (tmp_path / "phenotypes.tsv").write_text("sample_id\tscore\n")
    (tmp_path / "calling.yaml").write_text(
        _config([tmp_path / "a.bam"]).replace("method: bcftools", "method: gatk"))
    proc = mi_run(tmp_path, str(SPEC), "-c", "calling.yaml", "--dry-run")
    assert proc.returncode == 2
    assert "calling.yaml:9:5: error: step 'call_variants' (gwas.call_variants): param " \
           "'method'" in proc.stderr, proc.stderr
