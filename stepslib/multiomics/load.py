"""``multiomics.load``: one samples x features table per omics layer into one store table.

Reads TSV, CSV (MetaInformAnt's ``index_col=0`` layout) or parquet per layer, and two outputs
of mi-run's other workflows as they are: the RNA workflow's normalised expression
(``cstmm/<Sp>/<Sp>_cstmm_counts.tsv``: ``target_id`` + one column per run, genes in rows) and
the GWAS workflow's dosage store (``store/dosages.npy``, variants x samples, -1 = missing, with
``variants.tsv`` and ``phenotypes.tsv`` beside it giving the variant ids and sample order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.multiomics.common import LAYERS, SEP, completed, write_table

ORIENTATIONS = ["auto", "samples_by_features", "features_by_samples"]
RNA_FEATURE_ID = "target_id"  # amalgkit's first column: a table with genes in rows

PARAMS = {
    "properties": {
        "id_column": {"type": "string", "default": "sample_id",
                      "description": "the sample id column (MetaInformAnt's samples.id_column); "
                                     "absent from a table: its first column holds the ids"},
        "orientation": {"type": "object", "default": {},
                        "additionalProperties": {"enum": ORIENTATIONS},
                        "description": "per layer: auto (rows are samples unless the first "
                                       "column is amalgkit's target_id), samples_by_features "
                                       "or features_by_samples"},
        "required": {"type": "object", "default": {},
                     "additionalProperties": {"type": "boolean"},
                     "description": "per layer: fail when it has no file (inputs.<layer>.required)"},
    },
}


def read_table(path: Path, id_column: str, orientation: str) -> Any:
    """A samples x features frame (index: sample id as str) from one layer file."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_gwas_store(path)
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        sep = "," if suffix == ".csv" else "\t"
        frame = pd.read_csv(path, sep=sep)
    first = str(frame.columns[0])
    by_features = orientation == "features_by_samples" or (
        orientation == "auto" and first == RNA_FEATURE_ID)
    if by_features:
        frame = frame.set_index(first).drop(columns=["length"], errors="ignore").T
    else:
        frame = frame.set_index(id_column if id_column in frame.columns else first)
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in frame.columns if numeric[c].isna().sum() > frame[c].isna().sum()]
    if bad:
        raise StepError(f"{path}: non-numeric values in feature column(s) {', '.join(bad[:5])}",
                        hint=f"the sample ids must be in column '{id_column}' (samples.id_column) "
                             "or the first column; set orientation.<layer> if samples are columns")
    if numeric.index.duplicated().any():
        dup = numeric.index[numeric.index.duplicated()][0]
        raise StepError(f"{path}: sample id '{dup}' appears twice", hint="make sample ids unique")
    return numeric


def read_gwas_store(path: Path) -> Any:
    """The GWAS dosage store as samples x variants ALT counts (missing -> NaN)."""
    import numpy as np
    import pandas as pd

    samples_file = path.with_name("phenotypes.tsv")
    variants_file = path.with_name("variants.tsv")
    for needed in (samples_file, variants_file):
        if not needed.exists():
            raise StepError(f"{path} is read as a GWAS dosage store but {needed.name} is not "
                            "beside it", hint="point at the store/dosages.npy of a gwas.yaml run")
    samples = pd.read_csv(samples_file, sep="\t", dtype={"sample_id": str})["sample_id"]
    variants = pd.read_csv(variants_file, sep="\t", dtype={"SNP": str})["SNP"]
    dosages = np.load(path, mmap_mode="r").astype(float)
    dosages[dosages < 0] = np.nan
    return pd.DataFrame(dosages.T, index=list(samples), columns=list(variants))


@step(
    "multiomics.load",
    params=PARAMS,
    version="1",
    inputs={
        **{layer: {"description": f"the {layer} table (samples x features), or none",
                   "required": False} for layer in LAYERS},
        "metadata": {"description": "sample metadata TSV (id column + phenotypes/groups)",
                     "required": False},
    },
    outputs={
        "layers": {"description": "every layer, outer-joined on sample id (layer:feature columns)",
                   "suffixes": [".tsv"]},
        "presence": {"description": "sample x layer: 1 where the layer has the sample",
                     "suffixes": [".tsv"]},
        "metadata": {"description": "the metadata indexed by sample_id", "required": False},
    },
)
def load(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Read each given layer, check it, and store all of them side by side."""
    import pandas as pd

    frames: dict[str, Any] = {}
    for layer in LAYERS:
        path = optional_path(inputs, layer)
        if path is None:
            if config["required"].get(layer, False):
                raise StepError(f"layer '{layer}' is required but has no file",
                                hint=f"set inputs.{layer}.file (or --{layer} FILE), or "
                                     f"inputs.{layer}.required: false")
            continue
        frames[layer] = read_table(path, config["id_column"],
                                   config["orientation"].get(layer, "auto"))
        context.log.info("%s: %d samples x %d features from %s", layer, *frames[layer].shape, path)
    if len(frames) < 2:
        raise StepError(f"multiomics integration needs at least two layers, got {len(frames)}",
                        hint="give two or more of inputs.<layer>.file: " + ", ".join(LAYERS))
    joined = pd.concat({layer: f for layer, f in frames.items()}, axis=1, join="outer")
    joined.columns = [f"{layer}{SEP}{feature}" for layer, feature in joined.columns]
    joined = joined.sort_index()
    presence = pd.DataFrame({layer: joined.index.isin(f.index).astype(int)
                             for layer, f in frames.items()}, index=joined.index)
    write_table(joined, single_path(outputs, "layers", output=True))
    write_table(presence, single_path(outputs, "presence", output=True))
    meta_in, meta_out = optional_path(inputs, "metadata"), optional_path(outputs, "metadata",
                                                                          output=True)
    if meta_in is not None and meta_out is not None:
        meta = pd.read_csv(meta_in, sep="," if meta_in.suffix == ".csv" else "\t", dtype=str)
        key = config["id_column"] if config["id_column"] in meta.columns else meta.columns[0]
        write_table(meta.set_index(key), meta_out)
    metrics: dict[str, Any] = {"n_layers": len(frames), "n_samples_any_layer": len(joined)}
    for layer, f in frames.items():
        metrics[f"{layer}_samples"], metrics[f"{layer}_features"] = f.shape
    return completed(metrics, layers=list(frames))
