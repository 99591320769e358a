"""``epigenome.dml`` (per-CpG test, the DSS model) and ``epigenome.dmr`` (DSS callDMR rules)."""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.epigenome import store

DML_PARAMS = {"properties": {
    "groups": {"type": ["array", "null"], "items": {"type": "string"}, "minItems": 2,
               "maxItems": 2, "default": None,
               "description": "[group1, group2] to compare (diff = group1 - group2); null: the "
                              "sheet's two groups in order of appearance."},
    "p_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 0.001,
                    "description": "DSS callDML p.threshold: CpGs reported as DMLs."},
    "delta": {"type": "number", "minimum": 0, "default": 0.1,
              "description": "DSS callDML delta: with delta > 0 a DML needs P(|diff| > delta) "
                             "> 1 - p_threshold (DSS's default 0.1); 0 uses the p-value."},
}}


def _two_groups(samples: Any, wanted: list[str] | None) -> tuple[str, str]:
    present = list(dict.fromkeys(samples["group"]))
    groups = wanted if wanted else present
    if len(groups) != 2 or any(g not in present for g in groups):
        raise StepError(f"the test compares two groups; the samples have {present}",
                        hint="set steps.dml.groups: [group1, group2]")
    return groups[0], groups[1]


@step("epigenome.dml", params=DML_PARAMS, version="1",
      inputs={"counts": "count store (epigenome.qc)", "samples": "sample sheet table"},
      outputs={"dml": "TSV: chrom, pos, mu1, mu2, diff, diff_se, stat, phi1, phi2, pval, fdr",
               "hits": "TSV: the DMLs (callDML), most significant first"})
def dml(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
        context: StepContext) -> dict[str, Any]:
    """Differential methylation per CpG between two groups: DSS's beta-binomial model with
    dispersion shrinkage and Wald test (DMLtest(smoothing = FALSE)), then callDML."""
    import numpy as np
    import pandas as pd

    from stepslib.epigenome import dss

    counts = store.read_counts_store(single_path(inputs, "counts"))
    samples = store.read_samples(single_path(inputs, "samples"))
    g1, g2 = _two_groups(samples, config["groups"])
    names1 = [s for s, g in zip(samples["sample"], samples["group"], strict=True) if g == g1]
    names2 = [s for s, g in zip(samples["sample"], samples["group"], strict=True) if g == g2]
    if len(names1) < 2 or len(names2) < 2:
        raise StepError(f"groups '{g1}' ({len(names1)}) and '{g2}' ({len(names2)}) need two or "
                        "more replicates each for DSS without smoothing",
                        hint="add replicates (DSS's single-replicate mode needs smoothing)")
    m1, n1 = counts.columns(names1)
    m2, n2 = counts.columns(names2)
    keep = dss.has_coverage(counts.chrom, counts.pos, n1) & \
        dss.has_coverage(counts.chrom, counts.pos, n2)
    result = dss.dml_test(m1[keep], n1[keep], m2[keep], n2[keep])
    table = pd.DataFrame({"chrom": counts.chrom[keep], "pos": counts.pos[keep], **result})
    table = table[~table["stat"].isna()]
    table.to_csv(single_path(outputs, "dml", output=True), sep="\t", index=False,
                 float_format="%.10g")
    scores = dss.dml_scores(table["diff"].to_numpy(), table["diff_se"].to_numpy(),
                            table["pval"].to_numpy(), config["delta"])
    hits = table.assign(score=scores)[scores < config["p_threshold"]].sort_values("score",
                                                                                   kind="stable")
    hits.to_csv(single_path(outputs, "hits", output=True), sep="\t", index=False,
                float_format="%.10g")
    return {"status": "completed",
            "output": {"cpgs_tested": len(table), "dmls": len(hits),
                       "hypermethylated_in_" + g1: int((hits["diff"] > 0).sum()),
                       "hypomethylated_in_" + g1: int((hits["diff"] < 0).sum()),
                       "min_pval": float(table["pval"].min()) if len(table) else None},
            "warnings": [] if len(table) else ["no CpG had coverage in both groups"],
            "metadata": {"group1": g1, "group2": g2, "samples1": names1, "samples2": names2,
                         "cpgs_without_coverage": int((~keep).sum()),
                         "median_phi": float(np.median(np.r_[result["phi1"], result["phi2"]]))
                         if keep.any() else None}}


DMR_PARAMS = {"properties": {
    "p_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                    "description": "DSS callDMR p.threshold for a CpG to count as significant."},
    "delta": {"type": "number", "minimum": 0, "default": 0.0,
              "description": "DSS callDMR delta (0: use the p-value)."},
    "min_length": {"type": "integer", "minimum": 0, "default": 50,
                   "description": "A DMR is longer than this many bp (DSS minlen)."},
    "min_cpgs": {"type": "integer", "minimum": 0, "default": 3,
                 "description": "A DMR has more than this many CpGs (DSS minCG)."},
    "merge_distance": {"type": "integer", "minimum": 0, "default": 100,
                       "description": "Join significant runs closer than this (DSS dis.merge; "
                                      "DSS caps it at min_length)."},
    "pct_sig": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                "description": "More than this fraction of a DMR's CpGs significant."},
}}


@step("epigenome.dmr", params=DMR_PARAMS, version="1",
      inputs={"dml": "epigenome.dml's per-CpG table"},
      outputs={"dmr": "TSV: chrom, start, end, length, nCG, meanMethy1, meanMethy2, "
                      "diff.Methy, areaStat (largest |areaStat| first)"})
def dmr(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
        context: StepContext) -> dict[str, Any]:
    """Differentially methylated regions from the per-CpG tests by DSS's callDMR rules."""
    import pandas as pd

    from stepslib.epigenome import dss

    table = pd.read_csv(single_path(inputs, "dml"), sep="\t", dtype={"chrom": str})
    chrom, pos = table["chrom"].to_numpy(dtype=str), table["pos"].to_numpy()
    scores = dss.dml_scores(table["diff"].to_numpy(), table["diff_se"].to_numpy(),
                            table["pval"].to_numpy(), config["delta"])
    regions = dss.call_dmr(chrom, pos, scores, p_threshold=config["p_threshold"],
                           min_length=config["min_length"], min_cpgs=config["min_cpgs"],
                           merge_distance=config["merge_distance"], pct_sig=config["pct_sig"])
    rows = []
    for first, last in regions:
        part = table.iloc[first:last + 1]
        rows.append({"chrom": chrom[first], "start": int(pos[first]), "end": int(pos[last]),
                     "length": int(pos[last] - pos[first] + 1), "nCG": last - first + 1,
                     "meanMethy1": part["mu1"].mean(), "meanMethy2": part["mu2"].mean(),
                     "diff.Methy": part["mu1"].mean() - part["mu2"].mean(),
                     "areaStat": part["stat"].sum()})
    columns = ["chrom", "start", "end", "length", "nCG", "meanMethy1", "meanMethy2",
               "diff.Methy", "areaStat"]
    found = pd.DataFrame(rows, columns=columns)
    found = found.iloc[found["areaStat"].abs().sort_values(ascending=False, kind="stable").index
                       ] if len(found) else found
    found.to_csv(single_path(outputs, "dmr", output=True), sep="\t", index=False,
                 float_format="%.10g")
    return {"status": "completed",
            "output": {"dmrs": len(found),
                       "cpgs_in_dmrs": int(found["nCG"].sum()) if len(found) else 0,
                       "bp_in_dmrs": int(found["length"].sum()) if len(found) else 0},
            "warnings": [] if len(found) else ["no DMR found; relax p_threshold"],
            "metadata": {}}
