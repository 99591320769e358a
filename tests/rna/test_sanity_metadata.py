"""rna.metadata (SRA XML parser, clear failure without amalgkit), rna.getfastq private
passthrough, and rna.sanity."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine import StepError
from stepslib.rna.integrate import fastq_stats
from stepslib.rna.metadata import parse_sra_xml
from stepslib.rna.metadata_io import METADATA_COLUMNS, species_dir_name, species_from_filename
from tests.helpers.rna import DATA, EXAMPLES, write

XML = DATA / "sra_experiment_packages.xml"


# metadata ----------------------------------------------------------------------------------
def test_parse_sra_xml_fixture() -> None:
    frame = parse_sra_xml(XML)
    assert list(frame.columns[: len(METADATA_COLUMNS)]) == list(METADATA_COLUMNS)
    table = frame.set_index("run")
    assert list(table.index) == ["SRR9000001", "SRR9000002", "SRR9000003"]
    first = table.loc["SRR9000001"]
    assert (first.lib_layout, first.nominal_length, first.nominal_sdev) == ("paired", "300", "30")
    assert (first.bioproject, first.biosample, first.experiment) == (
        "PRJNA900001", "SAMN90000001", "SRX9000001")
    assert (first.sra_study, first.sra_sample, first.sra_primary) == (
        "SRP900001", "SRS9000001", "SRA900001")
    assert (first.tissue, first.sample_group, first.sex) == ("Brain", "brain", "female")
    assert (first.total_spots, first.total_bases, first.spot_length) == (
        "25000000", "5000000000", "200")
    assert first.instrument == "Illumina NovaSeq 6000"
    assert first.pubmed_id == "39000001" and first.taxid == "7460"
    assert first.AWS_Link.startswith("https://") and first.GCP_Link.startswith("gs://")
    assert first.dev_stage == "adult"  # SAMPLE_ATTRIBUTE tag, spaces -> '_'
    assert first.location == "Japan: Tokyo"
    second = table.loc["SRR9000002"]
    assert (second.lib_layout, second.nominal_length, second.spot_length) == ("single", "", "50")
    assert (second.sample_group, second.treatment) == ("fat body", "control")
    assert set(table.exclusion) == {"no"} and set(table.is_qualified) == {"yes"}
    assert set(table.scientific_name) == {"Apis mellifera"}


def test_parse_sra_xml_rejects_other_xml(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="not an SRA"):
        parse_sra_xml(write(tmp_path / "x.xml", "<eSearchResult><Count>0</Count></eSearchResult>"))
    with pytest.raises(StepError, match="cannot parse"):
        parse_sra_xml(write(tmp_path / "y.xml", "<EXPERIMENT_PACKAGE_SET>"))


def test_metadata_step_from_xml_then_select(tmp_path: Path, run_step) -> None:
    out = tmp_path / "metadata" / "metadata.tsv"
    result = run_step("rna.metadata", {}, inputs={"xml": XML}, outputs={"metadata": out})
    assert result["metadata"]["runs"] == 3
    run_step("rna.select", {"min_nspots": 1000}, inputs={"metadata": out},
             outputs={"metadata": tmp_path / "selected" / "metadata.tsv"})
    table = pd.read_csv(tmp_path / "selected" / "metadata.tsv", sep="\t", dtype=str,
                        keep_default_na=False).set_index("run")
    # PRJNA900002 has a control sample, so its treated sample is 'non_control'
    assert table.loc["SRR9000003", "exclusion"] == "non_control"
    assert table.loc["SRR9000002", "exclusion"] == "no"


def test_metadata_without_amalgkit_fails_clearly(tmp_path: Path, run_step, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    params = {"search_string": '"Apis mellifera"[Organism]', "entrez_email": "me@example.org"}
    with pytest.raises(StepError, match="amalgkit") as caught:
        run_step("rna.metadata", params, inputs={}, outputs={"metadata": tmp_path / "m.tsv"})
    assert "bioconda" in (caught.value.hint or "") and "rna.integrate" in caught.value.hint
    with pytest.raises(StepError, match="search_string"):
        run_step("rna.metadata", {}, inputs={}, outputs={"metadata": tmp_path / "m.tsv"})


def test_species_names() -> None:
    assert species_dir_name("Apis mellifera ligustica") == "Apis_mellifera"
    assert species_dir_name("Demo_alpha") == "Demo_alpha"
    assert species_from_filename("merge/Demo_beta/Demo_beta_est_counts.tsv") == "Demo_beta"


# getfastq ----------------------------------------------------------------------------------
def private_row(run: str, reads: list[Path]) -> dict[str, str]:
    return {"run": run, "private_file": "yes", "lib_layout": "paired" if len(reads) == 2
            else "single", "read1_path": str(reads[0]),
            "read2_path": str(reads[1]) if len(reads) == 2 else ""}


def test_getfastq_private_passthrough_links(tmp_path: Path, run_step) -> None:
    alpha = EXAMPLES / "fastq" / "Demo_alpha"
    reads = [alpha / "PRVA01_1.fastq.gz", alpha / "PRVA01_2.fastq.gz"]
    out = tmp_path / "work"
    target = out / "getfastq" / "PRVA01"
    outputs = {"fastq": [target / "PRVA01_1.amalgkit.fastq.gz",
                         target / "PRVA01_2.amalgkit.fastq.gz"]}
    run_step("rna.getfastq", {"out_dir": str(out)}, inputs={}, outputs=outputs,
             item=private_row("PRVA01", reads))
    for link, source in zip(outputs["fastq"], reads):
        assert link.is_symlink() and link.read_bytes() == source.read_bytes()
    single = EXAMPLES / "fastq" / "Demo_beta" / "PRVB04.fastq.gz"
    meta = tmp_path / "meta.tsv"
    pd.DataFrame([private_row("PRVB04", [single])]).to_csv(meta, sep="\t", index=False)
    run_step("rna.getfastq", {"out_dir": str(out)}, inputs={"metadata": meta}, outputs={})
    assert (out / "getfastq" / "PRVB04" / "PRVB04.amalgkit.fastq.gz").read_bytes() == \
        single.read_bytes()


@pytest.mark.skipif(shutil.which("fastp") is None, reason="fastp not installed")
def test_getfastq_private_with_fastp(tmp_path: Path, run_step) -> None:
    alpha = EXAMPLES / "fastq" / "Demo_alpha"
    reads = [alpha / "PRVA13_1.fastq.gz", alpha / "PRVA13_2.fastq.gz"]
    out = tmp_path / "work"
    run_step("rna.getfastq", {"out_dir": str(out), "fastp": "yes"}, inputs={}, outputs={},
             item=private_row("PRVA13", reads))
    cleaned = out / "getfastq" / "PRVA13" / "PRVA13_1.amalgkit.fastq.gz"
    assert not cleaned.is_symlink()
    assert fastq_stats(cleaned) == fastq_stats(reads[0])  # clean reads: nothing dropped


def test_getfastq_public_run_needs_amalgkit(tmp_path: Path, run_step, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    row = {"run": "SRR9000001", "private_file": "no", "lib_layout": "paired"}
    with pytest.raises(StepError, match="public SRA runs") as caught:
        run_step("rna.getfastq", {"out_dir": str(tmp_path)}, inputs={}, outputs={}, item=row)
    assert "amalgkit" in (caught.value.hint or "")


def test_getfastq_reports_undeclared_layout(tmp_path: Path, run_step) -> None:
    single = EXAMPLES / "fastq" / "Demo_beta" / "PRVB04.fastq.gz"
    with pytest.raises(StepError, match="declared outputs were not written"):
        run_step("rna.getfastq", {"out_dir": str(tmp_path)}, inputs={},
                 outputs={"fastq": [tmp_path / "getfastq" / "PRVB04" / "PRVB04_1.amalgkit.fastq.gz"]},
                 item=private_row("PRVB04", [single]))


# sanity ------------------------------------------------------------------------------------
def sanity_layout(tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    meta = write(tmp_path / "meta.tsv", "run\tscientific_name\tread1_path\n"
                 f"R1\tDemo alpha\t\nR2\tDemo alpha\t{EXAMPLES / 'sample_sheet.tsv'}\n"
                 "R3\tDemo beta\t\n")
    (work / "getfastq" / "R1").mkdir(parents=True)
    with gzip.open(work / "getfastq" / "R1" / "R1_1.amalgkit.fastq.gz", "wt") as handle:
        handle.write("@r\nA\n+\nI\n")
    write(work / "index" / "Demo_alpha.idx", "")
    for run in ("R1", "R3"):
        write(work / "quant" / run / f"{run}_abundance.tsv", "target_id\n")
    return work, meta


def test_sanity_reports_missing_quant_fastq_and_index(tmp_path: Path, run_step) -> None:
    work, meta = sanity_layout(tmp_path)
    report = tmp_path / "sanity" / "sanity_report.tsv"
    result = run_step("rna.sanity", {"out_dir": str(work)}, inputs={"metadata": meta},
                      outputs={"report": report})
    table = pd.read_csv(report, sep="\t").set_index("run")
    assert list(table["has_quant"]) == ["yes", "no", "yes"]
    assert list(table["has_fastq"]) == ["yes", "yes", "no"]  # R2: private read1_path exists
    assert list(table["has_index"]) == ["yes", "yes", "no"]
    assert (report.parent / "SRA_IDs_without_quant.txt").read_text() == "R2\n"
    assert (report.parent / "SRA_IDs_without_fastq.txt").read_text() == "R3\n"
    assert (report.parent / "species_without_index.txt").read_text() == "Demo_beta\n"
    assert len(result["warnings"]) == 3
    with pytest.raises(StepError, match="runs without quant"):
        run_step("rna.sanity", {"out_dir": str(work), "fail_on_missing": True,
                                "check": ["quant"]},
                 inputs={"metadata": meta}, outputs={"report": report})


def test_sanity_duplicate_runs_are_an_error(tmp_path: Path, run_step) -> None:
    meta = write(tmp_path / "meta.tsv", "run\tscientific_name\nR1\tDemo alpha\nR1\tDemo alpha\n")
    with pytest.raises(StepError, match="duplicate run ids"):
        run_step("rna.sanity", {"out_dir": str(tmp_path)}, inputs={"metadata": meta},
                 outputs={"report": tmp_path / "r.tsv"})
    assert not os.path.exists(tmp_path / "r.tsv")
