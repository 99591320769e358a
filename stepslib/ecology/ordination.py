"""``ecology.ordination``: principal coordinates (PCoA, classical scaling) of a distance matrix.

The eigenvalues are those of ``cmdscale(d, eig = TRUE)`` (Gower's double-centred -D^2/2);
Bray-Curtis is not Euclidean, so some are negative: they are kept in eigenvalues.tsv and
proportions are of the sum of the positive ones (as vegan's ``wcmdscale``/``eigenvals``).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.ecology.common import completed, read_distance, write_table
from stepslib.ecology.nmds import nmds

PARAMS = {
    "properties": {
        "n_axes": {"type": "integer", "minimum": 1, "default": 10,
                   "description": "Site scores written for at most this many positive axes."},
        "nmds_dimensions": {"type": "integer", "minimum": 1, "default": 2,
                            "description": "NMDS dimensions (with output 'nmds')."},
        "nmds_starts": {"type": "integer", "minimum": 1, "default": 20,
                        "description": "NMDS starts (the PCoA one + seeded random ones)."},
        "seed": {"type": "integer", "default": 1, "description": "NMDS random seed."},
    },
}


def gower_eigen(distances: Any) -> tuple[Any, Any]:
    """Eigenvalues (decreasing) and eigenvectors of Gower's centred matrix -D²/2: the
    principal coordinates' basis, which PCoA and vegan's betadisper share."""
    import numpy as np

    d = np.asarray(distances, dtype=float)
    n = d.shape[0]
    centre = np.eye(n) - np.ones((n, n)) / n
    gower = -0.5 * centre @ (d * d) @ centre
    values, vectors = np.linalg.eigh((gower + gower.T) / 2)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def pcoa(distances: Any) -> tuple[Any, Any]:
    """(eigenvalues, all in decreasing order; site scores on the positive axes)."""
    import numpy as np

    values, vectors = gower_eigen(distances)
    tol = np.sqrt(np.finfo(float).eps) * abs(values[0])
    positive = values > tol
    scores = vectors[:, positive] * np.sqrt(values[positive])
    # eigh's sign is arbitrary: make the largest loading of each axis positive, for stable plots
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(scores.shape[1])])
    return values, scores * np.where(signs == 0, 1, signs)


@step(
    "ecology.ordination",
    params=PARAMS,
    version="1",
    inputs={"distance": "a square distance TSV (ecology.beta's braycurtis, ...)"},
    outputs={
        "scores": {"description": "site scores PC1.. (TSV)", "suffixes": [".tsv"]},
        "eigenvalues": {"description": "axis, eigenvalue, proportion_explained",
                        "suffixes": [".tsv"]},
        "nmds": {"description": "NMDS site scores (optional: declare it to run NMDS)",
                 "required": False, "suffixes": [".tsv"]},
    },
)
def ordination(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: StepContext) -> dict[str, Any]:
    """PCoA: eigenvalues (negative ones included), proportion explained, site scores; NMDS
    (Kruskal stress-1) when the output 'nmds' is declared."""
    import numpy as np
    import pandas as pd

    matrix = read_distance(single_path(inputs, "distance"))
    if len(matrix.ids) < 3:
        raise StepError(f"PCoA needs at least 3 sites, got {len(matrix.ids)}",
                        hint="ordination of fewer sites says nothing")
    values, scores = pcoa(matrix.data)
    n_axes = min(config["n_axes"], scores.shape[1])
    positive_sum = values[values > 0].sum()
    eig = pd.DataFrame({"axis": [f"PC{i + 1}" for i in range(len(values))],
                        "eigenvalue": values,
                        "proportion_explained": np.where(values > 0, values / positive_sum, 0.0)})
    eig.set_index("axis").pipe(write_table, single_path(outputs, "eigenvalues", output=True),
                               index_label="axis")
    frame = pd.DataFrame(scores[:, :n_axes], index=list(matrix.ids),
                         columns=[f"PC{i + 1}" for i in range(n_axes)])
    write_table(frame, single_path(outputs, "scores", output=True))
    negative = int((values < -np.sqrt(np.finfo(float).eps) * abs(values[0])).sum())
    warnings = ([f"{negative} negative eigenvalues (the distance is not Euclidean); proportions "
                 "are of the positive eigenvalues' sum"] if negative else [])
    extra: dict[str, Any] = {}
    nmds_path = optional_path(outputs, "nmds", output=True)
    if nmds_path is not None:
        dims = config["nmds_dimensions"]
        points, stress = nmds(matrix.data, dims, config["nmds_starts"], config["seed"], scores)
        write_table(pd.DataFrame(points, index=list(matrix.ids),
                                 columns=[f"NMDS{i + 1}" for i in range(dims)]), nmds_path)
        extra["nmds_stress"] = stress
        if stress < 1e-3:
            warnings.append(f"NMDS stress {stress:.2g} is nearly zero: the solution may be "
                            "degenerate (well separated groups collapse to points, as vegan "
                            "warns); read the PCoA instead")
        if stress > 0.2:
            warnings.append(f"NMDS stress {stress:.3f} > 0.2: the ordination is poor; try more "
                            "dimensions")
    proportions = eig["proportion_explained"].to_numpy()
    context.log.info("PCoA: PC1 %.1f %%, PC2 %.1f %%", 100 * proportions[0],
                     100 * proportions[1] if len(proportions) > 1 else 0.0)
    return completed({"pc1_explained": float(proportions[0]),
                      "pc2_explained": float(proportions[1]) if len(proportions) > 1 else 0.0,
                      "negative_eigenvalues": negative, **extra}, warnings,
                     eigenvalues=[float(v) for v in values[:5]])
