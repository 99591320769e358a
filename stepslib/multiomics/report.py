"""``multiomics.report``: variance-explained heatmap, factor scatter by group, summary JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, optional_path, path_list, single_path, step
from stepslib.multiomics.common import completed, read_matrix, read_metadata

PARAMS = {
    "properties": {
        "group_column": {"type": ["string", "null"], "default": "group",
                         "description": "metadata column colouring the factor scatter"},
    },
}
OPTIONAL = ["mofa_variance", "factors", "pca_variance", "embeddings", "cca", "nmf",
            "associations", "dropped", "metadata"]


def _read_tsv(path: Path | None) -> Any:
    import pandas as pd

    return None if path is None else pd.read_csv(path, sep="\t")


def heatmap(variance: Any, paths: list[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * variance.shape[1], 1.5 + 0.5 * variance.shape[0]))
    image = ax.imshow(variance.to_numpy(), cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(range(variance.shape[1]), variance.columns, rotation=90)
    ax.set_yticks(range(variance.shape[0]), variance.index)
    ax.set_title("MOFA variance explained (R2)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    plt.close(fig)


def scatter(scores: Any, groups: Any, paths: list[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    x, y = scores.columns[:2]
    if groups is None:
        ax.scatter(scores[x], scores[y], s=14)
    else:
        for name in sorted(groups.dropna().unique()):
            rows = groups.index[groups == name]
            ax.scatter(scores.loc[rows, x], scores.loc[rows, y], s=14, label=name)
        ax.legend(title=groups.name)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    plt.close(fig)


@step(
    "multiomics.report",
    params=PARAMS,
    version="1",
    inputs={name: {"description": f"the {name} table of its step", "required": False}
            for name in OPTIONAL},
    outputs={
        "summary": {"description": "workflow_summary.json", "suffixes": [".json"]},
        "heatmap": {"description": "views x factors R2 heatmap (.png/.svg)", "required": False},
        "scatter": {"description": "first two factors coloured by group", "required": False},
    },
)
def report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Plots and one JSON document of what every analysis found."""
    summary: dict[str, Any] = {}
    variance_path = optional_path(inputs, "mofa_variance")
    if variance_path is not None:
        variance = read_matrix(variance_path)
        summary["mofa_r2"] = variance.round(4).to_dict(orient="index")
        heatmap(variance, path_list(outputs.get("heatmap", [])))
    pca = _read_tsv(optional_path(inputs, "pca_variance"))
    if pca is not None:
        summary["joint_pca_variance_ratio"] = pca.set_index("component")["variance_ratio"].round(
            4).to_dict()
    cca = _read_tsv(optional_path(inputs, "cca"))
    if cca is not None:
        summary["canonical_correlations"] = cca.set_index("component")["correlation"].round(
            6).to_dict()
    nmf = optional_path(inputs, "nmf")
    if nmf is not None:
        summary["nmf_components"] = int(read_matrix(nmf).shape[1])
    associations = _read_tsv(optional_path(inputs, "associations"))
    if associations is not None:
        summary["associations_q_below_0.05"] = associations[associations["q_value"] < 0.05][
            ["factor", "variable", "test", "q_value"]].to_dict(orient="records")
    dropped = _read_tsv(optional_path(inputs, "dropped"))
    if dropped is not None:
        summary["samples_dropped_or_missing"] = dropped.groupby(["layer", "action"]).size().rename(
            "n").reset_index().to_dict(orient="records")
    scores_path = optional_path(inputs, "factors") or optional_path(inputs, "embeddings")
    scatter_paths = path_list(outputs.get("scatter", []))
    if scores_path is not None and scatter_paths:
        scores = read_matrix(scores_path)
        scores = scores.loc[:, scores.std() > 1e-8]
        meta = read_metadata(optional_path(inputs, "metadata"), scores.index)
        column = config["group_column"]
        groups = meta[column] if meta is not None and column in meta.columns else None
        scatter(scores, groups, scatter_paths)
    out = single_path(outputs, "summary", output=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    context.log.info("summary of %d analyses", len(summary))
    return completed({"analyses": ",".join(summary), "plots": len(path_list(
        outputs.get("heatmap", []))) + len(scatter_paths)})
