"""``dna.bamqc``: samtools flagstat / stats / depth of every sample, one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, require_tool, single_path, step
from stepslib.dna._tools import capture, paths, result

FLAGSTAT_FIELDS = {  # samtools flagstat -O tsv description -> our column
    "total (QC-passed reads + QC-failed reads)": "total",
    "primary": "primary",
    "secondary": "secondary",
    "supplementary": "supplementary",
    "duplicates": "duplicates",
    "mapped": "mapped",
    "properly paired": "properly_paired",
    "singletons": "singletons",
}
STATS_FIELDS = {"insert size average": "insert_size_mean", "error rate": "error_rate",
                "average length": "read_length_mean", "average quality": "base_quality_mean"}


@step(
    "dna.bamqc",
    version="1",
    tools=["samtools"],
    params={"properties": {
        "window": {"type": "integer", "minimum": 1, "default": 500,
                   "description": "window (bp) of the binned depth table the report plots"},
        "min_depth": {"type": "integer", "minimum": 1, "default": 10,
                      "description": "breadth is also reported at this depth"},
    }},
    inputs={"bams": "duplicate-marked BAMs, one per sample", "bais": "their indexes"},
    outputs={"table": {"description": "one row per sample", "suffixes": [".tsv"]},
             "depth": {"description": "mean depth per window and sample", "suffixes": [".tsv"]}},
)
def bamqc(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """Reads, mapped, properly paired, duplicates (flagstat); insert size and error rate
    (stats); mean depth and breadth over every reference base, zero-depth included (depth -a)."""
    import pandas as pd

    samtools = require_tool("samtools")
    bams = paths(inputs, "bams")
    names = [_sample_name(context, samtools, bam) for bam in bams]
    if len(set(names)) != len(names):
        raise StepError(f"two BAMs have the same sample name (read group SM): {names}")
    rows: list[dict[str, Any]] = [
        {"sample": name, **_flagstat(context, samtools, bam), **_stats(context, samtools, bam)}
        for name, bam in zip(names, bams)]
    depth_text = capture(context, [samtools, "depth", "-a", *bams])
    depth = pd.read_csv(_text_io(depth_text), sep="\t", header=None,
                        names=["chrom", "pos", *names])
    for row in rows:
        column = depth[row["sample"]]
        row["mean_depth"] = round(float(column.mean()), 3)
        row["breadth_1x"] = round(float((column >= 1).mean()), 4)
        row[f"breadth_{config['min_depth']}x"] = round(float((column >= config["min_depth"]).mean()), 4)
        row["mapped_fraction"] = round(row["mapped"] / row["total"], 4) if row["total"] else 0.0
    table = pd.DataFrame(rows)
    table.to_csv(single_path(outputs, "table", output=True), sep="\t", index=False)
    depth["window_start"] = (depth["pos"] - 1) // config["window"] * config["window"] + 1
    binned = depth.groupby(["chrom", "window_start"], sort=False)[names].mean().round(3)
    binned.reset_index().to_csv(single_path(outputs, "depth", output=True), sep="\t", index=False)
    warnings = [f"{r['sample']}: mean depth {r['mean_depth']} < 5" for r in rows
                if r["mean_depth"] < 5]
    return result({"n_samples": len(rows),
                   "mean_depth": {r["sample"]: r["mean_depth"] for r in rows},
                   "mapped_fraction": {r["sample"]: r["mapped_fraction"] for r in rows}},
                  warnings)


def _text_io(text: str) -> Any:
    import io

    return io.StringIO(text)


def _sample_name(context: StepContext, samtools: str, bam: Path) -> str:
    """The SM of the BAM's read group (what the callers name the VCF's sample columns)."""
    for line in capture(context, [samtools, "view", "-H", bam]).splitlines():
        if line.startswith("@RG"):
            for field in line.split("\t"):
                if field.startswith("SM:"):
                    return field[3:]
    raise StepError(f"{bam} has no read group with a sample name (@RG SM:)",
                    hint="align with dna.align, which adds the read group")


def _flagstat(context: StepContext, samtools: str, bam: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in capture(context, [samtools, "flagstat", "-O", "tsv", bam]).splitlines():
        passed, _failed, what = line.split("\t")
        if what in FLAGSTAT_FIELDS:
            values[FLAGSTAT_FIELDS[what]] = int(passed)
    return values


def _stats(context: StepContext, samtools: str, bam: Path) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in capture(context, [samtools, "stats", bam]).splitlines():
        if line.startswith("SN\t"):
            what, value = line.split("\t")[1].rstrip(":"), line.split("\t")[2]
            if what in STATS_FIELDS:
                values[STATS_FIELDS[what]] = float(value)
    return values
