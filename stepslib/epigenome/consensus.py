"""``epigenome.consensus`` (peaks shared by replicates, bedtools merge) and
``epigenome.chipseq_report`` (peaks, FRiP and alignment per sample; plot and JSON)."""

from __future__ import annotations

import json
from typing import Any

from engine import StepContext, StepError, path_list, single_path, step


@step("epigenome.consensus", version="1", tools=["bedtools"],
      params={"properties": {"min_samples": {
          "type": "integer", "minimum": 1, "default": 2,
          "description": "Keep merged peaks found in at least this many samples (capped at the "
                         "number of samples)."}}},
      inputs={"peaks": "per-sample peak files (the sample is the file's folder name)"},
      outputs={"consensus": "BED: chrom, start, end, name, samples (.bed)"})
def consensus(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Merge every sample's peaks (bedtools merge, overlapping or touching) and keep those
    supported by enough samples."""
    import pandas as pd

    context.require_tool("bedtools")
    files = path_list(inputs.get("peaks"))
    if not files:
        raise StepError("no peak files", hint="run epigenome.macs2 first")
    frames = []
    for path in files:
        table = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], dtype={0: str})
        frames.append(table.assign(sample=path.parent.name))
    allpeaks = pd.concat(frames).sort_values([0, 1], kind="stable")
    joined = context.tmp_dir / "all.bed"
    allpeaks.to_csv(joined, sep="\t", header=False, index=False)
    merged_path = context.tmp_dir / "merged.bed"
    context.run(["bedtools", "merge", "-i", joined, "-c", "4", "-o", "count_distinct"],
                stdout=merged_path)
    merged = pd.read_csv(merged_path, sep="\t", header=None, names=["chrom", "start", "end", "n"],
                         dtype={"chrom": str})
    need = min(config["min_samples"], len(files))
    kept = merged[merged["n"] >= need].reset_index(drop=True)
    kept.insert(3, "name", [f"consensus_{k + 1}" for k in range(len(kept))])
    kept.to_csv(single_path(outputs, "consensus", output=True), sep="\t", header=False,
                index=False)
    return {"status": "completed",
            "output": {"consensus_peaks": len(kept), "merged_peaks": len(merged),
                       "samples": len(files), "min_samples": need},
            "warnings": [] if len(kept) else ["no peak shared by enough samples"],
            "metadata": {}}


@step("epigenome.chipseq_report", version="1",
      inputs={"frip": "per-sample FRiP tables (sample = folder name)",
              "flagstat": "per-sample samtools flagstat (sample = folder name)",
              "peaks": "per-sample peak files", "consensus": "consensus peaks"},
      outputs={"plot": {"description": "FRiP and peaks per sample", "suffixes": [".png", ".svg"]},
               "summary": "workflow_summary.json"})
def chipseq_report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                   context: StepContext) -> dict[str, Any]:
    """Per sample: reads, mapped, duplicates, peaks, FRiP; consensus peak count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from stepslib.epigenome.chipseq import _flagstat

    samples: dict[str, dict[str, Any]] = {}
    for path in path_list(inputs.get("flagstat")):
        samples.setdefault(path.parent.name, {}).update(_flagstat(path.read_text()))
    for path in path_list(inputs.get("frip")):
        row = pd.read_csv(path, sep="\t").iloc[0]
        samples.setdefault(path.parent.name, {})["frip"] = float(row["frip"])
    for path in path_list(inputs.get("peaks")):
        with open(path) as handle:
            samples.setdefault(path.parent.name, {})["peaks"] = sum(1 for _ in handle)
    with open(single_path(inputs, "consensus")) as handle:
        n_consensus = sum(1 for _ in handle)
    chip = {s: v for s, v in samples.items() if "frip" in v}
    fig, axes = plt.subplots(1, 2, figsize=(7, 3))
    axes[0].bar(list(chip), [v["frip"] for v in chip.values()], color="#4477aa")
    axes[0].set_ylabel("FRiP")
    axes[1].bar(list(chip), [v.get("peaks", 0) for v in chip.values()], color="#228833")
    axes[1].set_ylabel("peaks")
    fig.tight_layout()
    fig.savefig(single_path(outputs, "plot", output=True), dpi=100)
    plt.close(fig)
    summary = {"samples": samples, "consensus_peaks": n_consensus}
    single_path(outputs, "summary", output=True).write_text(json.dumps(summary, indent=2) + "\n")
    return {"status": "completed",
            "output": {"consensus_peaks": n_consensus,
                       "frip": {s: round(v["frip"], 4) for s, v in chip.items()}},
            "warnings": [], "metadata": {}}
