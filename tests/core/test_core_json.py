"""core.json_to_table: selected values from JSON reports; checked against a real fastp run."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from engine import StepError

REPORT = {
    "summary": {"before_filtering": {"total_reads": 600, "q30_rate": 0.9},
                "after_filtering": {"total_reads": 540, "gc_content": 0.5}},
    "filtering_result": {"passed_filter_reads": 540, "low_quality_reads": 60},
    "duplication": {"rate": 0.0},
    "adapter_cutting": {"adapter_trimmed_reads": 3},
    "read1_after_filtering": {"quality_curves": {"mean": [30.5, 31.0]}},
    "command": "fastp -i a.fq",
    "ok": True,
}


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_fields_mapping_with_constants(tmp_path, run_step):
    report = write_json(tmp_path / "s1.fastp.json", REPORT)
    out = tmp_path / "s1.tsv"
    run_step("core.json_to_table",
             {"constants": {"sample": "s1", "lane": 2},
              "fields": {"reads": "summary.before_filtering.total_reads",
                         "passed": "filtering_result.passed_filter_reads",
                         "mean_q_first": "read1_after_filtering.quality_curves.mean.0",
                         "ok": "ok"}},
             inputs={"reports": report}, outputs={"table": out})
    assert out.read_text().splitlines() == ["sample\tlane\treads\tpassed\tmean_q_first\tok",
                                            "s1\t2\t600\t540\t30.5\ttrue"]


def test_list_of_paths_one_row_per_file_and_csv(tmp_path, run_step):
    a = write_json(tmp_path / "a.json", REPORT)
    other = {**REPORT, "duplication": {"rate": 0.25}}
    b = write_json(tmp_path / "b.json", other)
    out = tmp_path / "t.csv"
    run_step("core.json_to_table", {"fields": ["duplication.rate"], "source_column": "file"},
             inputs={"reports": [a, b]}, outputs={"table": out})
    assert out.read_text() == "file,duplication.rate\na,0.0\nb,0.25\n"


def test_all_scalars_when_no_fields(tmp_path, run_step):
    report = write_json(tmp_path / "r.json", REPORT)
    out = tmp_path / "t.tsv"
    run_step("core.json_to_table", inputs={"reports": report}, outputs={"table": out})
    header, row = out.read_text().splitlines()
    columns = header.split("\t")
    assert "summary.after_filtering.gc_content" in columns and "command" in columns
    assert not any("quality_curves" in c for c in columns)  # lists are skipped
    assert dict(zip(columns, row.split("\t")))["filtering_result.low_quality_reads"] == "60"


def test_missing_and_non_scalar_paths(tmp_path, run_step):
    report = write_json(tmp_path / "r.json", REPORT)
    out = tmp_path / "t.tsv"
    with pytest.raises(StepError, match=r"no 'summary\.after_filtering\.total_read' "
                                        r"\('total_read' not found\); keys at "
                                        r"summary\.after_filtering: total_reads, gc_content"):
        run_step("core.json_to_table", {"fields": ["summary.after_filtering.total_read"]},
                 inputs={"reports": report}, outputs={"table": out})
    with pytest.raises(StepError, match=r"'summary' in .* is a dict, not a single value"):
        run_step("core.json_to_table", {"fields": ["summary"]}, inputs={"reports": report},
                 outputs={"table": out})
    with pytest.raises(StepError, match="is a list of 2 item"):
        run_step("core.json_to_table",
                 {"fields": ["read1_after_filtering.quality_curves.mean.5"]},
                 inputs={"reports": report}, outputs={"table": out})
    run_step("core.json_to_table", {"fields": {"x": "nope.deeper", "ok": "ok"},
                                    "missing": "empty"},
             inputs={"reports": report}, outputs={"table": out})
    assert out.read_text() == "x\tok\n\ttrue\n"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StepError, match="is not valid JSON"):
        run_step("core.json_to_table", inputs={"reports": bad}, outputs={"table": out})


@pytest.mark.tools
@pytest.mark.skipif(shutil.which("fastp") is None, reason="fastp is not installed")
def test_fastp_report_counts_match_the_reads_written(tmp_path, run_step):
    """Read counts taken from a real fastp JSON equal the reads in fastp's own FASTQ output."""
    rng = random.Random(7)
    for mate in ("1", "2"):
        with gzip.open(tmp_path / f"in_R{mate}.fq.gz", "wt") as handle:
            for i in range(200):
                seq = "".join(rng.choice("ACGT") for _ in range(60))
                quality = "I" * 60 if i % 4 else "#" * 60  # every 4th pair is junk quality
                handle.write(f"@r{i}/{mate}\n{seq}\n+\n{quality}\n")
    report = tmp_path / "fastp.json"
    argv = ["fastp", "-i", "in_R1.fq.gz", "-I", "in_R2.fq.gz", "-o", "out_R1.fq.gz",
            "-O", "out_R2.fq.gz", "-j", report.name, "-h", "fastp.html", "-w", "1"]
    subprocess.run(argv, cwd=tmp_path, check=True, capture_output=True)
    out = tmp_path / "qc.tsv"
    run_step("core.json_to_table",
             {"constants": {"sample": "s1"},
              "fields": {"reads": "summary.before_filtering.total_reads",
                         "passed": "filtering_result.passed_filter_reads"}},
             inputs={"reports": report}, outputs={"table": out})
    header, row = out.read_text().splitlines()
    values = dict(zip(header.split("\t"), row.split("\t")))
    written = 0
    for mate in ("1", "2"):
        with gzip.open(tmp_path / f"out_R{mate}.fq.gz", "rt") as handle:
            written += sum(1 for _ in handle) // 4
    assert values == {"sample": "s1", "reads": "400", "passed": str(written)}
    assert written == 300  # the 50 junk pairs are dropped
