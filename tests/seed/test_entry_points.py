"""``execute_<domain>_workflow``: the seed's Python entry points, with the seed's result
shape (``result["status"]``, ``result["errors"]``, attribute access) and the RunResult."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine import SeedResult, SpecError
from engine.running.result import RunResult
from stepslib.gwas import execute_gwas_workflow
from stepslib.rna import execute_amalgkit_workflow
from tests.helpers.running import ROOT

EXAMPLE = ROOT / "examples" / "gwas"


def _record(work: Path) -> dict:
    return json.loads(sorted((work / ".mi" / "runs").glob("*.json"))[-1].read_text())


def test_execute_gwas_workflow_runs_the_given_vcf_and_phenotypes(work: Path) -> None:
    phenotypes = pd.read_csv(EXAMPLE / "phenotypes.tsv", sep="\t")
    kept = phenotypes.iloc[:450]  # fewer samples than the genotypes: N shows which file ran
    kept.to_csv(work / "pheno.tsv", sep="\t", index=False)
    result = execute_gwas_workflow(EXAMPLE / "example.vcf.gz", work / "pheno.tsv",
                                   {"use_pcs": False, "trait": "height"},
                                   work_dir=work / "gwas", jobs=2, backend="threads")
    assert isinstance(result, SeedResult) and isinstance(result.run_result, RunResult)
    assert result["status"] == "completed" and result.status == "completed"
    assert result["success"] is True and result.ok
    assert result["errors"] == [] and result.errors == []
    assert dict(result)["metadata"]["run_id"] == result.run_result.run_id
    summary = work / "gwas" / "results" / "summary_statistics.tsv"
    assert str(summary) in result.output["files_created"]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in result.output["files_created"])
    table = pd.read_csv(summary, sep="\t")
    assert table["N"].max() <= len(kept)
    hits = pd.read_csv(work / "gwas" / "results" / "significant_hits.tsv", sep="\t")
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")  # the planted causal variants
    assert set(truth["SNP"]) <= set(hits["SNP"])
    load = next(e for e in _record(work)["instances"] if e["step"] == "load")
    given = {f["name"]: f["path"] for f in load["inputs"]}
    assert given["genotypes"] == str(EXAMPLE / "example.vcf.gz")
    assert given["phenotypes"] == str(work / "pheno.tsv")


def test_a_failing_step_is_returned_not_raised(work: Path) -> None:
    (work / "pheno.tsv").write_text("sample_id\tweight\nS0001\t1.0\n")  # no 'height' column
    config = work / "gwas_config.yaml"
    config.write_text(f"work_dir: {work / 'out'}\nuse_pcs: false\nassociation: {{trait: height}}\n")
    result = execute_gwas_workflow(EXAMPLE / "example.bed", work / "pheno.tsv", config,
                                   jobs=1, backend="threads")
    assert result["status"] == "failed" and result["success"] is False and not result.ok
    assert len(result["errors"]) == 1
    failed = result.run_result.failed[0]
    assert result.failed == result.run_result.failed  # the RunResult's attributes read through
    assert result.statuses[failed.id].value == "failed"
    assert result["errors"] == [f"{failed.id}: {failed.error}"]
    assert "'height'" in failed.error


def test_a_config_mistake_raises_before_anything_runs(work: Path) -> None:
    with pytest.raises(SpecError) as raised:
        execute_gwas_workflow(None, None, {"n_pcs": "many"}, work_dir=work / "out")
    assert "n_pcs" in str(raised.value.render())
    assert not (work / "out").exists()


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.skipif(shutil.which("kallisto") is None, reason="kallisto is not installed")
def test_execute_amalgkit_workflow_with_a_config_mapping(work: Path) -> None:
    result = execute_amalgkit_workflow(
        {"threads": 1, "steps": {"curate": {"correlation_threshold": 0.5}}},
        work_dir="rna_out", jobs=2, backend="threads")
    assert result["status"] == "completed", result["errors"]
    assert result.run_result.ok and result["errors"] == []
    record = _record(work)
    config = {c["key"]: c for c in record["config"]}
    assert config["work_dir"]["value"] == "rna_out"
    assert config["threads"]["value"] == 1
    assert "mi-python-config-" in config["threads"]["origin"]  # read as a --config file
    curate = next(e for e in record["instances"] if e["step"] == "curate")
    assert curate["params"]["correlation_threshold"] == 0.5
    assert (work / "rna_out").is_dir()
    assert not list(Path(work).glob("mi-python-config-*"))
