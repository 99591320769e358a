"""``epigenome.qc``: bisulfite conversion from control contigs, coverage filter, CpGs covered in
enough samples of every group."""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.epigenome import store

PARAMS = {"properties": {
    "min_coverage": {"type": "integer", "minimum": 1, "default": 5,
                     "description": "A sample's CpG counts only with at least this many reads "
                                    "(fewer: set to 0 reads, so β is NaN there)."},
    "min_samples_per_group": {"type": "integer", "minimum": 1, "default": 1,
                              "description": "Keep a CpG covered in at least this many samples "
                                             "of every group (capped at the group's size)."},
    "conversion_contigs": {"type": "array", "items": {"type": "string"},
                           "default": ["lambda", "J02459.1", "chrM", "MT", "chrL"],
                           "description": "Unmethylated control contigs: the conversion rate is "
                                          "1 - methylated/total there; removed afterwards."},
}}


@step("epigenome.qc", params=PARAMS, version="1",
      inputs={"counts": "epigenome.load's count store", "samples": "epigenome.load's samples"},
      outputs={"counts": "filtered count store", "samples": "per-sample QC table",
               "summary": "TSV: filter, CpGs removed, kept"})
def qc(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
       context: StepContext) -> dict[str, Any]:
    """Conversion rate per sample on control contigs, then the coverage filters."""
    import numpy as np
    import pandas as pd

    counts = store.read_counts_store(single_path(inputs, "counts"))
    samples = store.read_samples(single_path(inputs, "samples"))
    control = np.isin(counts.chrom, config["conversion_contigs"])
    warnings = []
    conv = np.full(len(counts.samples), np.nan)
    if control.any():
        total = counts.n[control].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            conv = 1.0 - counts.m[control].sum(axis=0) / total
        low = [s for s, c in zip(counts.samples, conv, strict=True) if c < 0.98]
        if low:
            warnings.append(f"bisulfite conversion below 98% in {', '.join(low)}")
    cpg = counts.subset(~control)
    if len(cpg.pos) == 0:
        raise StepError("no CpG outside the control contigs", hint="check conversion_contigs")
    low_cov = cpg.n < config["min_coverage"]
    cpg.m[low_cov] = 0
    cpg.n[low_cov] = 0
    covered = ~low_cov
    by_sample = dict(zip(samples["sample"], samples["group"], strict=True))
    keep = np.ones(len(cpg.pos), dtype=bool)
    for group in sorted(set(by_sample.values())):
        cols = [k for k, s in enumerate(cpg.samples) if by_sample[s] == group]
        need = min(config["min_samples_per_group"], len(cols))
        keep &= covered[:, cols].sum(axis=1) >= need
    if not keep.any():
        median = float(np.median(counts.n[~control][counts.n[~control] > 0])) \
            if (counts.n[~control] > 0).any() else 0.0
        raise StepError(f"no CpG has {config['min_coverage']}+ reads in enough samples of every "
                        f"group (median coverage of covered CpGs: {median:g})",
                        hint="lower min_coverage (min_methylation_coverage) or "
                             "min_samples_per_group")
    kept = cpg.subset(keep)
    store.write_counts(kept, single_path(outputs, "counts", output=True))
    samples = samples.assign(conversion_rate=np.round(conv, 5),
                             cpgs_passing=covered.sum(axis=0),
                             mean_coverage_kept=np.round(kept.n.mean(axis=0), 3))
    samples.to_csv(single_path(outputs, "samples", output=True), sep="\t", index=False,
                   na_rep="NA")
    summary = pd.DataFrame({
        "filter": ["control_contigs", "min_coverage_in_groups", "kept"],
        "cpgs": [int(control.sum()), int((~keep).sum()), int(keep.sum())]})
    summary.to_csv(single_path(outputs, "summary", output=True), sep="\t", index=False)
    for w in warnings:
        context.log.warning(w)
    return {"status": "completed",
            "output": {"cpgs_kept": int(keep.sum()), "cpgs_removed": int((~keep).sum()),
                       "control_cpgs": int(control.sum()),
                       "conversion_rate": {s: (None if np.isnan(c) else round(float(c), 5))
                                           for s, c in zip(counts.samples, conv, strict=True)}},
            "warnings": warnings, "metadata": {"min_coverage": config["min_coverage"]}}
