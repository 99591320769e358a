"""``gwas.ld_prune``: windowed pairwise r^2 pruning (``plink --indep-pairwise`` semantics).

Per chromosome, a window of ``window`` QC-kept variants slides by ``step`` variants. Inside a
window, pairs (i < j) of variants still in are visited in order; when r^2 > ``r2_threshold``
the variant with the lower MAF is pruned (the later one on a tie), and once i is pruned its
remaining pairs are skipped. r^2 is the squared Pearson correlation of the dosages over the
samples called at both variants. The r^2 matrix of a window is computed with a few matrix
products; only the pairs above the threshold are walked in Python.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, single_path, step

PARAMS = {
    "properties": {
        "window": {"type": "integer", "minimum": 2, "default": 50,
                   "description": "Window size in variants (plink --indep-pairwise first "
                                  "argument)."},
        "step": {"type": "integer", "minimum": 1, "default": 5,
                 "description": "Variants the window moves each time."},
        "r2_threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.2,
                         "description": "Prune one of a pair whose r^2 is above this."},
    },
}


@step(
    "gwas.ld_prune",
    params=PARAMS,
    version="1",
    inputs={
        "dosages": "gwas.load's dosages",
        "variant_qc": "gwas.qc's variant_qc",
        "kept_variants": "gwas.qc's kept_variants",
        "kept_samples": "gwas.qc's kept_samples",
    },
    outputs={
        "pruned": "TSV index SNP of the variants kept",
    },
)
def ld_prune(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
             context: StepContext) -> dict[str, Any]:
    """inputs: ``dosages``, ``variant_qc``, ``kept_variants``, ``kept_samples``.
    outputs: ``pruned`` (TSV index SNP of the variants kept: PLINK's .prune.in)."""
    import numpy as np
    import pandas as pd

    from stepslib.gwas import genotypes

    matrix = genotypes.open_dosages(single_path(inputs, "dosages"))
    stats = pd.read_csv(single_path(inputs, "variant_qc"), sep="\t", dtype={"CHR": str})
    rows = genotypes.read_index(single_path(inputs, "kept_variants"))
    cols = genotypes.read_index(single_path(inputs, "kept_samples"))
    chrom = stats["CHR"].to_numpy()[rows]
    maf = stats["MAF"].to_numpy()[rows]
    keep = np.ones(len(rows), dtype=bool)
    for name in pd.unique(chrom):
        members = np.flatnonzero(chrom == name)
        _prune_chromosome(matrix, rows, cols, members, maf, keep, config)
    table = pd.DataFrame({"index": rows[keep], "SNP": stats["SNP"].to_numpy()[rows[keep]]})
    table.to_csv(single_path(outputs, "pruned", output=True), sep="\t", index=False)
    context.log.info("LD pruning kept %d of %d variants (window %d, step %d, r2 > %g)",
                     int(keep.sum()), len(rows), config["window"], config["step"],
                     config["r2_threshold"])
    return {"status": "completed",
            "metadata": {"n_in": int(keep.sum()), "n_out": int((~keep).sum())}}


def _prune_chromosome(matrix: Any, rows: Any, cols: Any, members: Any, maf: Any, keep: Any,
                      config: dict[str, Any]) -> None:
    import numpy as np

    from stepslib.gwas import genotypes

    window, step_size, threshold = config["window"], config["step"], config["r2_threshold"]
    # Dosages of the chromosome's kept variants, read once as int8 (variants x samples);
    # each window converts only its own rows to floats.
    dosage = genotypes.read_rows(matrix, rows[members], cols)
    start = 0
    n = len(members)
    while start < n:
        stop = min(start + window, n)
        live = np.arange(start, stop)
        live = live[keep[members[live]]]
        if len(live) > 1:
            block = dosage[live]
            called = (block != genotypes.MISSING).astype(np.float64)
            x = np.where(block == genotypes.MISSING, 0, block).astype(np.float64)
            r2 = _pairwise_r2(x, x * x, called)
            i_idx, j_idx = np.nonzero(np.triu(r2 > threshold, k=1))  # row-major: i, then j
            for a, b in zip(i_idx.tolist(), j_idx.tolist()):
                vi, vj = members[live[a]], members[live[b]]
                if not (keep[vi] and keep[vj]):
                    continue
                keep[vi if maf[vi] < maf[vj] else vj] = False
        if stop == n:
            break
        start += step_size


def _pairwise_r2(x: Any, x2: Any, called: Any) -> Any:
    """r^2 for every pair of rows over the samples called at both (matrix products)."""
    import numpy as np

    n = called @ called.T
    sx = x @ called.T  # sum of x_i over samples where j is called
    sy = sx.T
    sxx = x2 @ called.T
    syy = sxx.T
    sxy = x @ x.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        var_x = sxx - sx * sx / n
        var_y = syy - sy * sy / n
        r2 = cov * cov / (var_x * var_y)
    return np.nan_to_num(r2, nan=0.0)
