"""``multiomics.cca``: canonical correlations between two layers.

``method: svd`` is classical CCA (the QR + SVD of R's ``cancor``) with an optional ridge
``lambda`` added to both within-layer covariance matrices (Vinod's canonical ridge: with more
features than samples classical CCA finds perfect, meaningless correlations; the ridge is what
makes it usable there). ``method: sklearn`` is scikit-learn's iterative CCA with a tight
tolerance (max_iter 5000, tol 1e-12: its defaults stop short of cancor's answer). MetaInformAnt
accepts a ``regularization`` and ignores it; here the ridge is used, and sklearn with a ridge
is refused rather than silently unregularised.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.multiomics.common import completed, need, read_matrix, split_layers, write_table

PARAMS = {
    "properties": {
        "layers": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "default": [],
                   "description": "the two layers (empty: the first two)"},
        "method": {"enum": ["svd", "sklearn"], "default": "svd"},
        "ridge": {"type": "number", "minimum": 0, "default": 0.0,
                  "description": "lambda added to each within-layer covariance diagonal (svd)"},
        "n_components": {"type": "integer", "minimum": 1, "default": 10},
    },
}


def _inverse_sqrt(cov: Any) -> Any:
    import numpy as np

    values, vectors = np.linalg.eigh(cov)
    if values.min() <= 1e-12 * max(values.max(), 1.0):
        raise StepError("a layer's covariance is singular (more features than samples, or "
                        "collinear features): classical CCA is undefined",
                        hint="set a ridge > 0 (cca_ridge), or filter features (top_k)")
    return (vectors / np.sqrt(values)) @ vectors.T


def canonical_correlations(x: Any, y: Any, ridge: float = 0.0, method: str = "svd",
                           k: int | None = None) -> tuple[Any, Any, Any]:
    """Correlations (descending) and x/y coefficient matrices of the first ``k`` pairs."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x - x.mean(axis=0), y - y.mean(axis=0)
    k = min(k or x.shape[1], x.shape[1], y.shape[1], x.shape[0] - 1)
    if method == "sklearn":
        if ridge > 0:
            raise StepError("scikit-learn's CCA has no ridge term",
                            hint="use method: svd for a ridge, or set the ridge to 0")
        cross = need("sklearn.cross_decomposition", "scikit-learn>=1.3")
        model = cross.CCA(n_components=k, scale=False, max_iter=5000, tol=1e-12).fit(x, y)
        xs, ys = model.transform(x, y)
        r = np.array([np.corrcoef(xs[:, i], ys[:, i])[0, 1] for i in range(k)])
        order = np.argsort(-np.abs(r))
        return np.abs(r[order]), model.x_rotations_[:, order], model.y_rotations_[:, order]
    n = x.shape[0] - 1
    kx = _inverse_sqrt(x.T @ x / n + ridge * np.eye(x.shape[1]))
    ky = _inverse_sqrt(y.T @ y / n + ridge * np.eye(y.shape[1]))
    u, s, vt = np.linalg.svd(kx @ (x.T @ y / n) @ ky)
    return s[:k], kx @ u[:, :k], ky @ vt.T[:, :k]


@step(
    "multiomics.cca",
    params=PARAMS,
    version="1",
    inputs={"imputed": "multiomics.preprocess's complete table"},
    outputs={
        "correlations": {"description": "component, canonical correlation", "suffixes": [".tsv"]},
        "weights": {"description": "layer, feature x canonical coefficients", "suffixes": [".tsv"]},
        "scores": {"description": "samples x canonical variates of both layers",
                   "suffixes": [".tsv"]},
    },
)
def cca(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
        context: StepContext) -> dict[str, Any]:
    """Canonical correlations, coefficients and variates of two layers."""
    import pandas as pd

    views = split_layers(read_matrix(single_path(inputs, "imputed")))
    chosen = list(config["layers"]) or list(views)[:2]
    unknown = [lay for lay in chosen if lay not in views]
    if len(chosen) != 2 or unknown:
        raise StepError(f"cca needs two of the layers {', '.join(views)}; got {chosen}",
                        hint="set cca_layers to two layer names")
    x, y = views[chosen[0]], views[chosen[1]]
    r, xw, yw = canonical_correlations(x, y, config["ridge"], config["method"],
                                       config["n_components"])
    names = [f"CC{i + 1}" for i in range(len(r))]
    write_table(pd.DataFrame({"component": names, "correlation": r}),
                single_path(outputs, "correlations", output=True), index_label=None)
    weights = pd.concat([pd.DataFrame(xw, index=x.columns, columns=names).assign(layer=chosen[0]),
                         pd.DataFrame(yw, index=y.columns, columns=names).assign(layer=chosen[1])])
    weights = weights.rename_axis("feature").reset_index()[["layer", "feature", *names]]
    write_table(weights, single_path(outputs, "weights", output=True), index_label=None)
    xc, yc = x - x.mean(), y - y.mean()
    scores = pd.concat([pd.DataFrame(xc.to_numpy() @ xw, index=x.index,
                                     columns=[f"{chosen[0]}_{c}" for c in names]),
                        pd.DataFrame(yc.to_numpy() @ yw, index=y.index,
                                     columns=[f"{chosen[1]}_{c}" for c in names])], axis=1)
    write_table(scores, single_path(outputs, "scores", output=True))
    context.log.info("CCA %s vs %s: first correlation %.4f", *chosen, float(r[0]))
    return completed({"layers": " vs ".join(chosen), "method": config["method"],
                      "ridge": config["ridge"], "n_components": len(r),
                      "first_correlation": round(float(r[0]), 6)})
