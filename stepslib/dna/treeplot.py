"""``dna.phylo_report``: the trees drawn (PNG) and ``workflow_summary.json`` of phylo.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, single_path, step
from stepslib.dna._tools import paths, result


def draw_tree(newick: str, axis: Any, title: str) -> None:
    """A rectangular phylogram, midpoint-rooted for display (tips in tree order)."""
    from skbio import TreeNode

    tree = TreeNode.read([newick]).root_at_midpoint()
    y_of: dict[int, float] = {}
    x_of: dict[int, float] = {}
    for number, tip in enumerate(tree.tips()):
        y_of[id(tip)] = float(number)
    for node in tree.preorder():
        x_of[id(node)] = 0.0 if node.is_root() else x_of[id(node.parent)] + (node.length or 0.0)
    for node in tree.postorder():
        if not node.is_tip():
            y_of[id(node)] = sum(y_of[id(c)] for c in node.children) / len(node.children)
            ys = [y_of[id(c)] for c in node.children]
            axis.plot([x_of[id(node)]] * 2, [min(ys), max(ys)], color="black", lw=1)
        if not node.is_root():
            axis.plot([x_of[id(node.parent)], x_of[id(node)]], [y_of[id(node)]] * 2,
                      color="black", lw=1)
        if node.is_tip():
            axis.text(x_of[id(node)], y_of[id(node)], f" {node.name}", va="center", fontsize=8)
    axis.set(title=title, xlabel="substitutions per site", yticks=[])
    for side in ("left", "right", "top"):
        axis.spines[side].set_visible(False)


@step(
    "dna.phylo_report",
    version="1",
    inputs={"nj": {"description": "NJ tree (Newick); [] when phylogeny is off", "required": False},
            "ml": {"description": "ML tree (Newick), or []", "required": False},
            "composition": {"description": "composition_analysis.json, or []", "required": False},
            "population": {"description": "population_analysis.json, or []", "required": False},
            "filtered": "the length-filtered FASTA"},
    outputs={"plot": {"description": "the trees drawn", "suffixes": [".png"], "required": False},
             "newick": {"description": "phylogenetic_tree.newick (the NJ tree), or []",
                        "required": False},
             "summary": {"description": "workflow_summary.json", "suffixes": [".json"]}},
)
def phylo_report(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                 context: StepContext) -> dict[str, Any]:
    """Draw the NJ (and ML) tree; one summary of what ran and where its files are."""
    from stepslib.dna.sequences import read_fasta

    trees = {label: paths(inputs, key)[0].read_text().strip()
             for key, label in (("nj", "neighbour joining"), ("ml", "maximum likelihood"))
             if paths(inputs, key)}
    plot = paths(outputs, "plot", output=True)
    if trees and plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        n_tips = len(read_fasta(single_path(inputs, "filtered")))
        figure, axes = plt.subplots(1, len(trees), figsize=(6 * len(trees), 1.5 + 0.3 * n_tips),
                                    squeeze=False)
        for axis, (label, newick) in zip(axes[0], trees.items()):
            draw_tree(newick, axis, label)
        figure.tight_layout()
        figure.savefig(plot[0], dpi=100)
        plt.close(figure)
    newick_out = paths(outputs, "newick", output=True)
    if newick_out and "neighbour joining" in trees:
        newick_out[0].write_text(trees["neighbour joining"] + "\n")
    summary: dict[str, Any] = {"n_sequences_kept": len(read_fasta(single_path(inputs, "filtered"))),
                               "trees": trees}
    for key in ("composition", "population"):
        found = paths(inputs, key)
        summary[key] = json.loads(Path(found[0]).read_text()) if found else None
    if summary["composition"]:
        summary["composition"].pop("sequences", None)
    single_path(outputs, "summary", output=True).write_text(json.dumps(summary, indent=2) + "\n")
    return result({"n_sequences": summary["n_sequences_kept"], "trees": sorted(trees),
                   "nucleotide_diversity": (summary["population"] or {}).get("nucleotide_diversity")})
