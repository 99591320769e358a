"""``ecology.indicators``: Dufrene-Legendre IndVal per species with a seeded permutation test.

IndVal(species, group) = A x B, A = the group's mean abundance over the sum of the groups'
means (specificity), B = the share of the group's sites where the species occurs (fidelity);
a species indicates the group where IndVal is highest (``labdsv::indval``; MetaInformAnt
reports the same statistic). p = (1 + #permutations with max IndVal >= observed) / (1 + n).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.ecology.common import completed, read_counts, read_groups, write_table

PARAMS = {
    "properties": {
        "permutations": {"type": "integer", "minimum": 0, "default": 999,
                         "description": "Label permutations for the p-values."},
        "seed": {"type": "integer", "default": 1, "description": "Random seed."},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.05,
                  "description": "q-value (Benjamini-Hochberg) level counted as indicators."},
    },
}


def indval_matrix(values: Any, labels: Any, levels: Any) -> Any:
    """species x group IndVal for a sites x species array."""
    import numpy as np

    onehot = (labels[:, None] == levels[None, :]).astype(float)  # sites x groups
    sizes = onehot.sum(axis=0)
    means = (onehot.T @ values) / sizes[:, None]  # groups x species
    totals = means.sum(axis=0)
    specificity = np.divide(means, totals, out=np.zeros_like(means), where=totals > 0)
    fidelity = (onehot.T @ (values > 0).astype(float)) / sizes[:, None]
    return (specificity * fidelity).T


def bh(p: Any) -> Any:
    import numpy as np

    m = len(p)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.empty(m)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


@step(
    "ecology.indicators",
    params=PARAMS,
    version="1",
    inputs={"counts": "sites x species counts", "groups": "ecology.load's groups"},
    outputs={"indicators": {"description": "species, group, indval, specificity, fidelity, "
                                           "p_value, q_value", "suffixes": [".tsv"]}},
)
def indicators(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: StepContext) -> dict[str, Any]:
    """Indicator species of each group (IndVal) with permutation p- and BH q-values."""
    import numpy as np
    import pandas as pd

    table = read_counts(single_path(inputs, "counts"))
    labels = read_groups(single_path(inputs, "groups"), table.index).to_numpy()
    levels = np.unique(labels)
    if len(levels) < 2:
        raise StepError("indicator species need at least two groups",
                        hint="check the groups file")
    values = table.to_numpy(dtype=float)
    observed = indval_matrix(values, labels, levels)
    best = observed.argmax(axis=1)
    top = observed.max(axis=1)
    rng = np.random.default_rng(config["seed"])
    exceed = np.zeros(len(top))
    for _ in range(config["permutations"]):
        exceed += indval_matrix(values, rng.permutation(labels), levels).max(axis=1) >= top - 1e-12
    p = (exceed + 1) / (config["permutations"] + 1)
    onehot = labels[:, None] == levels[None, :]
    means = (onehot.T @ values) / onehot.sum(axis=0)[:, None]
    result = pd.DataFrame({
        "group": levels[best], "indval": top,
        "specificity": [means[g, j] / means[:, j].sum() for j, g in enumerate(best)],
        "fidelity": [(values[onehot[:, g], j] > 0).mean() for j, g in enumerate(best)],
        "p_value": p, "q_value": bh(p)}, index=table.columns).sort_values(["q_value", "indval"],
                                                                        ascending=[True, False])
    write_table(result, single_path(outputs, "indicators", output=True), index_label="species")
    significant = result[result["q_value"] < config["alpha"]]
    per_group = {str(g): int((significant["group"] == g).sum()) for g in levels}
    context.log.info("%d indicator species at q < %g", len(significant), config["alpha"])
    return completed({"species_tested": len(result), "indicators": len(significant),
                      **{f"indicators_{g}": n for g, n in per_group.items()}},
                     permutations=config["permutations"], seed=config["seed"],
                     top=[str(s) for s in significant.index[:10]])
