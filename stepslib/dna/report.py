"""``dna.report``: depth and QUAL plots and ``workflow_summary.json`` of the variants workflow."""

from __future__ import annotations

import json
from typing import Any

from engine import StepContext, require_tool, single_path, step
from stepslib.dna._tools import capture, result


@step(
    "dna.report",
    version="2",
    tools=["bcftools"],
    params={"properties": {
        "min_qual": {"type": "number", "default": 20, "description": "the QUAL filter (drawn)"},
        "assembly": {"type": ["string", "null"], "default": None, "description": "label"},
    }},
    inputs={"bamqc": "dna.bamqc's table", "depth": "dna.bamqc's binned depth",
            "raw_vcf": "raw calls", "vcf": "final calls", "per_sample": "dna.stats' table",
            "stats": "bcftools stats output"},
    outputs={"depth_plot": {"description": "depth along the genome", "suffixes": [".png"]},
             "qual_plot": {"description": "QUAL of raw calls, filter line", "suffixes": [".png"]},
             "summary": {"description": "workflow_summary.json", "suffixes": [".json"]}},
)
def report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Plots and one JSON summary: per-sample QC, call counts, Ts/Tv, where the files are."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from stepslib.dna.vcfstats import parse_stats

    bcftools = require_tool("bcftools")
    qc = pd.read_csv(single_path(inputs, "bamqc"), sep="\t")
    depth = pd.read_csv(single_path(inputs, "depth"), sep="\t")
    per_sample = pd.read_csv(single_path(inputs, "per_sample"), sep="\t")
    summary_stats, _ = parse_stats(single_path(inputs, "stats").read_text())
    figure, axis = plt.subplots(figsize=(10, 3.5))
    colours = {sample: f"C{number % 10}" for number, sample in enumerate(qc["sample"].astype(str))}
    window = int(depth["window_start"].diff().where(lambda d: d > 0).min() or 1)
    offset = 0
    for _chrom, block in depth.groupby("chrom", sort=False):
        for sample, colour in colours.items():
            axis.plot(block["window_start"] + offset, block[sample], lw=1, color=colour,
                      label=sample if offset == 0 else None)
        offset += int(block["window_start"].max()) + window - 1
        axis.axvline(offset, color="grey", lw=0.5)
    axis.set(xlabel="position (contigs concatenated)", ylabel="mean depth", title="Read depth")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(single_path(outputs, "depth_plot", output=True), dpi=100)
    plt.close(figure)
    quals = [float(q) for q in capture(context, [bcftools, "query", "-f", "%QUAL\n",
                                                 single_path(inputs, "raw_vcf")]).split()
             if q != "."]
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.hist(quals, bins=40, color="steelblue")
    axis.axvline(config["min_qual"], color="red", lw=1, label=f"QUAL >= {config['min_qual']}")
    axis.set(xlabel="QUAL (raw calls)", ylabel="records", title="Call quality")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(single_path(outputs, "qual_plot", output=True), dpi=100)
    plt.close(figure)
    document = {
        "assembly": config["assembly"],
        "samples": qc.to_dict(orient="records"),
        "calls": {"records": int(summary_stats.get("records", 0)),
                  "snps": int(summary_stats.get("SNPs", 0)),
                  "indels": int(summary_stats.get("indels", 0)),
                  "ts_tv": summary_stats.get("ts_tv"),
                  "raw_records": len(quals),
                  "per_sample": dict(zip(per_sample["sample"].astype(str),
                                         per_sample["n_variants"].astype(int).tolist()))},
        "vcf": str(single_path(inputs, "vcf")),
    }
    single_path(outputs, "summary", output=True).write_text(json.dumps(document, indent=2) + "\n")
    return result({"records": document["calls"]["records"], "ts_tv": document["calls"]["ts_tv"],
                   "mean_depth": dict(zip(qc["sample"].astype(str), qc["mean_depth"]))})
