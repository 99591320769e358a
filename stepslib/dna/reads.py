"""Per-sample read steps: the sample table, fastp, alignment (bwa mem / minimap2), duplicates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, require_tool, require_tools, single_path, step
from stepslib.dna._tools import paths, pipe, result

SAMPLE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@step(
    "dna.samples",
    version="1",
    params={"properties": {
        "reads_glob": {"type": ["string", "null"], "default": None,
                       "description": "instead of a sheet: a glob with {sample} and {read} "
                                      "(1 or 2), e.g. /data/{sample}_R{read}.fastq.gz"},
        "reads_dir": {"type": ["string", "null"], "default": None,
                      "description": "folder that relative FASTQ paths of the sheet are in "
                                     "(default: the sheet's folder)"},
    }},
    inputs={"sheet": {"description": "TSV: sample, fastq_1[, fastq_2]; [] with reads_glob",
                      "required": False}},
    outputs={"table": {"description": "TSV sample, read1, read2 (absolute paths)",
                       "suffixes": [".tsv"]}},
)
def samples(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """One row per sample with absolute FASTQ paths, from a sample sheet or a FASTQ glob."""
    sheet = optional_path(inputs, "sheet")
    if config["reads_glob"]:
        rows = _from_glob(config["reads_glob"])
    elif sheet is not None:
        rows = _from_sheet(sheet, Path(config["reads_dir"]) if config["reads_dir"] else sheet.parent)
    else:
        raise StepError("no samples: give sample_sheet (TSV sample, fastq_1, fastq_2) or reads_glob")
    for name, read1, read2 in rows:
        if not SAMPLE_NAME.match(name):
            raise StepError(f"sample name '{name}' has characters other than letters, digits, "
                            "'.', '_' and '-'", hint="rename it in the sample sheet")
        for path in (read1, read2):
            if path and not Path(path).is_file():
                raise StepError(f"FASTQ of sample {name} not found: {path}")
    table = single_path(outputs, "table", output=True)
    table.write_text("sample\tread1\tread2\n" + "".join(f"{n}\t{a}\t{b}\n" for n, a, b in rows))
    paired = sum(1 for _n, _a, b in rows if b)
    return result({"n_samples": len(rows), "n_paired": paired}, samples=[r[0] for r in rows])


def _from_sheet(sheet: Path, base: Path) -> list[tuple[str, str, str]]:
    import pandas as pd

    frame = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
    missing = {"sample", "fastq_1"} - set(frame.columns)
    if missing:
        raise StepError(f"sample sheet {sheet} has no column(s) {sorted(missing)}",
                        hint="columns: sample, fastq_1, fastq_2 (fastq_2 empty for single-end)")
    if frame["sample"].duplicated().any():
        raise StepError(f"sample sheet {sheet} names a sample twice: "
                        f"{sorted(set(frame['sample'][frame['sample'].duplicated()]))}")

    def where(path: str) -> str:
        return str((base / path).resolve()) if path else ""

    return [(row["sample"], where(row["fastq_1"]), where(row.get("fastq_2", "")))
            for _, row in frame.iterrows()]


def _from_glob(pattern: str) -> list[tuple[str, str, str]]:
    import glob

    if "{sample}" not in pattern:
        raise StepError(f"reads_glob '{pattern}' has no {{sample}}",
                        hint="e.g. /data/{sample}_R{read}.fastq.gz")
    regex = re.compile("^" + re.escape(pattern).replace(r"\{sample\}", "(?P<sample>[^/]+?)")
                       .replace(r"\{read\}", "(?P<read>[12])") + "$")
    found: dict[str, dict[str, str]] = {}
    for path in sorted(glob.glob(pattern.replace("{sample}", "*").replace("{read}", "*"))):
        match = regex.match(path)
        if match:
            read = match.groupdict().get("read") or "1"
            found.setdefault(match["sample"], {})[read] = str(Path(path).resolve())
    if not found:
        raise StepError(f"no FASTQ file matches reads_glob '{pattern}'")
    return [(name, reads.get("1", ""), reads.get("2", "")) for name, reads in sorted(found.items())]


@step(
    "dna.qc_trim",
    version="1",
    tools=["fastp"],
    params={"properties": {
        "sample": {"type": "string", "description": "sample name"},
        "min_length": {"type": "integer", "minimum": 1, "default": 36,
                       "description": "fastp --length_required"},
        "qualified_quality": {"type": "integer", "minimum": 0, "default": 15,
                              "description": "fastp --qualified_quality_phred"},
    }, "required": ["sample"]},
    inputs={"reads": "FASTQ: [read1] or [read1, read2]"},
    outputs={"reads": "trimmed FASTQ, as many as the inputs",
             "json": {"description": "fastp's JSON report", "suffixes": [".json"]},
             "html": {"description": "fastp's HTML report", "suffixes": [".html"]}},
)
def qc_trim(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """fastp: adapter and quality trimming of one sample's reads."""
    fastp = require_tool("fastp")
    reads_in, reads_out = paths(inputs, "reads"), paths(outputs, "reads", output=True)
    if len(reads_in) not in (1, 2) or len(reads_out) != len(reads_in):
        raise StepError(f"qc_trim takes 1 or 2 FASTQ and writes as many; got {len(reads_in)} "
                        f"in, {len(reads_out)} out")
    argv: list[str | Path] = [fastp, "-i", reads_in[0], "-o", reads_out[0]]
    if len(reads_in) == 2:
        argv += ["-I", reads_in[1], "-O", reads_out[1], "--detect_adapter_for_pe"]
    report = single_path(outputs, "json", output=True)
    argv += ["-j", report, "-h", single_path(outputs, "html", output=True),
             "-l", str(config["min_length"]), "-q", str(config["qualified_quality"]),
             "-w", str(max(1, context.threads)), "-R", f"fastp {config['sample']}"]
    context.run(argv)
    summary = json.loads(report.read_text())["summary"]
    before, after = summary["before_filtering"], summary["after_filtering"]
    kept = after["total_reads"] / before["total_reads"] if before["total_reads"] else 0.0
    return result({"reads_in": before["total_reads"], "reads_out": after["total_reads"],
                   "fraction_kept": round(kept, 4), "q30_rate": after.get("q30_rate")},
                  sample=config["sample"])


