"""Make the bundled multiomics example: 3 omics layers on shared samples from 4 planted factors.

Deterministic (fixed seed). Run from anywhere::

    python examples/multiomics/make_example_data.py [OUT_DIR]

Writes (default: next to this script):
- ``transcriptomics.tsv``: counts, samples x 300 genes (``sample_id`` column; log1p'd by the
  workflow);
- ``proteomics.csv``: intensities, samples x 200 proteins (CSV: MetaInformAnt reads CSV too);
- ``metabolomics.tsv``: abundances, samples x 150 metabolites;
- ``metadata.tsv``: ``sample_id``, ``group`` (A/B/C), ``phenotype`` (a number);
- ``factors.tsv``: the planted factor values of every sample (Z1..Z4);
- ``truth.tsv``: what was planted (``kind``, ``name``, ``value``).

Design (after the mofapy2 trials in the project's reference notes): 120 samples, 4 factors
drawn N(0, 1) and made orthogonal, with view-specific zero blocks in the weights:

    factor   transcriptomics  proteomics  metabolomics
    Z1       active           active      active
    Z2       active           active      -
    Z3       -                active      active
    Z4       active           -           -

Active weights are N(0, 1); noise sd 0.5. The transcriptomics layer is negative binomial
counts whose log mean is 5 + 0.5 * (Z W), so log1p brings it back to the linear model.
Samples are missing per layer (8 from transcriptomics, 10 from proteomics, 12 from
metabolomics, disjoint), so an inner join keeps 90 samples and an outer join 120.
The group shifts Z1 (A -1.5, B 0, C +1.5 before standardising) and the phenotype is
2 * Z2 + N(0, 0.5): ``associate`` must find Z1 ~ group and Z2 ~ phenotype.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 17
N_SAMPLES = 120
FEATURES = {"transcriptomics": 300, "proteomics": 200, "metabolomics": 150}
ACTIVE = {"transcriptomics": [1, 1, 0, 1], "proteomics": [1, 1, 1, 0], "metabolomics": [1, 0, 1, 0]}
MISSING = {"transcriptomics": 8, "proteomics": 10, "metabolomics": 12}
PREFIX = {"transcriptomics": "gene", "proteomics": "prot", "metabolomics": "met"}


def planted_factors(rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
    """4 orthogonal, unit-variance factors; Z1 carries the group shift."""
    raw = rng.normal(size=(N_SAMPLES, 4))
    raw[:, 0] += np.select([groups == "A", groups == "C"], [-1.5, 1.5], 0.0)
    centred = raw - raw.mean(axis=0)
    q, r = np.linalg.qr(centred)
    q = q * np.sign(np.diag(r))  # keep each factor's direction (Z1 still follows the group)
    return q * np.sqrt(N_SAMPLES - 1)


def layer_values(rng: np.random.Generator, layer: str, factors: np.ndarray) -> np.ndarray:
    weights = rng.normal(size=(4, FEATURES[layer])) * np.array(ACTIVE[layer])[:, None]
    signal = factors @ weights + rng.normal(scale=0.5, size=(N_SAMPLES, FEATURES[layer]))
    if layer == "transcriptomics":
        mean = np.exp(5.0 + 0.5 * signal)
        return rng.poisson(mean).astype(float)
    if layer == "proteomics":
        return 20.0 + signal
    return signal


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    samples = [f"S{i:03d}" for i in range(1, N_SAMPLES + 1)]
    groups = np.array(["A", "B", "C"] * (N_SAMPLES // 3))
    factors = planted_factors(rng, groups)
    phenotype = 2.0 * factors[:, 1] + rng.normal(scale=0.5, size=N_SAMPLES)
    dropped = rng.permutation(N_SAMPLES)
    start = 0
    truth = [("n_samples", "all", str(N_SAMPLES))]
    for layer, n_features in FEATURES.items():
        values = layer_values(rng, layer, factors)
        names = [f"{PREFIX[layer]}{j:03d}" for j in range(1, n_features + 1)]
        table = pd.DataFrame(values, columns=names)
        table.insert(0, "sample_id", samples)
        missing = sorted(dropped[start:start + MISSING[layer]])
        start += MISSING[layer]
        table = table.drop(index=missing)
        fmt = "%.0f" if layer == "transcriptomics" else "%.6f"
        if layer == "proteomics":
            table.to_csv(out / "proteomics.csv", index=False, float_format=fmt)
        else:
            table.to_csv(out / f"{layer}.tsv", sep="\t", index=False, float_format=fmt)
        truth.append(("missing_samples", layer, ",".join(samples[i] for i in missing)))
        truth.append(("active_factors", layer, ",".join(
            f"Z{k + 1}" for k in range(4) if ACTIVE[layer][k])))
        truth.append(("inactive_factors", layer, ",".join(
            f"Z{k + 1}" for k in range(4) if not ACTIVE[layer][k])))
    truth.append(("n_samples_inner_join", "all", str(N_SAMPLES - start)))
    truth.append(("group_factor", "group", "Z1"))
    truth.append(("phenotype_factor", "phenotype", "Z2"))
    pd.DataFrame({"sample_id": samples, "group": groups, "phenotype": phenotype}).to_csv(
        out / "metadata.tsv", sep="\t", index=False, float_format="%.6f")
    planted = pd.DataFrame(factors, columns=["Z1", "Z2", "Z3", "Z4"])
    planted.insert(0, "sample_id", samples)
    planted.to_csv(out / "factors.tsv", sep="\t", index=False, float_format="%.6f")
    pd.DataFrame(truth, columns=["kind", "name", "value"]).to_csv(out / "truth.tsv", sep="\t",
                                                                   index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
