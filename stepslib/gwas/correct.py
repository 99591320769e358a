"""``gwas.correct``: Bonferroni, Benjamini-Hochberg q-values and genomic control.

lambda_GC = median(chi2_1 of the p-values) / 0.4549 (the chi2_1 median). GC-adjusted
p-values divide each chi2 by max(lambda_GC, 1), as ``plink --adjust`` (never inflating).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, optional_path, single_path, step

PARAMS = {
    "properties": {
        "significance_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 5e-8,
                                   "description": "Genome-wide significance (P below it)."},
        "suggestive_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                                 "description": "Suggestive significance (P below it)."},
        "method": {"enum": ["threshold", "bonferroni", "fdr", "both"], "default": "threshold",
                   "description": "What significant_hits.tsv lists: P below "
                                  "significance_threshold, P_BONF below alpha, Q_FDR below alpha, "
                                  "or either of the last two (both)."},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.05,
                  "description": "Family-wise (Bonferroni) and false-discovery (FDR) level."},
        "fdr_alpha": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1,
                      "default": None,
                      "description": "Q_FDR level counted in the summary (null: alpha)."},
        "n_top": {"type": "integer", "minimum": 0, "default": 10,
                  "description": "Number of top hits listed in results_summary.json."},
    },
}

CHI2_MEDIAN = 0.4549364231195724  # median of chi-square with 1 df


@step(
    "gwas.correct",
    params=PARAMS,
    version="1",
    inputs={
        "results": "gwas.associate's results",
        "heritability": {"description": "gwas.associate's heritability JSON (model mixed; may "
                                        "be an empty list): copied into results_summary.json",
                         "required": False},
    },
    outputs={
        "summary": "summary_statistics.tsv with P_GC, P_BONF, Q_FDR",
        "hits": "significant_hits.tsv",
        "summary_json": "results_summary.json",
    },
)
def correct(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """inputs: ``results`` (gwas.associate). outputs: ``summary`` (summary_statistics.tsv with
    P_GC, P_BONF, Q_FDR), ``hits`` (significant_hits.tsv), ``summary_json``
    (results_summary.json)."""
    import json

    import numpy as np
    import pandas as pd
    from scipy import stats

    table = pd.read_csv(single_path(inputs, "results"), sep="\t", dtype={"CHR": str},
                        keep_default_na=False, na_values=["NA"])
    p = table["P"].to_numpy(dtype=float)
    tested = np.isfinite(p)
    m = int(tested.sum())
    chi2 = np.full(len(p), np.nan)
    chi2[tested] = stats.chi2.isf(np.clip(p[tested], 1e-320, 1.0), 1)
    lam = float(np.median(chi2[tested]) / CHI2_MEDIAN) if m else float("nan")
    p_gc = np.full(len(p), np.nan)
    p_gc[tested] = stats.chi2.sf(chi2[tested] / max(lam, 1.0), 1)
    q = np.full(len(p), np.nan)
    q[tested] = _bh(p[tested])
    table["P_GC"] = p_gc
    table["P_BONF"] = np.minimum(p * m, 1.0)
    table["Q_FDR"] = q
    threshold = config["significance_threshold"]
    alpha = config["alpha"]
    fdr_alpha = config["fdr_alpha"] if config["fdr_alpha"] is not None else alpha
    table.to_csv(single_path(outputs, "summary", output=True), sep="\t", index=False, na_rep="NA",
                 float_format="%.6g")
    hits = table[tested & _significant(table, config["method"], threshold, alpha)].sort_values("P")
    hits.to_csv(single_path(outputs, "hits", output=True), sep="\t", index=False, na_rep="NA",
                float_format="%.6g")
    top = table[tested].nsmallest(config["n_top"], "P")
    top_hits = [{"CHR": r.CHR, "POS": int(r.POS), "SNP": r.SNP, "A1": r.A1,
                 "BETA": _num(r.BETA), "P": _num(r.P), "Q_FDR": _num(r.Q_FDR)}
                for r in top.itertuples()]
    summary = {
        "n_variants_tested": m,
        "n_variants_not_tested": int(len(p) - m),
        "lambda_gc": lam,
        "significance_threshold": threshold,
        "suggestive_threshold": config["suggestive_threshold"],
        "bonferroni_threshold": alpha / m if m else None,
        "n_significant_genome_wide": int((p[tested] < threshold).sum()),
        "n_suggestive": int((p[tested] < config["suggestive_threshold"]).sum()),
        "n_significant_bonferroni": int((table["P_BONF"].to_numpy()[tested] < alpha).sum()),
        "n_significant_fdr": int((q[tested] < fdr_alpha).sum()),
        "alpha": alpha,
        "fdr_alpha": fdr_alpha,
        "hits_by": config["method"],
        "n_hits": len(hits),
        "top_hits": top_hits,
    }
    h2_path = optional_path(inputs, "heritability")
    if h2_path is not None:
        summary["heritability"] = json.loads(h2_path.read_text())
    single_path(outputs, "summary_json", output=True).write_text(json.dumps(summary, indent=2) + "\n")
    context.log.info("%d variants tested; lambda_GC = %.4f; %d genome-wide significant, %d "
                     "suggestive", m, lam, summary["n_significant_genome_wide"],
                     summary["n_suggestive"])
    return {"status": "completed", "metadata": {k: v for k, v in summary.items()
                                                if k != "top_hits"}}


def _significant(table: Any, method: str, threshold: float, alpha: float) -> Any:
    """Which rows ``significant_hits.tsv`` lists under ``method`` (a boolean array)."""
    p = table["P"].to_numpy(dtype=float)
    bonferroni = table["P_BONF"].to_numpy(dtype=float) < alpha
    fdr = table["Q_FDR"].to_numpy(dtype=float) < alpha
    return {"threshold": p < threshold, "bonferroni": bonferroni, "fdr": fdr,
            "both": bonferroni | fdr}[method]


def _bh(p: Any) -> Any:
    """Benjamini-Hochberg adjusted p-values (q-values), monotone, capped at 1."""
    import numpy as np

    m = len(p)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def _num(value: Any) -> float | None:
    import math

    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(
        value)
