"""DNA specs: MetaInformAnt's names, the assembly label and fetch, plan-time checks, entry points,
tool-missing messages. Fast tests (no pipeline run) unless marked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import StepError
from engine.testing import call_step
from stepslib.dna._entry import choose_spec, execute_dna_workflow, fetch_assembly
from tests.helpers.dna import EXAMPLE, ROOT, SPECS, as_set, needs_variant_tools, normalised_sites, truth_sites


def _cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)


def test_metainformant_names_drive_the_phylo_spec(tmp_path: Path) -> None:
    config = tmp_path / "dna.yaml"
    config.write_text(f"input: {EXAMPLE / 'sequences.fa'}\noutput: {tmp_path / 'res'}\n"
                      "analyze_composition: true\nanalyze_population: false\n"
                      "analyze_phylogeny: true\nmin_length: 1000\n")
    proc = _cli("run", str(SPECS / "phylo.yaml"), "--dry-run", "--json", "-c", str(config),
                "--strict")
    assert proc.returncode == 0, proc.stderr
    steps = {s["id"]: s for s in json.loads(proc.stdout)["steps"]}
    assert steps["population"]["action"] == "disabled"
    assert steps["filter"]["inputs"]["fasta"] == str(EXAMPLE / "sequences.fa")
    assert steps["composition"]["outputs"]["json"] == str(tmp_path / "res" /
                                                          "composition_analysis.json")
    assert steps["tree"]["action"] == "run"


def test_phylo_keys_are_accepted_by_the_variants_spec_with_why(tmp_path: Path) -> None:
    config = tmp_path / "dna.yaml"
    config.write_text("analyze_phylogeny: true\nmin_length: 100\nassembly: GCF_000001405.40\n")
    proc = _cli("run", str(SPECS / "variants.yaml"), "--dry-run", "-c", str(config), "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "accepted, not used: analyze_phylogeny (trees are specs/dna/phylo.yaml)" in proc.stdout


def test_a_bad_accession_is_a_plan_time_error(tmp_path: Path) -> None:
    proc = _cli("run", str(SPECS / "variants.yaml"), "--dry-run", "--set", "assembly=hg38",
                cwd=tmp_path)
    assert proc.returncode == 2
    # located where the user set it (the --set), not in the spec
    assert proc.stderr.startswith("--set assembly=hg38: error:")
    assert "param 'assembly' must match" in proc.stderr
    assert "got 'hg38'" in proc.stderr
    assert not (tmp_path / ".mi").exists()


def test_an_assembly_without_a_fasta_says_which_file_to_provide(tmp_path: Path) -> None:
    with pytest.raises(StepError) as caught:
        call_step("dna.reference", {"assembly": "GCF_000005845.2"}, inputs={"fasta": []},
                  outputs={"fasta": str(tmp_path / "r.fa"), "fai": str(tmp_path / "r.fa.fai")},
                  work_dir=tmp_path)
    assert "does not download assembly GCF_000005845.2" in str(caught.value)
    assert "reference_fasta" in caught.value.hint


def test_fetch_checks_the_accession_and_uses_a_local_file(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="not an NCBI assembly accession"):
        fetch_assembly("GCF_12")
    with pytest.raises(StepError, match="no network"):
        fetch_assembly("GCA_000005845.2")
    copied = fetch_assembly("GCA_000005845.2", EXAMPLE / "reference.fa", tmp_path)
    assert copied == tmp_path / "GCA_000005845.2.fa"
    assert copied.read_bytes() == (EXAMPLE / "reference.fa").read_bytes()


def test_entry_point_chooses_the_spec_from_metainformant_keys() -> None:
    assert choose_spec({"input", "analyze_phylogeny"}) == "dna/phylo.yaml"
    assert choose_spec({"sample_sheet", "assembly"}) == "dna/variants.yaml"


def test_a_missing_tool_names_its_debian_package(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(StepError) as caught:
        call_step("dna.filter", {}, inputs={"fasta": str(EXAMPLE / "sequences.fa")},
                  outputs={"fasta": str(tmp_path / "f.fa")}, work_dir=tmp_path)
    assert "seqkit" in str(caught.value) and "apt-get install -y seqkit" in caught.value.hint


def test_distances_refuse_sequences_that_are_not_aligned(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="not an alignment"):
        call_step("dna.msa", {"method": "none"}, inputs={"fasta": str(EXAMPLE / "sequences.fa")},
                  outputs={"alignment": str(tmp_path / "a.fa")}, work_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.tools
def test_execute_dna_workflow_runs_phylo_from_a_metainformant_config(tmp_path: Path) -> None:
    config = tmp_path / "dna.yaml"
    config.write_text(f"input: {EXAMPLE / 'sequences.fa'}\nanalyze_phylogeny: false\n"
                      "analyze_population: true\nanalyze_composition: true\nmin_length: 500\n")
    result = execute_dna_workflow(config, work_dir=tmp_path / "res", jobs=2,
                                  state_dir=tmp_path / ".mi")
    assert result.ok
    assert result["status"] == "completed" and result["errors"] == []  # the seed's shape
    assert (tmp_path / "res" / "composition_analysis.json").is_file()
    assert (tmp_path / "res" / "population_analysis.json").is_file()
    assert not (tmp_path / "res" / "phylogeny_analysis.json").exists()


@pytest.mark.slow
@pytest.mark.tools
@needs_variant_tools
def test_glob_fanout_and_minimap2_find_the_planted_variants(tmp_path: Path) -> None:
    """Samples from a FASTQ glob instead of the sheet, aligned by minimap2 (-x sr)."""
    from tests.helpers.dna import run_spec

    run_spec("variants.yaml", tmp_path, f"reads_glob={EXAMPLE}/reads/{{sample}}_R{{read}}.fastq.gz",
             "aligner=minimap2", "minimap2_preset=sr")
    out = tmp_path / "out"
    reference = out / "reference" / "reference.fa"
    calls = as_set(normalised_sites(out / "calls" / "calls.vcf.gz", reference, tmp_path))
    truth = as_set(truth_sites(EXAMPLE / "truth.tsv", reference, tmp_path))
    assert calls == truth
    assert not (out / "reference" / "reference.fa.bwt").exists()  # no bwa index when unused


def test_samples_from_a_sheet_and_from_a_glob_agree(tmp_path: Path) -> None:
    by_sheet = tmp_path / "sheet.tsv"
    by_glob = tmp_path / "glob.tsv"
    call_step("dna.samples", {}, inputs={"sheet": str(EXAMPLE / "samples.tsv")},
              outputs={"table": str(by_sheet)}, work_dir=tmp_path)
    result = call_step("dna.samples", {"reads_glob": f"{EXAMPLE}/reads/{{sample}}_R{{read}}.fastq.gz"},
                       inputs={"sheet": []}, outputs={"table": str(by_glob)}, work_dir=tmp_path)
    assert by_sheet.read_text() == by_glob.read_text()
    assert result["output"] == {"n_samples": 3, "n_paired": 3}
    assert by_sheet.read_text().splitlines()[1] == (
        f"S1\t{EXAMPLE / 'reads' / 'S1_R1.fastq.gz'}\t{EXAMPLE / 'reads' / 'S1_R2.fastq.gz'}")


def test_a_sheet_naming_a_missing_fastq_fails_before_any_alignment(tmp_path: Path) -> None:
    sheet = tmp_path / "s.tsv"
    sheet.write_text("sample\tfastq_1\tfastq_2\nX1\tnope_1.fq.gz\tnope_2.fq.gz\n")
    with pytest.raises(StepError, match="FASTQ of sample X1 not found"):
        call_step("dna.samples", {}, inputs={"sheet": str(sheet)},
                  outputs={"table": str(tmp_path / "t.tsv")}, work_dir=tmp_path)
    sheet.write_text("name\tr1\nX1\ta.fq\n")
    with pytest.raises(StepError, match=r"no column\(s\) \['fastq_1', 'sample'\]"):
        call_step("dna.samples", {}, inputs={"sheet": str(sheet)},
                  outputs={"table": str(tmp_path / "t.tsv")}, work_dir=tmp_path)
