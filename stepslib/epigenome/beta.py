"""``epigenome.beta`` (β = M / N per CpG and sample, per-sample bedGraph) and
``epigenome.summarize`` (per-chromosome mean, std, min, max, count: MetaInformAnt's
``chromosome_summary.tsv``)."""

from __future__ import annotations

from typing import Any

from engine import StepContext, single_path, step
from stepslib.epigenome import store


def beta_matrix(counts: store.Counts) -> Any:
    """β = M / N; NaN (not 0, as MetaInformAnt gives) where a sample has no reads."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts.n > 0, counts.m / np.where(counts.n > 0, counts.n, 1), np.nan)


@step("epigenome.beta", version="1",
      inputs={"counts": "count store (epigenome.qc or epigenome.load)"},
      outputs={"beta": "TSV: chrom, pos, one β column per sample (NA: no reads)",
               "bedgraph": "folder of <sample>.bedGraph (0-based start, β in 0..1)"})
def beta(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """β = methylated / total reads per CpG and sample, NaN at zero coverage."""
    import numpy as np
    import pandas as pd

    counts = store.read_counts_store(single_path(inputs, "counts"))
    values = beta_matrix(counts)
    table = pd.DataFrame(values, columns=counts.samples)
    table.insert(0, "pos", counts.pos)
    table.insert(0, "chrom", counts.chrom)
    table.to_csv(single_path(outputs, "beta", output=True), sep="\t", index=False,
                 na_rep="NA", float_format="%.6g")
    folder = single_path(outputs, "bedgraph", output=True)
    folder.mkdir(parents=True, exist_ok=True)
    for k, sample in enumerate(counts.samples):
        has = ~np.isnan(values[:, k])
        track = pd.DataFrame({"chrom": counts.chrom[has], "start": counts.pos[has] - 1,
                              "end": counts.pos[has], "beta": values[has, k]})
        with open(folder / f"{sample}.bedGraph", "w") as handle:
            handle.write(f'track type=bedGraph name="{sample}" description="beta"\n')
            track.to_csv(handle, sep="\t", index=False, header=False, float_format="%.6g")
    means = {s: (round(float(np.nanmean(values[:, k])), 6) if (~np.isnan(values[:, k])).any()
                 else None) for k, s in enumerate(counts.samples)}
    return {"status": "completed",
            "output": {"cpgs": len(counts.pos), "mean_beta": means,
                       "missing_values": int(np.isnan(values).sum())},
            "warnings": [], "metadata": {}}


@step("epigenome.summarize", version="1",
      inputs={"beta": "epigenome.beta's table"},
      outputs={"summary": "TSV: sample, chromosome, mean, std, min, max, count"})
def summarize(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Per sample and chromosome: mean, std (n - 1), min, max and count of non-missing β."""
    import pandas as pd

    table = pd.read_csv(single_path(inputs, "beta"), sep="\t", dtype={"chrom": str})
    long = table.melt(id_vars=["chrom", "pos"], var_name="sample", value_name="beta").dropna()
    summary = (long.groupby(["sample", "chrom"], sort=True)["beta"]
               .agg(["mean", "std", "min", "max", "count"]).reset_index()
               .rename(columns={"chrom": "chromosome"}))
    summary.to_csv(single_path(outputs, "summary", output=True), sep="\t", index=False,
                   na_rep="NA", float_format="%.6g")
    return {"status": "completed",
            "output": {"chromosomes": int(summary["chromosome"].nunique()),
                       "rows": len(summary)},
            "warnings": [], "metadata": {}}