@step(
    "dna.align",
    version="1",
    tools=["bwa", "minimap2", "samtools"],
    params={"properties": {
        "sample": {"type": "string", "description": "sample name (read group ID and SM)"},
        "aligner": {"enum": ["bwa", "minimap2"], "default": "bwa",
                    "description": "bwa mem for short reads; minimap2 (-x preset) for long reads"},
        "minimap2_preset": {"type": "string", "default": "map-ont",
                            "description": "minimap2 -x preset (map-ont, map-pb, map-hifi, sr)"},
        "platform": {"type": "string", "default": "ILLUMINA", "description": "read group PL"},
    }, "required": ["sample"]},
    inputs={"reference": "the indexed reference FASTA (dna.reference's fasta output)",
            "index": {"description": "the bwa index files (for the dependency)", "required": False},
            "reads": "trimmed FASTQ: [read1] or [read1, read2]"},
    outputs={"bam": {"description": "coordinate-sorted BAM with the read group", "suffixes": [".bam"]}},
)
def align(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """``bwa mem -R @RG ... | samtools sort`` (or minimap2 -a) of one sample."""
    sample = config["sample"]
    aligner = config["aligner"]
    tools = require_tools(aligner, "samtools")
    reference = single_path(inputs, "reference")
    reads = paths(inputs, "reads")
    bam = single_path(outputs, "bam", output=True)
    group = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:{config['platform']}"
    threads = str(max(1, context.threads))
    if aligner == "bwa":
        mapper: list[str | Path] = [tools["bwa"], "mem", "-t", threads, "-R", group, reference, *reads]
    else:
        mapper = [tools["minimap2"], "-a", "-x", config["minimap2_preset"], "-t", threads,
                  "-R", group, reference, *reads]
    pipe(context, [mapper, [tools["samtools"], "sort", "-@", threads, "-T",
                            str(Path(context.tmp_dir) / "sort"), "-o", bam, "-"]])
    return result({"aligner": aligner, "bam_bytes": bam.stat().st_size}, sample=sample)


@step(
    "dna.markdup",
    version="1",
    tools=["samtools"],
    params={"properties": {"sample": {"type": "string", "description": "sample name"}},
            "required": ["sample"]},
    inputs={"bam": "coordinate-sorted BAM"},
    outputs={"bam": {"description": "BAM with duplicates marked", "suffixes": [".bam"]},
             "bai": {"description": "its index", "suffixes": [".bai"]},
             "metrics": {"description": "samtools markdup -s statistics", "suffixes": [".txt"]}},
)
def markdup(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """``samtools collate | fixmate -m | sort | markdup``, then ``samtools index``."""
    samtools = require_tool("samtools")
    source = single_path(inputs, "bam")
    bam, bai = single_path(outputs, "bam", output=True), single_path(outputs, "bai", output=True)
    if bai != bam.with_name(bam.name + ".bai"):
        raise StepError(f"the bai output must be {bam.name}.bai (where samtools writes it)")
    metrics = single_path(outputs, "metrics", output=True)
    tmp = Path(context.tmp_dir)
    pipe(context, [[samtools, "collate", "-O", "-u", source, str(tmp / "collate")],
                   [samtools, "fixmate", "-m", "-u", "-", "-"],
                   [samtools, "sort", "-u", "-T", str(tmp / "sort"), "-"],
                   [samtools, "markdup", "-s", "-f", metrics, "-", bam]])
    context.run([samtools, "index", bam])
    stats = _markdup_stats(metrics.read_text())
    return result(stats, sample=config["sample"])


def _markdup_stats(text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("READ", "DUPLICATE TOTAL", "DUPLICATE PAIR", "DUPLICATE SINGLE"):
            values[key.strip().lower().replace(" ", "_")] = int(value.strip())
    if values.get("read"):
        values["duplicate_fraction"] = round(values.get("duplicate_total", 0) / values["read"], 4)
    return values
