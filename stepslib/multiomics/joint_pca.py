"""``multiomics.joint_pca``: scikit-learn PCA of the concatenated, scaled, imputed layers.

The eigenvalues are ``explained_variance_`` (denominator n - 1), R ``prcomp``'s ``sdev^2``;
tests/multiomics checks both on the same matrix.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, single_path, step
from stepslib.multiomics.common import completed, layer_of, need, read_matrix, write_table

PARAMS = {
    "properties": {
        "n_components": {"type": "integer", "minimum": 1, "default": 10,
                         "description": "components kept (capped at min(samples, features))"},
    },
}


@step(
    "multiomics.joint_pca",
    params=PARAMS,
    version="1",
    inputs={"imputed": "multiomics.preprocess's complete table"},
    outputs={
        "embeddings": {"description": "samples x PCs", "suffixes": [".tsv"]},
        "variance": {"description": "eigenvalue and variance ratio per PC", "suffixes": [".tsv"]},
        "loadings": {"description": "layer, feature x PCs", "suffixes": [".tsv"]},
    },
)
def joint_pca(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Embeddings, variance explained and loadings split by layer."""
    import pandas as pd

    decomposition = need("sklearn.decomposition", "scikit-learn>=1.3")
    table = read_matrix(single_path(inputs, "imputed"))
    k = min(config["n_components"], *table.shape)
    warnings = []
    if k < config["n_components"]:
        warnings.append(f"n_components {config['n_components']} capped at {k}")
    pca = decomposition.PCA(n_components=k, svd_solver="full")
    scores = pca.fit_transform(table.to_numpy(dtype=float))
    names = [f"PC{i + 1}" for i in range(k)]
    write_table(pd.DataFrame(scores, index=table.index, columns=names),
                single_path(outputs, "embeddings", output=True))
    variance = pd.DataFrame({"component": names, "eigenvalue": pca.explained_variance_,
                             "variance_ratio": pca.explained_variance_ratio_})
    write_table(variance, single_path(outputs, "variance", output=True), index_label=None)
    loadings = pd.DataFrame(pca.components_.T, columns=names)
    loadings.insert(0, "feature", [str(c).split(":", 1)[1] for c in table.columns])
    loadings.insert(0, "layer", layer_of(table.columns))
    write_table(loadings, single_path(outputs, "loadings", output=True), index_label=None)
    share = loadings.assign(sq=loadings["PC1"] ** 2).groupby("layer")["sq"].sum()
    context.log.info("joint PCA: %d components, %.3f of the variance", k,
                     float(pca.explained_variance_ratio_.sum()))
    return completed(
        {"n_components": k, "variance_explained_total": round(float(
            pca.explained_variance_ratio_.sum()), 4),
         "pc1_variance_ratio": round(float(pca.explained_variance_ratio_[0]), 4),
         **{f"pc1_loading_share_{lay}": round(float(v), 4) for lay, v in share.items()}},
        warnings)
