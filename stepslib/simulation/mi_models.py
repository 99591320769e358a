"""MetaInformAnt's non-coalescent models (``simulation run --model sequences|expression|agents``)
with its flag names: random DNA with GC content and point mutations, negative-binomial
expression counts in amalgkit's merge layout, and a grid world of random-walking agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import single_path, step
from stepslib.simulation._common import SEED_PARAM, completed

_BASES = "ACGT"


@step("simulation.sequences", version="1", inputs={}, params={"properties": {
        "n": {"type": "integer", "minimum": 1, "default": 100, "description": "sequences (--n)"},
        "length": {"type": "integer", "minimum": 1, "default": 500, "description": "bp (--length)"},
        "gc_content": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
        "mutations": {"type": "integer", "minimum": 0, "default": 0,
                      "description": "point substitutions per sequence after generation, at "
                                     "distinct positions (listed in the truth table)"},
        "seed": SEED_PARAM}},
      outputs={"fasta": {"description": "simulated_sequences.fasta", "suffixes": [".fasta", ".fa"]},
               "truth": {"description": "TSV sequence_id, position, original, mutated",
                         "suffixes": [".tsv"]}})
def sequences(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: Any) -> dict[str, Any]:
    """``--model sequences``: i.i.d. bases with P(G) = P(C) = gc/2, then ``mutations`` changes."""
    import numpy as np

    rng = np.random.default_rng(config["seed"])
    gc, length = config["gc_content"], config["length"]
    probs = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    bases = np.array(list(_BASES))
    n_mut = min(config["mutations"], length)
    fasta, truth = [], ["sequence_id\tposition\toriginal\tmutated"]
    gc_total = 0
    for i in range(config["n"]):
        seq = rng.choice(bases, size=length, p=probs)
        for pos in np.sort(rng.choice(length, size=n_mut, replace=False)):
            new = bases[(np.searchsorted(bases, seq[pos]) + rng.integers(1, 4)) % 4]
            truth.append(f"seq_{i + 1}\t{pos + 1}\t{seq[pos]}\t{new}")
            seq[pos] = new
        gc_total += int(np.isin(seq, ["G", "C"]).sum())
        text = "".join(seq)
        fasta.append(f">seq_{i + 1}\n" + "\n".join(text[k:k + 60] for k in range(0, length, 60)))
    Path(single_path(outputs, "fasta", output=True)).write_text("\n".join(fasta) + "\n")
    Path(single_path(outputs, "truth", output=True)).write_text("\n".join(truth) + "\n")
    realised = gc_total / (config["n"] * length)
    return completed({"sequences": config["n"], "length": length, "gc_content": realised,
                      "mutations": n_mut * config["n"]})


@step("simulation.expression", version="1", inputs={}, params={"properties": {
        "num_genes": {"type": "integer", "minimum": 1, "default": 1000},
        "num_samples": {"type": "integer", "minimum": 2, "default": 20},
        "mean_expression": {"type": "number", "exclusiveMinimum": 0, "default": 100},
        "dispersion": {"type": "number", "exclusiveMinimum": 0, "default": 0.1,
                       "description": "NB dispersion φ: variance = μ + φμ²"},
        "de_fraction": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.1,
                        "description": "share of genes with a planted group difference"},
        "fold_change": {"type": "number", "exclusiveMinimum": 0, "default": 4.0,
                        "description": "mean in group B / group A for the planted genes"},
        "species": {"type": "string", "default": "Simulated species"},
        "seed": SEED_PARAM}},
      outputs={"counts_csv": {"description": "MetaInformAnt's simulated_expression.csv",
                              "suffixes": [".csv"]},
               "est_counts": {"description": "amalgkit merge layout <Sp>_est_counts.tsv",
                              "suffixes": [".tsv"]},
               "eff_length": {"description": "<Sp>_eff_length.tsv (1000 for every gene)",
                              "suffixes": [".tsv"]},
               "metadata": {"description": "merge/metadata.tsv for rna.cstmm / rna.curate",
                            "suffixes": [".tsv"]},
               "truth": {"description": "TSV gene, mean_a, mean_b, planted (true/false)",
                         "suffixes": [".tsv"]}})
def expression(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: Any) -> dict[str, Any]:
    """``--model expression``: NB(μ_g, φ) counts, μ_g = mean_expression x Gamma(2)/2 per gene."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(config["seed"])
    genes, samples = config["num_genes"], config["num_samples"]
    base = config["mean_expression"] * rng.gamma(2.0, 0.5, size=genes)
    planted = rng.random(genes) < config["de_fraction"]
    group_b = np.arange(samples) >= samples // 2
    mean = np.where(planted[:, None] & group_b[None, :], base[:, None] * config["fold_change"],
                    base[:, None])
    phi = config["dispersion"]
    # numpy's negative_binomial(n, p) has mean n(1-p)/p: n = 1/φ, p = 1/(1 + φμ)
    counts = rng.negative_binomial(1.0 / phi, 1.0 / (1.0 + phi * mean))
    gene_ids = [f"gene_{g}" for g in range(genes)]
    sample_ids = [f"sample_{s}" for s in range(samples)]
    pd.DataFrame(counts, index=gene_ids, columns=sample_ids).to_csv(
        single_path(outputs, "counts_csv", output=True))
    runs = [f"SIM{s + 1:04d}" for s in range(samples)]
    pd.DataFrame(counts, columns=runs).assign(target_id=gene_ids)[["target_id", *runs]].to_csv(
        single_path(outputs, "est_counts", output=True), sep="\t", index=False)
    pd.DataFrame(1000.0, index=range(genes), columns=runs).assign(target_id=gene_ids)[
        ["target_id", *runs]].to_csv(single_path(outputs, "eff_length", output=True), sep="\t",
                                     index=False)
    pd.DataFrame({"run": runs, "scientific_name": config["species"],
                  "sample_group": np.where(group_b, "group_B", "group_A"),
                  "bioproject": "PRJSIM01", "mapping_rate": 100.0, "exclusion": "no"}).to_csv(
        single_path(outputs, "metadata", output=True), sep="\t", index=False)
    pd.DataFrame({"gene": gene_ids, "mean_a": base, "mean_b": mean[:, -1],
                  "planted": planted}).to_csv(single_path(outputs, "truth", output=True),
                                              sep="\t", index=False)
    return completed({"genes": genes, "samples": samples, "planted_genes": int(planted.sum()),
                      "mean_count": float(counts.mean())}, dispersion=phi)


