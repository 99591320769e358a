"""Tree steps of specs/dna/phylo.yaml: distances, nucleotide diversity, NJ and ML trees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, require_tool, single_path, step
from stepslib.dna._tools import result

DELETION = {"enum": ["complete", "pairwise"], "default": "complete",
            "description": "missing data (gaps, N, ambiguity codes): complete deletion drops a "
                           "column missing in any sequence (ape's default); pairwise uses each "
                           "pair's shared known columns (MetaInformAnt's pi)"}


def read_matrix(path: Path) -> tuple[list[str], Any]:
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", index_col=0)
    return [str(n) for n in frame.index], frame.to_numpy()


@step(
    "dna.distances",
    version="1",
    params={"properties": {
        "model": {"enum": ["JC69", "K80", "p"], "default": "JC69",
                  "description": "Jukes-Cantor 1969, Kimura 1980 two-parameter, or raw p"},
        "deletion": DELETION}},
    inputs={"alignment": "aligned FASTA"},
    outputs={"matrix": {"description": "square distance matrix (TSV, names as header and index)",
                        "suffixes": [".tsv"]}},
)
def distances(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Pairwise JC69/K80/p distances (see stepslib/dna/distcore.py for the gap semantics)."""
    import numpy as np
    import pandas as pd

    from stepslib.dna.distcore import distance_matrix, encode
    from stepslib.dna.sequences import read_fasta

    records = read_fasta(single_path(inputs, "alignment"))
    codes = encode(list(records.values()))
    matrix = distance_matrix(codes, config["model"], config["deletion"])
    frame = pd.DataFrame(matrix, index=list(records), columns=list(records))
    frame.to_csv(single_path(outputs, "matrix", output=True), sep="\t", float_format="%.17g")
    upper = matrix[np.triu_indices(len(records), 1)]
    sites = int((codes >= 0).all(axis=0).sum())
    return result({"model": config["model"], "deletion": config["deletion"],
                   "mean_distance": float(upper.mean()), "max_distance": float(upper.max()),
                   "complete_sites": sites})


@step(
    "dna.population",
    version="1",
    params={"properties": {"deletion": {**DELETION, "default": "pairwise"}}},
    inputs={"alignment": "aligned FASTA"},
    outputs={"json": {"description": "population_analysis.json", "suffixes": [".json"]}},
)
def population(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: StepContext) -> dict[str, Any]:
    """Nucleotide diversity (pi), segregating sites and Watterson's theta of the alignment."""
    from stepslib.dna.distcore import diversity, encode
    from stepslib.dna.sequences import read_fasta

    records = read_fasta(single_path(inputs, "alignment"))
    values = {**diversity(encode(list(records.values())), config["deletion"]),
              "deletion": config["deletion"]}
    single_path(outputs, "json", output=True).write_text(json.dumps(values, indent=2) + "\n")
    return result(values)


@step(
    "dna.nj_tree",
    version="1",
    inputs={"matrix": "distance matrix (dna.distances)"},
    outputs={"newick": {"description": "neighbour-joining tree", "suffixes": [".newick", ".nwk"]},
             "json": {"description": "phylogeny_analysis.json: matrix and tree",
                      "suffixes": [".json"]}},
)
def nj_tree(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """Neighbour joining (Saitou and Nei 1987) with scikit-bio; an unrooted tree in Newick."""
    from skbio import DistanceMatrix
    from skbio.tree import nj

    names, matrix = read_matrix(single_path(inputs, "matrix"))
    if len(names) < 3:
        raise StepError(f"neighbour joining needs 3 or more sequences, got {len(names)}")
    tree = nj(DistanceMatrix(matrix, names))
    newick = str(tree).strip()
    single_path(outputs, "newick", output=True).write_text(newick + "\n")
    document = {"method": "neighbour joining (scikit-bio)", "newick": newick, "names": names,
                "distance_matrix": matrix.tolist()}
    single_path(outputs, "json", output=True).write_text(json.dumps(document, indent=2) + "\n")
    return result({"n_tips": len(names), "tree_length": float(sum(
        node.length or 0.0 for node in tree.traverse()))})


@step(
    "dna.ml_tree",
    version="1",
    tools=["iqtree2", "fasttree"],
    params={"properties": {
        "program": {"enum": ["iqtree2", "fasttree"], "default": "iqtree2",
                    "description": "IQ-TREE 2 or FastTree (-nt -gtr)"},
        "model": {"type": "string", "default": "HKY",
                  "description": "IQ-TREE substitution model (-m), e.g. HKY, GTR+G, MFP"},
        "seed": {"type": "integer", "default": 1, "description": "IQ-TREE -seed"}}},
    inputs={"alignment": "aligned FASTA"},
    outputs={"newick": {"description": "maximum-likelihood tree", "suffixes": [".newick", ".nwk"]}},
)
def ml_tree(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
            context: StepContext) -> dict[str, Any]:
    """A maximum-likelihood tree: ``iqtree2 -s ALN -m MODEL`` or ``fasttree -nt -gtr``."""
    alignment, target = single_path(inputs, "alignment"), single_path(outputs, "newick", output=True)
    tool = require_tool(config["program"])
    if config["program"] == "iqtree2":
        prefix = Path(context.tmp_dir) / "iqtree"
        context.run([tool, "-s", alignment, "-m", config["model"], "-seed", str(config["seed"]),
                     "-T", str(max(1, context.threads)), "--prefix", prefix, "-quiet"])
        shutil.copyfile(f"{prefix}.treefile", target)
        log_text = Path(f"{prefix}.iqtree").read_text()
        likelihood = next((line.split(":")[1].split()[0] for line in log_text.splitlines()
                           if line.startswith("Log-likelihood of the tree")), None)
    else:
        context.run([tool, "-nt", "-gtr", "-quiet", alignment], stdout=target)
        likelihood = None
    return result({"program": config["program"], "log_likelihood":
                   float(likelihood) if likelihood else None})
