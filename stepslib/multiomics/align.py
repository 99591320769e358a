"""``multiomics.align``: the inner or outer join of the layers on sample id.

``require_all_omics: true`` (MetaInformAnt's ``samples.require_all_omics``) keeps only samples
present in every layer, as MetaInformAnt's ``integrate_omics_data`` always does; ``false`` keeps
every sample and leaves the layers it lacks missing (MOFA models them as missing; the steps
that need complete data impute them in ``preprocess``).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, single_path, step
from stepslib.multiomics.common import completed, read_matrix, write_table

PARAMS = {
    "properties": {
        "require_all_omics": {"type": "boolean", "default": False,
                              "description": "true: inner join (samples in every layer); "
                                             "false: outer join"},
        "min_layers": {"type": "integer", "minimum": 1, "default": 1,
                       "description": "outer join: drop samples present in fewer layers"},
    },
}


@step(
    "multiomics.align",
    params=PARAMS,
    version="1",
    inputs={"layers": "multiomics.load's layers", "presence": "multiomics.load's presence"},
    outputs={
        "aligned": {"description": "the joined samples x layer:feature table", "suffixes": [".tsv"]},
        "dropped": {"description": "per layer, the samples dropped from it or missing in it",
                    "suffixes": [".tsv"]},
    },
)
def align(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """Join on sample id and say, per layer, which samples were dropped or are missing."""
    import pandas as pd

    table = read_matrix(single_path(inputs, "layers"))
    presence = read_matrix(single_path(inputs, "presence")).astype(bool)
    counts = presence.sum(axis=1)
    minimum = presence.shape[1] if config["require_all_omics"] else config["min_layers"]
    keep = counts >= minimum
    rows = []
    for sample in presence.index:
        lacking = [lay for lay in presence.columns if not presence.loc[sample, lay]]
        if not lacking:
            continue
        for layer in presence.columns:
            if not keep[sample] and presence.loc[sample, layer]:
                rows.append((layer, sample, "dropped", ",".join(lacking)))
            elif keep[sample] and not presence.loc[sample, layer]:
                rows.append((layer, sample, "missing", ",".join(lacking)))
    report = pd.DataFrame(rows, columns=["layer", "sample_id", "action", "absent_from"])
    write_table(report, single_path(outputs, "dropped", output=True), index_label=None)
    aligned = table.loc[keep]
    write_table(aligned, single_path(outputs, "aligned", output=True))
    warnings = []
    n_dropped = int((~keep).sum())
    if n_dropped:
        warnings.append(f"{n_dropped} sample(s) dropped: not in every layer "
                        "(see align's dropped table)")
    context.log.info("%s join: %d of %d samples kept", "inner" if config["require_all_omics"]
                     else "outer", int(keep.sum()), len(keep))
    metrics: dict[str, Any] = {"join": "inner" if config["require_all_omics"] else "outer",
                               "n_samples": int(keep.sum()), "n_dropped": n_dropped}
    for layer in presence.columns:
        metrics[f"{layer}_missing"] = int((keep & ~presence[layer]).sum())
    return completed(metrics, warnings)
