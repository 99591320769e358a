"""``epigenome.peaks_overlap``: CpGs inside, near (<= max_distance) or far from peaks, with
``bedtools closest`` (MetaInformAnt's ``integrate_epigenome_results`` categories), and mean β
inside versus outside peaks."""

from __future__ import annotations

import json
from typing import Any

from engine import StepContext, StepError, path_list, single_path, step


@step("epigenome.peaks_overlap", version="1", tools=["bedtools"],
      params={"properties": {
          "max_distance": {"type": "integer", "minimum": 0, "default": 1000,
                           "description": "CpGs at most this far (bp) from a peak are 'near' "
                                          "(MetaInformAnt max_distance_for_integration)."}}},
      inputs={"beta": "epigenome.beta's table",
              "peaks": "peak files (BED, narrowPeak, broadPeak): chrom, start, end first"},
      outputs={"cpgs": "TSV: chrom, pos, mean_beta, distance, category",
               "summary": "JSON: CpGs and mean β per category (.json)"})
def peaks_overlap(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                  context: StepContext) -> dict[str, Any]:
    """Classify every CpG by its distance to the nearest peak (bedtools closest -d)."""
    import numpy as np
    import pandas as pd

    context.require_tool("bedtools")
    table = pd.read_csv(single_path(inputs, "beta"), sep="\t", dtype={"chrom": str})
    samples = [c for c in table.columns if c not in ("chrom", "pos")]
    mean_beta = table[samples].mean(axis=1, skipna=True)
    peak_files = path_list(inputs.get("peaks"))
    if not peak_files:
        raise StepError("no peak file given", hint="set peaks: [file.narrowPeak, ...]")
    out_tsv = single_path(outputs, "cpgs", output=True)
    tmp = context.tmp_dir
    cpg_bed, peak_bed = tmp / "cpgs.bed", tmp / "peaks.bed"
    order = table.sort_values(["chrom", "pos"], kind="stable").index
    pd.DataFrame({"chrom": table.loc[order, "chrom"], "start": table.loc[order, "pos"] - 1,
                  "end": table.loc[order, "pos"], "id": order}).to_csv(
        cpg_bed, sep="\t", header=False, index=False)
    peaks = pd.concat([pd.read_csv(p, sep="\t", header=None, usecols=[0, 1, 2], comment="#",
                                   dtype={0: str}) for p in peak_files])
    peaks = peaks[~peaks[0].str.startswith(("track", "browser"))].sort_values([0, 1])
    peaks.to_csv(peak_bed, sep="\t", header=False, index=False)
    closest = tmp / "closest.tsv"
    context.run(["bedtools", "closest", "-d", "-t", "first", "-a", cpg_bed, "-b", peak_bed],
                stdout=closest)
    hits = pd.read_csv(closest, sep="\t", header=None, dtype={0: str})
    distance = pd.Series(-1, index=table.index)
    distance.loc[hits[3].to_numpy()] = hits[hits.columns[-1]].to_numpy()
    category = np.where(distance == 0, "overlap",
                        np.where((distance > 0) & (distance <= config["max_distance"]), "near",
                                 "far"))
    out = pd.DataFrame({"chrom": table["chrom"], "pos": table["pos"],
                        "mean_beta": mean_beta.round(6), "distance": distance,
                        "category": category})
    out.to_csv(out_tsv, sep="\t", index=False, na_rep="NA")
    summary: dict[str, Any] = {"peaks": len(peaks), "max_distance": config["max_distance"]}
    for name in ("overlap", "near", "far"):
        part = mean_beta[category == name]
        summary[name] = {"cpgs": len(part),
                         "mean_beta": None if part.dropna().empty else round(float(part.mean()), 6)}
    inside, outside = mean_beta[category == "overlap"], mean_beta[category != "overlap"]
    summary["mean_beta_inside_peaks"] = None if inside.dropna().empty else float(inside.mean())
    summary["mean_beta_outside_peaks"] = None if outside.dropna().empty else float(outside.mean())
    single_path(outputs, "summary", output=True).write_text(json.dumps(summary, indent=2) + "\n")
    return {"status": "completed",
            "output": {k: summary[k] for k in ("peaks", "mean_beta_inside_peaks",
                                               "mean_beta_outside_peaks")}
            | {f"cpgs_{k}": summary[k]["cpgs"] for k in ("overlap", "near", "far")},
            "warnings": [], "metadata": {}}
