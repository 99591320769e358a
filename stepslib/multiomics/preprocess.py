"""``multiomics.preprocess``: per layer log1p (counts), top-k variance filter, z-score, impute.

Writes the z-scored table with missing layers left missing (MOFA's input), the same imputed
(mean = 0 after z-scoring, or k-nearest neighbours; joint PCA and CCA need complete data), the
unscaled log1p'd and filtered values mean-imputed (NMF's non-negative input), and optionally
the z-scored layers as a MuData ``.h5mu`` file.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.multiomics.common import SEP, completed, need, read_matrix, split_layers, write_table

PARAMS = {
    "properties": {
        "counts_layers": {"type": "array", "items": {"type": "string"}, "default": [],
                          "description": "layers holding counts: log1p before anything else"},
        "top_k": {"type": ["integer", "null"], "minimum": 1, "default": None,
                  "description": "keep the k most variable features of each layer (null: all)"},
        "imputation": {"enum": ["mean", "knn"], "default": "mean",
                       "description": "how the complete-data table fills missing values"},
        "knn_neighbors": {"type": "integer", "minimum": 1, "default": 5},
        "scale": {"type": "boolean", "default": True,
                  "description": "z-score every feature (mean 0, sd 1 with ddof 0)"},
    },
}


def prepare_layer(block: Any, log1p: bool, top_k: int | None) -> tuple[Any, list[str]]:
    """log1p'd, constant features dropped, the top-k by variance; and the warnings."""
    import numpy as np

    warnings = []
    values = block
    if log1p:
        if (values.to_numpy() < 0)[~np.isnan(values.to_numpy())].any():
            raise StepError("a counts layer has negative values",
                            hint="remove it from counts_layers (it is not counts)")
        values = np.log1p(values)
    variance = values.var(axis=0, ddof=0, skipna=True)
    constant = variance.index[~(variance > 0)]
    if len(constant):
        warnings.append(f"{len(constant)} constant or empty feature(s) dropped")
    variance = variance.drop(constant)
    if top_k is not None and top_k < len(variance):
        variance = variance.sort_values(ascending=False, kind="stable").iloc[:top_k]
    return values[[c for c in values.columns if c in variance.index]], warnings


@step(
    "multiomics.preprocess",
    params=PARAMS,
    version="1",
    inputs={"aligned": "multiomics.align's table"},
    outputs={
        "scaled": {"description": "z-scored, missing left missing", "suffixes": [".tsv"]},
        "imputed": {"description": "z-scored and imputed (complete)", "suffixes": [".tsv"]},
        "filtered": {"description": "log1p'd/filtered, unscaled, mean-imputed",
                     "suffixes": [".tsv"]},
        "h5mu": {"description": "the scaled layers as MuData (optional)", "required": False},
    },
)
def preprocess(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: StepContext) -> dict[str, Any]:
    """Transform each layer, then scale and impute the joined table."""
    import pandas as pd

    table = read_matrix(single_path(inputs, "aligned"))
    prepared, warnings, metrics = {}, [], {}
    for layer, block in split_layers(table).items():
        done, notes = prepare_layer(block, layer in config["counts_layers"], config["top_k"])
        prepared[layer] = done
        warnings += [f"{layer}: {n}" for n in notes]
        metrics[f"{layer}_features_kept"] = done.shape[1]
    joined = pd.concat(prepared, axis=1)
    joined.columns = [f"{layer}{SEP}{feature}" for layer, feature in joined.columns]
    missing_fraction = float(joined.isna().to_numpy().mean())
    scaled = (joined - joined.mean()) / joined.std(ddof=0) if config["scale"] else joined
    if config["imputation"] == "knn":
        impute = need("sklearn.impute", "scikit-learn>=1.3")
        filled = impute.KNNImputer(n_neighbors=config["knn_neighbors"]).fit_transform(scaled)
        imputed = pd.DataFrame(filled, index=scaled.index, columns=scaled.columns)
    else:
        imputed = scaled.fillna(scaled.mean())
    write_table(scaled, single_path(outputs, "scaled", output=True))
    write_table(imputed, single_path(outputs, "imputed", output=True))
    write_table(joined.fillna(joined.mean()), single_path(outputs, "filtered", output=True))
    h5mu = optional_path(outputs, "h5mu", output=True)
    if h5mu is not None:
        write_h5mu(scaled, h5mu)
    context.log.info("%d samples x %d features after preprocessing", *joined.shape)
    metrics.update(n_samples=joined.shape[0], n_features=joined.shape[1],
                   missing_fraction=round(missing_fraction, 4), imputation=config["imputation"])
    return completed(metrics, warnings, counts_layers=list(config["counts_layers"]))


def write_h5mu(scaled: Any, path: Any) -> None:
    """The z-scored layers as one AnnData per modality in a MuData file."""
    anndata = need("anndata", "mudata>=0.3")
    mudata = need("mudata", "mudata>=0.3")
    mods = {layer: anndata.AnnData(block.astype(float))
            for layer, block in split_layers(scaled).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    mudata.MuData(mods).write(str(path))
