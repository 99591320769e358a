"""``simulation.report``: SFS plot, windowed π plot and one summary JSON of the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import optional_path, single_path, step
from stepslib.simulation._common import completed


@step("simulation.report", version="1",
      inputs={"stats": "summary JSON of simulation.stats", "sfs": "SFS TSV",
              "windows": "windowed π TSV", "model": "JSON of simulation.demography",
              "truth": {"description": "truth table of simulation.phenotype (may be an empty list)",
                        "required": False}},
      outputs={"sfs_plot": {"description": "SFS bar plot", "suffixes": [".png", ".svg"]},
               "windows_plot": {"description": "π along the sequence", "suffixes": [".png", ".svg"]},
               "summary": {"description": "workflow summary JSON", "suffixes": [".json"]}})
def report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: Any) -> dict[str, Any]:
    """Plots and ``workflow_summary.json`` (MetaInformAnt's name for it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    stats = json.loads(Path(single_path(inputs, "stats")).read_text())
    model = json.loads(Path(single_path(inputs, "model")).read_text())
    sfs = pd.read_csv(single_path(inputs, "sfs"), sep="\t")
    windows = pd.read_csv(single_path(inputs, "windows"), sep="\t")
    populations = [p for p in dict.fromkeys(sfs["population"]) if p != "all"]
    fig, axes = plt.subplots(1, len(populations), figsize=(4 * len(populations), 3.2), squeeze=False)
    for ax, pop in zip(axes[0], populations):
        part = sfs[sfs["population"] == pop]
        ax.bar(part["derived_count"], part["sites"], width=1.0, color="#4c72b0")
        ax.set(title=f"SFS {pop}", xlabel="derived allele count", ylabel="sites")
    fig.tight_layout()
    _save(fig, Path(single_path(outputs, "sfs_plot", output=True)))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for pop, part in windows.groupby("population", sort=False):
        ax.step((part["start"] + part["end"]) / 2, part["pi"], where="mid", label=str(pop))
    ax.set(xlabel="position (bp)", ylabel="π per bp", title="windowed π")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, Path(single_path(outputs, "windows_plot", output=True)))
    plt.close(fig)
    truth_path = optional_path(inputs, "truth")
    planted = (pd.read_csv(truth_path, sep="\t")["SNP"].tolist() if truth_path else [])
    summary = {"model": "coalescent", "demography": model, "statistics": stats,
               "planted_causal_sites": planted}
    Path(single_path(outputs, "summary", output=True)).write_text(
        json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return completed({"populations": len(populations), "planted_causal_sites": len(planted)})


def _save(fig: Any, path: Path) -> None:
    # No creation date in the files: reruns with the same seed stay byte-identical.
    meta = {"Date": None} if path.suffix == ".svg" else {"Software": None}
    fig.savefig(path, metadata=meta, dpi=100)


@step("simulation.summary", version="1", params={"properties": {
        "model": {"enum": ["coalescent", "sequences", "expression", "agents"],
                  "description": "MetaInformAnt's --model"},
        "seed": {"type": "integer"}}, "required": ["model"]},
      inputs={"files": "what the model wrote (JSON files are copied into the summary)"},
      outputs={"summary": {"description": "workflow_summary.json", "suffixes": [".json"]}})
def summary(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: Any) -> dict[str, Any]:
    """MetaInformAnt's ``workflow_summary.json``: the model, its seed and its files."""
    import os

    from engine import path_list

    target = Path(single_path(outputs, "summary", output=True))
    files, details = [], {}
    for path in path_list(inputs.get("files")):
        path = Path(path)
        # relative to the summary: the same run elsewhere writes the same bytes
        files.append({"path": os.path.relpath(path, target.parent),
                      "bytes": path.stat().st_size if path.is_file() else None})
        if path.suffix == ".json" and path.is_file() and path.stat().st_size < 1_000_000:
            details[path.name] = json.loads(path.read_text())
    document = {"model": config["model"], "seed": config.get("seed"), "files": files,
                "details": details}
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return completed({"model": config["model"], "files": len(files)})
