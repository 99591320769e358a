"""Shared by the multiomics steps: the tables between steps, libraries, the result standard.

Between steps the layers travel as one samples x features TSV whose first column is
``sample_id`` and whose feature columns are named ``layer:feature`` (so one file carries every
layer and the layer of a column is never lost); missing values are empty cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import StepError

LAYERS = ("genomics", "transcriptomics", "proteomics", "metabolomics")
SEP = ":"


def completed(output: Mapping[str, Any], warnings: list[str] | None = None,
              **metadata: Any) -> dict[str, Any]:
    """The seed's result standard: status, the metrics a user reads, warnings, metadata."""
    return {"status": "completed", "output": dict(output), "warnings": list(warnings or []),
            "metadata": dict(metadata)}


def need(module: str, package: str) -> Any:
    """Import ``module`` or fail the step saying which PyPI package to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise StepError(f"{package} is not installed ({exc})",
                        hint=f"pip install '{package}' (make dev installs it)") from exc


def read_matrix(path: Path) -> Any:
    """A samples x ``layer:feature`` TSV written by a multiomics step."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", index_col=0)
    table.index = table.index.astype(str)
    return table


def write_table(table: Any, path: Path, index_label: str | None = "sample_id") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=index_label is not None, index_label=index_label,
                 float_format="%.17g")


def layer_of(columns: Any) -> list[str]:
    return [str(c).split(SEP, 1)[0] for c in columns]


def split_layers(table: Any) -> dict[str, Any]:
    """``{layer: samples x features}`` of a ``layer:feature`` table, in column order."""
    layers = layer_of(table.columns)
    out: dict[str, Any] = {}
    for name in dict.fromkeys(layers):
        block = table.loc[:, [lay == name for lay in layers]]
        block.columns = [str(c).split(SEP, 1)[1] for c in block.columns]
        out[name] = block
    return out


def read_metadata(path: Path | None, samples: Any) -> Any:
    """The sample metadata table (index: sample id), in the order of ``samples``."""
    import pandas as pd

    if path is None:
        return None
    table = pd.read_csv(path, sep="\t", index_col=0)
    table.index = table.index.astype(str)
    return table.reindex([str(s) for s in samples])
