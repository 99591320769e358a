"""``gwas.structure``: PCA of standardized genotypes (plink2 ``--pca`` model), optional GRM.

Each pruned variant is standardized as ``(x - 2p) / sqrt(2p(1-p))`` with ``p`` its ALT
frequency over the kept samples; missing calls become 0 (the mean). The GRM is
``Z Z' / M`` (VanRaden's second method, as plink2 ``--make-rel``), accumulated block by
block; the PCs are its leading eigenvectors (unit length) and the eigenvalues are the GRM's.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step

PARAMS = {
    "properties": {
        "n_components": {"type": "integer", "minimum": 1, "default": 10,
                         "description": "Number of principal components to keep."},
        "kinship_method": {"enum": ["vanraden"], "default": "vanraden",
                           "description": "The GRM: VanRaden's second method (standardised "
                                          "genotypes, plink2 --make-rel); astle/yang/ibs are "
                                          "not implemented."},
        "block_variants": {"type": "integer", "minimum": 1, "default": 4096,
                           "description": "Variants per block when building the GRM."},
    },
}


@step(
    "gwas.structure",
    params=PARAMS,
    version="1",
    inputs={
        "dosages": "gwas.load's dosages",
        "pruned": "gwas.ld_prune's pruned (or any variant list with an index column)",
        "kept_samples": "gwas.qc's kept_samples",
    },
    outputs={
        "pcs": "TSV sample_id PC1..PCk",
        "eigenvalues": "TSV",
        "grm": {"description": "samples x samples in kept-sample order", "required": False,
                "suffixes": [".npy"]},  # numpy.save adds .npy to any other name
    },
)
def structure(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """inputs: ``dosages``, ``pruned`` (or any variant list with an ``index`` column),
    ``kept_samples``. outputs: ``pcs`` (TSV sample_id PC1..PCk), ``eigenvalues`` (TSV),
    optional ``grm`` (.npy, samples x samples, in kept-sample order)."""
    import numpy as np
    import pandas as pd

    from stepslib.gwas import genotypes

    matrix = genotypes.open_dosages(single_path(inputs, "dosages"))
    rows = genotypes.read_index(single_path(inputs, "pruned"))
    samples = pd.read_csv(single_path(inputs, "kept_samples"), sep="\t", dtype={"sample_id": str})
    cols = samples["index"].to_numpy()
    n = len(cols)
    grm = np.zeros((n, n))
    used = 0
    for _, block in genotypes.iter_blocks(matrix, rows, cols, config["block_variants"]):
        called = block != genotypes.MISSING
        x = np.where(called, block, 0).astype(np.float64)
        p = x.sum(1) / np.maximum(2 * called.sum(1), 1)
        var = 2 * p * (1 - p)
        ok = var > 0
        z = np.where(called[ok], (x[ok] - 2 * p[ok, None]) / np.sqrt(var[ok, None]), 0.0)
        grm += z.T @ z
        used += int(ok.sum())
    if used == 0:
        raise StepError("no polymorphic variant for the PCA", hint="check the pruned list")
    grm /= used
    k = min(config["n_components"], n - 1)
    values, vectors = np.linalg.eigh(grm)
    order = np.argsort(values)[::-1][:k]
    values, vectors = values[order], vectors[:, order]
    # A deterministic sign: the largest-magnitude entry of each PC is positive.
    signs = np.sign(vectors[np.abs(vectors).argmax(0), np.arange(k)])
    vectors = vectors * np.where(signs == 0, 1, signs)
    names = [f"PC{i + 1}" for i in range(k)]
    pd.DataFrame(vectors, columns=names, index=pd.Index(samples["sample_id"], name="sample_id")
                 ).to_csv(single_path(outputs, "pcs", output=True), sep="\t", float_format="%.8g")
    pd.DataFrame({"PC": names, "eigenvalue": values,
                  "variance_explained": values / np.trace(grm)}).to_csv(
        single_path(outputs, "eigenvalues", output=True), sep="\t", index=False, float_format="%.8g")
    grm_path = optional_path(outputs, "grm", output=True)
    if grm_path is not None:
        np.save(grm_path, grm)
    context.log.info("PCA on %d variants x %d samples; eigenvalues %s", used, n,
                     ", ".join(f"{v:.3g}" for v in values[:5]))
    return {"status": "completed",
            "metadata": {"n_variants": used, "n_samples": n,
                         "eigenvalues": [float(v) for v in values]}}
