"""``multiomics.nmf``: scikit-learn NMF of the concatenated non-negative layers.

Runs on preprocess's unscaled values (log1p'd counts, filtered, mean-imputed): z-scores are
negative by construction. A layer with negative values stops the step naming it, rather than
being shifted silently.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.multiomics.common import completed, layer_of, need, read_matrix, write_table

PARAMS = {
    "properties": {
        "n_components": {"type": "integer", "minimum": 1, "default": 10},
        "layers": {"type": "array", "items": {"type": "string"}, "default": [],
                   "description": "the layers factorised together (empty: every layer)"},
        "max_iter": {"type": "integer", "minimum": 1, "default": 1000},
        "seed": {"type": "integer", "default": 42},
    },
}


@step(
    "multiomics.nmf",
    params=PARAMS,
    version="1",
    inputs={"filtered": "multiomics.preprocess's unscaled, imputed table"},
    outputs={
        "sample_factors": {"description": "W: samples x components", "suffixes": [".tsv"]},
        "feature_factors": {"description": "H: layer, feature x components", "suffixes": [".tsv"]},
    },
)
def nmf(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
        context: StepContext) -> dict[str, Any]:
    """W and H of X ~ W H, and the relative reconstruction error."""
    import numpy as np
    import pandas as pd

    decomposition = need("sklearn.decomposition", "scikit-learn>=1.3")
    table = read_matrix(single_path(inputs, "filtered"))
    layers = layer_of(table.columns)
    chosen = list(config["layers"]) or list(dict.fromkeys(layers))
    table = table.loc[:, [lay in chosen for lay in layers]]
    negative = sorted({lay for lay, neg in zip(layer_of(table.columns), (table < 0).any()) if neg})
    if negative:
        raise StepError(f"NMF needs non-negative input; layer(s) {', '.join(negative)} have "
                        "negative values", hint="set nmf_layers to the non-negative layers "
                        "(counts, intensities), e.g. --set nmf_layers=[transcriptomics]")
    k = min(config["n_components"], *table.shape)
    model = decomposition.NMF(n_components=k, init="nndsvda", max_iter=config["max_iter"],
                              random_state=config["seed"])
    x = table.to_numpy(dtype=float)
    w = model.fit_transform(x)
    names = [f"NMF{i + 1}" for i in range(k)]
    write_table(pd.DataFrame(w, index=table.index, columns=names),
                single_path(outputs, "sample_factors", output=True))
    h = pd.DataFrame(model.components_.T, columns=names)
    h.insert(0, "feature", [str(c).split(":", 1)[1] for c in table.columns])
    h.insert(0, "layer", layer_of(table.columns))
    write_table(h, single_path(outputs, "feature_factors", output=True), index_label=None)
    relative = float(np.linalg.norm(x - w @ model.components_) / np.linalg.norm(x))
    warnings = [] if model.n_iter_ < config["max_iter"] else [
        f"NMF stopped at max_iter {config['max_iter']} before converging"]
    context.log.info("NMF: %d components, relative error %.4f", k, relative)
    return completed({"n_components": k, "layers": ",".join(chosen),
                      "relative_reconstruction_error": round(relative, 6),
                      "iterations": int(model.n_iter_)}, warnings)
