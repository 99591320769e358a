"""``ecology.report``: alpha boxplots by group, the PCoA plot, rarefaction curves and
workflow_summary.json (every step's key numbers in one file, as MetaInformAnt writes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, optional_path, path_list, single_path, step
from stepslib.ecology.common import completed

PLOTS = [".png", ".svg", ".pdf"]

PARAMS = {
    "properties": {
        "dpi": {"type": "integer", "minimum": 50, "default": 120,
                "description": "Resolution of PNG files."},
        "indices": {"type": "array", "items": {"type": "string"},
                    "default": ["richness", "shannon", "simpson", "chao1"],
                    "description": "alpha.tsv columns drawn as boxplots."},
    },
}


def _tsv(path: Path | None) -> Any:
    import pandas as pd

    return None if path is None else pd.read_csv(path, sep="\t", index_col=0)


def _save(figure: Any, paths: list[Path], dpi: int) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi, bbox_inches="tight")


def _alpha_plot(alpha: Any, groups: Any, indices: list[str], paths: list[Path], dpi: int) -> None:
    import matplotlib.pyplot as plt

    indices = [i for i in indices if i in alpha.columns]
    figure, axes = plt.subplots(1, len(indices), figsize=(3.2 * len(indices), 3.4), squeeze=False)
    labels = groups.reindex(alpha.index) if groups is not None else None
    for ax, index in zip(axes[0], indices, strict=True):
        if labels is None:
            ax.boxplot([alpha[index].dropna()], tick_labels=["all sites"])
        else:
            levels = sorted(labels.unique())
            ax.boxplot([alpha.loc[labels == g, index].dropna() for g in levels], tick_labels=levels)
        ax.set_title(index)
    figure.tight_layout()
    _save(figure, paths, dpi)
    plt.close(figure)


def _pcoa_plot(scores: Any, eigen: Any, groups: Any, paths: list[Path], dpi: int) -> None:
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(5, 4.5))
    labels = groups.reindex(scores.index) if groups is not None else None
    second = scores["PC2"] if "PC2" in scores else 0 * scores["PC1"]
    for level in (sorted(labels.unique()) if labels is not None else [None]):
        rows = (labels == level) if labels is not None else scores.index == scores.index
        ax.scatter(scores.loc[rows, "PC1"], second[rows], label=level, s=30)
    if labels is not None:
        ax.legend(title="group", fontsize=8)
    share = eigen["proportion_explained"] if eigen is not None else None
    ax.set_xlabel("PC1" + (f" ({100 * share.iloc[0]:.1f} %)" if share is not None else ""))
    ax.set_ylabel("PC2" + (f" ({100 * share.iloc[1]:.1f} %)" if share is not None
                           and len(share) > 1 else ""))
    ax.set_title("PCoA")
    _save(figure, paths, dpi)
    plt.close(figure)


def _rarefaction_plot(curves: Any, groups: Any, paths: list[Path], dpi: int) -> None:
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(5.5, 4))
    levels = sorted(groups.unique()) if groups is not None else []
    colours = {g: f"C{i % 10}" for i, g in enumerate(levels)}
    for site, rows in curves.groupby(level=0):
        colour = colours.get(groups.get(site)) if groups is not None else "C0"
        ax.plot(rows["depth"], rows["expected_richness"], color=colour, lw=0.8)
    for level, colour in colours.items():
        ax.plot([], [], color=colour, label=level)
    if levels:
        ax.legend(title="group", fontsize=8)
    ax.set_xlabel("individuals sampled")
    ax.set_ylabel("expected species (exact)")
    ax.set_title("Rarefaction curves")
    _save(figure, paths, dpi)
    plt.close(figure)


def _summary(alpha: Any | None, tests: Any, eigen: Any, indicators: Any, fits: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if alpha is not None:
        summary["sites"] = len(alpha)
        summary["alpha_means"] = {k: float(v) for k, v in alpha.mean().items()}
    if eigen is not None:
        summary["pcoa_proportion_explained"] = [float(v) for v in
                                                eigen["proportion_explained"].iloc[:3]]
    if tests is not None:
        summary["tests"] = [{"factor": str(f), "test": r.test, "statistic": r.statistic,
                             "value": float(r.value), "p_value": float(r.p_value),
                             "permutations": int(r.permutations)} for f, r in tests.iterrows()]
    if indicators is not None:
        top = indicators[indicators["q_value"] < 0.05]
        summary["indicator_species"] = {str(s): {"group": str(r.group), "indval": float(r.indval),
                                                 "q_value": float(r.q_value)}
                                        for s, r in top.iterrows()}
    if fits is not None:
        summary["abundance_models"] = {str(m): {"aic": float(r.aic), "parameters": r.parameters}
                                       for m, r in fits.iterrows()}
    return summary


@step(
    "ecology.report",
    params=PARAMS,
    version="1",
    inputs={
        "alpha": {"description": "ecology.alpha's table", "required": False},
        "curves": {"description": "ecology.rarefaction's curves", "required": False},
        "scores": {"description": "ecology.ordination's scores", "required": False},
        "eigenvalues": {"description": "ecology.ordination's eigenvalues", "required": False},
        "groups": {"description": "ecology.load's groups", "required": False},
        "tests": {"description": "ecology.tests' results", "required": False},
        "indicators": {"description": "ecology.indicators' table", "required": False},
        "fits": {"description": "ecology.abundance's fits", "required": False},
    },
    outputs={
        "summary": {"description": "workflow_summary.json", "suffixes": [".json"]},
        "alpha_plot": {"description": "alpha boxplots (needs alpha)", "required": False,
                       "suffixes": PLOTS},
        "pcoa_plot": {"description": "PC1/PC2 by group (needs scores)", "required": False,
                      "suffixes": PLOTS},
        "rarefaction_plot": {"description": "curves (needs curves)", "required": False,
                             "suffixes": PLOTS},
    },
)
def report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Plots and workflow_summary.json from whatever the other steps produced."""
    import matplotlib

    matplotlib.use("Agg")
    dpi = config["dpi"]
    alpha = _tsv(optional_path(inputs, "alpha"))
    groups_table = _tsv(optional_path(inputs, "groups"))
    groups = groups_table["group"].astype(str) if groups_table is not None else None
    if groups is not None:
        groups.index = groups.index.astype(str)
    drawn = []
    if alpha is not None and path_list(outputs.get("alpha_plot")):
        alpha.index = alpha.index.astype(str)
        _alpha_plot(alpha, groups, config["indices"], path_list(outputs["alpha_plot"]), dpi)
        drawn.append("alpha")
    scores, eigen = _tsv(optional_path(inputs, "scores")), _tsv(optional_path(inputs, "eigenvalues"))
    if scores is not None and path_list(outputs.get("pcoa_plot")):
        scores.index = scores.index.astype(str)
        _pcoa_plot(scores, eigen, groups, path_list(outputs["pcoa_plot"]), dpi)
        drawn.append("pcoa")
    curves = _tsv(optional_path(inputs, "curves"))
    if curves is not None and path_list(outputs.get("rarefaction_plot")):
        curves.index = curves.index.astype(str)
        _rarefaction_plot(curves, groups, path_list(outputs["rarefaction_plot"]), dpi)
        drawn.append("rarefaction")
    summary = _summary(alpha, _tsv(optional_path(inputs, "tests")), eigen,
                       _tsv(optional_path(inputs, "indicators")), _tsv(optional_path(inputs, "fits")))
    single_path(outputs, "summary", output=True).write_text(json.dumps(summary, indent=2) + "\n")
    context.log.info("report: %s plots, summary with %d sections", ", ".join(drawn), len(summary))
    return completed({"plots": ", ".join(drawn) or "none", "summary_sections": len(summary)})
