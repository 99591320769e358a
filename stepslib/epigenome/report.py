"""``epigenome.report``: β histograms, per-chromosome plot, volcano plot, summary JSON
(MetaInformAnt's ``workflow_summary.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, optional_path, single_path, step

_OPTIONAL = {"required": False}


def _histograms(beta: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    samples = [c for c in beta.columns if c not in ("chrom", "pos")]
    fig, axes = plt.subplots(1, len(samples), figsize=(3 * len(samples), 2.8), squeeze=False)
    for ax, sample in zip(axes[0], samples, strict=True):
        ax.hist(beta[sample].dropna(), bins=40, range=(0, 1), color="#4477aa")
        ax.set_title(sample, fontsize=9)
        ax.set_xlabel("β")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _chromosomes(summary: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    for sample, part in summary.groupby("sample"):
        ax.errorbar(part["chromosome"].astype(str), part["mean"], yerr=part["std"], marker="o",
                    capsize=3, label=str(sample), linestyle="none")
    ax.set_ylabel("mean β (± sd)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _volcano(dml: Any, p_threshold: float, path: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 4))
    logp = -np.log10(np.maximum(dml["pval"].to_numpy(), 1e-300))
    hit = dml["pval"].to_numpy() < p_threshold
    ax.scatter(dml["diff"][~hit], logp[~hit], s=3, color="#999999")
    ax.scatter(dml["diff"][hit], logp[hit], s=4, color="#cc3311")
    ax.axhline(-np.log10(p_threshold), color="#cc3311", linewidth=0.7, linestyle="--")
    ax.set_xlabel("methylation difference (group1 - group2)")
    ax.set_ylabel("-log10 p")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@step("epigenome.report", version="1",
      params={"properties": {"p_threshold": {"type": "number", "default": 0.001,
                                             "description": "Line drawn on the volcano plot."}}},
      inputs={"beta": {"description": "epigenome.beta's table", "required": False},
              "summary": {"description": "epigenome.summarize's table", "required": False},
              "dml": {"description": "epigenome.dml's table", "required": False},
              "dmr": {"description": "epigenome.dmr's table", "required": False},
              "integration": {"description": "epigenome.peaks_overlap's JSON",
                              "required": False},
              "qc": {"description": "epigenome.qc's samples", "required": False}},
      outputs={"histograms": {"description": "β histograms", "suffixes": [".png", ".svg"],
                              "required": False},
               "chromosomes": {"description": "per-chromosome mean β",
                               "suffixes": [".png", ".svg"], "required": False},
               "volcano": {"description": "volcano plot", "suffixes": [".png", ".svg"],
                           "required": False},
               "summary": "workflow_summary.json"})
def report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Plots of what the run produced and one JSON summary of it."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    summary: dict[str, Any] = {}
    plots = []
    beta_path = optional_path(inputs, "beta")
    if beta_path is not None and (out := optional_path(outputs, "histograms", output=True)):
        beta = pd.read_csv(beta_path, sep="\t", dtype={"chrom": str})
        _histograms(beta, out)
        plots.append(out.name)
        samples = [c for c in beta.columns if c not in ("chrom", "pos")]
        summary["cpgs"] = len(beta)
        summary["mean_beta"] = {s: float(beta[s].mean()) for s in samples}
    chrom_path = optional_path(inputs, "summary")
    if chrom_path is not None and (out := optional_path(outputs, "chromosomes", output=True)):
        _chromosomes(pd.read_csv(chrom_path, sep="\t", dtype={"chromosome": str}), out)
        plots.append(out.name)
    dml_path = optional_path(inputs, "dml")
    if dml_path is not None and (out := optional_path(outputs, "volcano", output=True)):
        dml = pd.read_csv(dml_path, sep="\t", dtype={"chrom": str})
        _volcano(dml, config["p_threshold"], out)
        plots.append(out.name)
        summary["cpgs_tested"] = len(dml)
        summary["cpgs_p_below_threshold"] = int((dml["pval"] < config["p_threshold"]).sum())
    dmr_path = optional_path(inputs, "dmr")
    if dmr_path is not None:
        dmr = pd.read_csv(dmr_path, sep="\t", dtype={"chrom": str})
        summary["dmrs"] = dmr[["chrom", "start", "end", "nCG", "diff.Methy"]].to_dict("records")
    qc_path = optional_path(inputs, "qc")
    if qc_path is not None:
        summary["samples"] = pd.read_csv(qc_path, sep="\t", dtype=str).to_dict("records")
    integration = optional_path(inputs, "integration")
    if integration is not None:
        summary["peaks_overlap"] = json.loads(integration.read_text())
    summary["plots"] = plots
    single_path(outputs, "summary", output=True).write_text(
        json.dumps(summary, indent=2, default=str) + "\n")
    return {"status": "completed",
            "output": {"plots": len(plots), "dmrs": len(summary.get("dmrs", [])),
                       "cpgs": summary.get("cpgs")},
            "warnings": [], "metadata": {}}
