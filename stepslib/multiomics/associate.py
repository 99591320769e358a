"""``multiomics.associate``: every factor against every phenotype or group, BH-corrected.

Numeric metadata columns get a linear model (factor ~ phenotype: slope, R2, F-test p);
text columns Kruskal-Wallis. q-values are Benjamini-Hochberg over all tests of the step.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.multiomics.common import completed, read_matrix, read_metadata, write_table

PARAMS = {
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "metadata columns tested (empty: all)"},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.05},
    },
}


def one_test(factor: Any, values: Any) -> tuple[str, float, float]:
    """(test, statistic, p) of a factor against one metadata column (NaNs dropped)."""
    import pandas as pd
    from scipy import stats

    numeric = pd.to_numeric(values, errors="coerce")
    keep = factor.notna() & values.notna()
    if numeric[values.notna()].notna().all():
        fit = stats.linregress(numeric[keep].to_numpy(float), factor[keep].to_numpy(float))
        return "linear_model", float(fit.rvalue ** 2), float(fit.pvalue)
    groups = [factor[keep & (values == g)].to_numpy(float) for g in sorted(values[keep].unique())]
    statistic, p = stats.kruskal(*groups)
    return "kruskal_wallis", float(statistic), float(p)


def benjamini_hochberg(p: Any) -> Any:
    import numpy as np

    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(q)
    out[order] = q
    return out


@step(
    "multiomics.associate",
    params=PARAMS,
    version="1",
    inputs={"factors": "samples x factors (mofa's factors or joint_pca's embeddings)",
            "metadata": "multiomics.load's metadata"},
    outputs={"associations": {"description": "factor, variable, test, statistic, p, q",
                              "suffixes": [".tsv"]}},
)
def associate(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Test each factor against each metadata column."""
    import pandas as pd

    factors = read_matrix(single_path(inputs, "factors"))
    factors = factors.loc[:, factors.std() > 1e-8]  # factors MOFA switched off
    meta = read_metadata(single_path(inputs, "metadata"), factors.index)
    columns = list(config["columns"]) or list(meta.columns)
    unknown = [c for c in columns if c not in meta.columns]
    if unknown:
        raise StepError(f"metadata has no column(s) {', '.join(unknown)}",
                        hint=f"the columns are: {', '.join(map(str, meta.columns))}")
    rows = [(f, c, *one_test(factors[f], meta[c])) for f in factors.columns for c in columns
            if meta[c].notna().sum() >= 3]
    table = pd.DataFrame(rows, columns=["factor", "variable", "test", "statistic", "p_value"])
    table["q_value"] = benjamini_hochberg(table["p_value"])
    write_table(table, single_path(outputs, "associations", output=True), index_label=None)
    hits = table[table["q_value"] < config["alpha"]]
    best = table.loc[table.groupby("variable")["p_value"].idxmin()]
    context.log.info("%d of %d factor associations at q < %g", len(hits), len(table),
                     config["alpha"])
    return completed({"n_tests": len(table), "n_significant": len(hits),
                      **{f"best_factor_{r.variable}": f"{r.factor} (q={r.q_value:.3g})"
                         for r in best.itertuples()}})
