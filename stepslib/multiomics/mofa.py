"""``multiomics.mofa``: MOFA+ (mofapy2) on the z-scored layers, missing samples left missing.

Seeded, ``convergence_mode: slow`` and no ``dropR2`` by default: in the project's trials the
fast mode with dropR2 lost one of four planted factors, the slow mode recovered all of them.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.multiomics.common import completed, need, read_matrix, split_layers, write_table

PARAMS = {
    "properties": {
        "n_factors": {"type": "integer", "minimum": 1, "default": 10,
                      "description": "factors to start with (ARD switches unneeded ones off)"},
        "convergence_mode": {"enum": ["slow", "medium", "fast"], "default": "slow"},
        "iterations": {"type": "integer", "minimum": 1, "default": 1000},
        "seed": {"type": "integer", "default": 1},
        "drop_r2": {"type": ["number", "null"], "default": None,
                    "description": "drop factors explaining less than this (null: keep all)"},
        "active_r2": {"type": "number", "minimum": 0, "default": 0.01,
                      "description": "a factor counts as active in a view above this R2"},
    },
}


def train(views: dict[str, Any], config: dict[str, Any]) -> Any:
    """The trained mofapy2 entry point (its chatter kept out of the log)."""
    entry = need("mofapy2.run.entry_point", "mofapy2>=0.7")
    samples = list(next(iter(views.values())).index)
    with contextlib.redirect_stdout(io.StringIO()):
        ent = entry.entry_point()
        ent.set_data_options(scale_views=False, scale_groups=False)
        ent.set_data_matrix([[v.to_numpy(dtype=float)] for v in views.values()],
                            likelihoods=["gaussian"] * len(views), views_names=list(views),
                            groups_names=["all"], samples_names=[samples],
                            features_names=[list(v.columns) for v in views.values()])
        ent.set_model_options(factors=config["n_factors"], spikeslab_weights=True,
                              ard_weights=True)
        ent.set_train_options(iter=config["iterations"],
                              convergence_mode=config["convergence_mode"], seed=config["seed"],
                              dropR2=config["drop_r2"], verbose=False, quiet=True)
        ent.build()
        ent.run()
    return ent


@step(
    "multiomics.mofa",
    params=PARAMS,
    version="1",
    inputs={"scaled": "multiomics.preprocess's z-scored table (missing left missing)"},
    outputs={
        "factors": {"description": "samples x factors", "suffixes": [".tsv"]},
        "weights": {"description": "layer, feature x factors", "suffixes": [".tsv"]},
        "variance": {"description": "R2 per view x factor", "suffixes": [".tsv"]},
        "model": {"description": "mofapy2's model file (.hdf5)", "suffixes": [".hdf5"]},
    },
)
def mofa(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Factors, weights and variance explained per view x factor."""
    import numpy as np
    import pandas as pd

    table = read_matrix(single_path(inputs, "scaled"))
    views = split_layers(table)
    if any(v.isna().all(axis=None) for v in views.values()):
        raise StepError("a layer has no observed value", hint="check the layer files")
    ent = train(views, config)
    model = ent.model
    z = model.nodes["Z"].getExpectation()
    names = [f"Factor{i + 1}" for i in range(z.shape[1])]
    write_table(pd.DataFrame(z, index=table.index, columns=names),
                single_path(outputs, "factors", output=True))
    weights = [pd.DataFrame(w, index=views[lay].columns, columns=names).assign(layer=lay)
               for lay, w in zip(views, model.nodes["W"].getExpectation())]
    frame = pd.concat(weights).rename_axis("feature").reset_index()
    write_table(frame[["layer", "feature", *names]], single_path(outputs, "weights", output=True),
                index_label=None)
    r2 = np.asarray(model.calculate_variance_explained()[0])  # the one group: views x factors
    variance = pd.DataFrame(r2, index=list(views), columns=names)
    write_table(variance, single_path(outputs, "variance", output=True), index_label="view")
    model_path = single_path(outputs, "model", output=True)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        ent.save(str(model_path), save_data=False)
    active = variance > config["active_r2"]
    context.log.info("MOFA: %d factors, %d active", len(names), int(active.any().sum()))
    metrics: dict[str, Any] = {"n_factors": len(names), "n_active_factors": int(active.any().sum())}
    for view in variance.index:
        metrics[f"r2_total_{view}"] = round(float(variance.loc[view].sum()), 4)
        metrics[f"active_factors_{view}"] = ",".join(variance.columns[active.loc[view]])
    return completed(metrics, convergence_mode=config["convergence_mode"], seed=config["seed"])
