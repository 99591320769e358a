"""``ecology.alpha``: per-site diversity with scikit-bio (checked against vegan at test time).

Chao1 is bias-corrected by default, S + f1(f1-1)/(2(f2+1)) as ``vegan::estimateR``;
MetaInformAnt's uncorrected f1^2/(2 f2) is ``chao1: classic``.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, optional_path, single_path, step
from stepslib.ecology.common import completed, need_skbio, read_counts, read_groups, write_table

PARAMS = {
    "properties": {
        "chao1": {"enum": ["bias_corrected", "classic"], "default": "bias_corrected",
                  "description": "bias_corrected = vegan estimateR's S.chao1; classic = "
                                 "S + f1^2/(2 f2) (MetaInformAnt's)."},
        "ace_rare_threshold": {"type": "integer", "minimum": 1, "default": 10,
                               "description": "ACE's rare-species abundance cut-off (vegan: 10)."},
    },
}

COLUMNS = ["richness", "shannon", "simpson", "inverse_simpson", "pielou", "chao1", "ace"]


def site_alpha(counts: Any, chao1: str, ace_threshold: int) -> dict[str, float]:
    """Every index of one site's integer-like counts (zeros allowed)."""
    import math

    import numpy as np

    alpha = need_skbio().diversity.alpha
    x = np.asarray(counts, dtype=float)
    x = x[x > 0]
    p = x / x.sum()
    richness = len(x)
    shannon = float(-(p * np.log(p)).sum())
    dominance = float((p * p).sum())
    whole = np.round(x).astype(int)
    return {
        "richness": float(richness),
        "shannon": shannon,
        "simpson": 1.0 - dominance,
        "inverse_simpson": 1.0 / dominance,
        "pielou": shannon / math.log(richness) if richness > 1 else float("nan"),
        "chao1": float(alpha.chao1(whole, bias_corrected=chao1 == "bias_corrected")),
        "ace": _ace(alpha, whole, ace_threshold),
    }


def _ace(alpha: Any, whole: Any, threshold: int) -> float:
    """ACE, or NaN where it is undefined (every rare species a singleton)."""
    try:
        return float(alpha.ace(whole, rare_threshold=threshold))
    except (ValueError, ZeroDivisionError):
        return float("nan")


@step(
    "ecology.alpha",
    params=PARAMS,
    version="1",
    inputs={
        "counts": "sites x species counts (ecology.load or ecology.rarefy)",
        "groups": {"description": "ecology.load's groups (adds group means)", "required": False},
        "tree": {"description": "Newick tree (adds Faith's PD)", "required": False},
    },
    outputs={"alpha": {"description": "alpha.tsv: one row per site", "suffixes": [".tsv"]}},
)
def alpha(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """Richness, Shannon (ln), Simpson 1-D, inverse Simpson, Pielou's J, Chao1, ACE and,
    with a tree, Faith's PD for every site."""
    import numpy as np
    import pandas as pd

    skbio = need_skbio()
    table = read_counts(single_path(inputs, "counts"))
    rows = {site: site_alpha(table.loc[site].to_numpy(), config["chao1"],
                             config["ace_rare_threshold"]) for site in table.index}
    result = pd.DataFrame.from_dict(rows, orient="index")[COLUMNS]
    warnings: list[str] = []
    tree_path = optional_path(inputs, "tree")
    if tree_path is not None:
        tree = skbio.TreeNode.read(str(tree_path))
        taxa = list(table.columns)
        result["faith_pd"] = [
            float(skbio.diversity.alpha.faith_pd(np.round(table.loc[s].to_numpy()).astype(int),
                                                 taxa=taxa, tree=tree)) for s in table.index]
    if result["pielou"].isna().any():
        warnings.append("Pielou's J is undefined (NaN) for sites with one species")
    write_table(result, single_path(outputs, "alpha", output=True))
    groups = read_groups(optional_path(inputs, "groups"), table.index)
    by_group: dict[str, Any] = {}
    if groups is not None:
        means = result.groupby(groups.to_numpy()).mean()
        by_group = {str(g): {k: round(float(v), 4) for k, v in row.items()}
                    for g, row in means[["richness", "shannon", "chao1"]].iterrows()}
    context.log.info("alpha diversity of %d sites", len(result))
    metrics = {f"mean_{k}": float(result[k].mean()) for k in ("richness", "shannon", "simpson",
                                                               "chao1")}
    if "faith_pd" in result:
        metrics["mean_faith_pd"] = float(result["faith_pd"].mean())
    return completed(metrics, warnings, chao1=config["chao1"], by_group=by_group)
