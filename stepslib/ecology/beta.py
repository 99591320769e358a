"""``ecology.beta``: Bray-Curtis, Jaccard, Sorensen and (with a tree) UniFrac distances.

Jaccard and Sorensen are the presence/absence indices (``vegdist(x, "jaccard", binary =
TRUE)`` and ``vegdist(x, "bray", binary = TRUE)``); UniFrac is scikit-bio's, checked
against QIIME 1.9.1's expected matrices.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.ecology.common import completed, need_skbio, read_counts, write_distance

PARAMS = {
    "properties": {
        "normalize_weighted_unifrac": {"type": "boolean", "default": False,
                                       "description": "Normalised weighted UniFrac (0..1)."},
    },
}


def presence_distances(table: Any) -> tuple[Any, Any]:
    """Jaccard 1 - a/(a+b+c) and Sorensen 1 - 2a/(2a+b+c) on presence/absence."""
    import numpy as np

    present = (table.to_numpy() > 0).astype(float)
    shared = present @ present.T
    richness = present.sum(axis=1)
    union = richness[:, None] + richness[None, :] - shared
    jaccard = 1.0 - shared / union
    sorensen = 1.0 - 2.0 * shared / (richness[:, None] + richness[None, :])
    np.fill_diagonal(jaccard, 0.0)
    np.fill_diagonal(sorensen, 0.0)
    return jaccard, sorensen


@step(
    "ecology.beta",
    params=PARAMS,
    version="1",
    inputs={
        "counts": "sites x species counts",
        "tree": {"description": "Newick tree (for UniFrac)", "required": False},
    },
    outputs={
        "braycurtis": {"description": "Bray-Curtis distance matrix", "suffixes": [".tsv"]},
        "jaccard": {"description": "Jaccard (presence/absence)", "suffixes": [".tsv"]},
        "sorensen": {"description": "Sorensen (presence/absence)", "suffixes": [".tsv"]},
        "unweighted_unifrac": {"description": "needs the tree", "required": False,
                               "suffixes": [".tsv"]},
        "weighted_unifrac": {"description": "needs the tree", "required": False,
                             "suffixes": [".tsv"]},
    },
)
def beta(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Pairwise distance matrices between sites, one square TSV each."""
    import numpy as np

    skbio = need_skbio()
    table = read_counts(single_path(inputs, "counts"))
    ids = list(table.index)
    bray = skbio.diversity.beta_diversity("braycurtis", table.to_numpy(), ids=ids)
    write_distance(bray, single_path(outputs, "braycurtis", output=True))
    jaccard, sorensen = presence_distances(table)
    write_distance(skbio.DistanceMatrix(jaccard, ids), single_path(outputs, "jaccard", output=True))
    write_distance(skbio.DistanceMatrix(sorensen, ids),
                   single_path(outputs, "sorensen", output=True))
    metrics = {"sites": len(ids), "mean_braycurtis": _mean_off_diagonal(bray.data),
               "mean_jaccard": _mean_off_diagonal(jaccard), **whittaker(table)}
    tree_path = optional_path(inputs, "tree")
    wanted = [n for n in ("unweighted_unifrac", "weighted_unifrac")
              if optional_path(outputs, n) is not None]
    if wanted and tree_path is None:
        raise StepError(f"UniFrac ({', '.join(wanted)}) needs a tree",
                        hint="give the load step a Newick tree, or do not declare these outputs")
    if tree_path is not None:
        tree = skbio.TreeNode.read(str(tree_path))
        counts = np.round(table.to_numpy()).astype(int)
        for name in wanted:
            extra = ({"normalized": config["normalize_weighted_unifrac"]}
                     if name == "weighted_unifrac" else {})
            matrix = skbio.diversity.beta_diversity(name, counts, ids=ids,
                                                    taxa=list(table.columns), tree=tree, **extra)
            write_distance(matrix, single_path(outputs, name, output=True))
            metrics[f"mean_{name}"] = _mean_off_diagonal(matrix.data)
    context.log.info("distances between %d sites: %s", len(ids), ", ".join(metrics))
    return completed(metrics)


def whittaker(table: Any) -> dict[str, float]:
    """Multiplicative alpha/beta/gamma partitions: of richness (Whittaker: gamma = species in
    the pooled table, alpha = mean site richness) and of Shannon diversity as Hill numbers
    (Jost 2007, equal site weights: alpha = exp(mean H), gamma = exp(H of the pooled relative
    abundances)); beta = gamma / alpha in both. MetaInformAnt divides the Shannon indices
    themselves, which is not a diversity ratio."""
    import numpy as np

    values = table.to_numpy(dtype=float)
    shares = values / values.sum(axis=1, keepdims=True)

    def shannon(p: Any) -> float:
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    alpha_rich = float((values > 0).sum(axis=1).mean())
    gamma_rich = float((values.sum(axis=0) > 0).sum())
    alpha_hill = float(np.exp(np.mean([shannon(row) for row in shares])))
    gamma_hill = float(np.exp(shannon(shares.mean(axis=0))))
    return {"whittaker_beta_richness": gamma_rich / alpha_rich,
            "beta_shannon_hill": gamma_hill / alpha_hill,
            "gamma_shannon_hill": gamma_hill, "alpha_shannon_hill": alpha_hill}


def _mean_off_diagonal(matrix: Any) -> float:
    import numpy as np

    n = matrix.shape[0]
    return float(matrix[np.triu_indices(n, 1)].mean()) if n > 1 else 0.0