@step("simulation.agents", version="1", inputs={}, params={"properties": {
        "width": {"type": "integer", "minimum": 1, "default": 50},
        "height": {"type": "integer", "minimum": 1, "default": 50},
        "num_agents": {"type": "integer", "minimum": 0, "default": 100},
        "steps": {"type": "integer", "minimum": 0, "default": 100},
        "record_every": {"type": "integer", "minimum": 1, "default": 10},
        "seed": SEED_PARAM}},
      outputs={"json": {"description": "agent_simulation.json", "suffixes": [".json"]}})
def agents(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: Any) -> dict[str, Any]:
    """``--model agents``: a GridWorld on a torus; each step every agent moves to one of its
    four neighbours or stays (uniformly); positions recorded every ``record_every`` steps."""
    import numpy as np

    rng = np.random.default_rng(config["seed"])
    width, height, n = config["width"], config["height"], config["num_agents"]
    pos = np.column_stack([rng.integers(0, width, n), rng.integers(0, height, n)])
    moves = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    frames = [{"step": 0, "positions": pos.tolist()}]
    start = pos.copy()
    for t in range(1, config["steps"] + 1):
        pos = (pos + moves[rng.integers(0, 5, n)]) % [width, height]
        if t % config["record_every"] == 0 or t == config["steps"]:
            frames.append({"step": t, "positions": pos.tolist()})
    document = {"width": width, "height": height, "num_agents": n, "steps": config["steps"],
                "seed": config["seed"], "frames": frames}
    Path(single_path(outputs, "json", output=True)).write_text(json.dumps(document) + "\n")
    wrapped = np.minimum(np.abs(pos - start), [width, height] - np.abs(pos - start))
    return completed({"agents": n, "steps": config["steps"], "frames": len(frames),
                      "mean_displacement": float(np.hypot(*wrapped.T).mean()) if n else 0.0})
