"""TMM normalisation factors, a line-by-line port of edgeR's ``calcNormFactors(method="TMM")``.

Reference: edgeR 3.40.2 ``calcNormFactors.default`` and ``.calcFactorTMM`` (Robinson & Oshlack
2010). Checked against edgeR to 1e-6 by ``tests/rna/test_tmm.py``. :func:`amalgkit_factors` adds
amalgkit cstmm's second round (reference = the sample with the median round-1 factor).

This module is imported when the ``rna`` step library registers (planning time), so numpy is
imported inside the functions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def calc_norm_factors(
    counts: np.ndarray,
    lib_size: np.ndarray | None = None,
    ref_column: int | None = None,
    logratio_trim: float = 0.3,
    sum_trim: float = 0.05,
    do_weighting: bool = True,
    a_cutoff: float = -1e10,
) -> np.ndarray:
    """edgeR TMM factors of a genes x samples matrix (0-based ``ref_column``), geometric mean 1.

    ``lib_size`` defaults to the column sums. NA counts are an error, as in edgeR.
    """
    import numpy as np

    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise ValueError("counts must be a genes x samples matrix")
    if np.isnan(x).any():
        raise ValueError("NA counts not permitted")
    nsamples = x.shape[1]
    lib = x.sum(axis=0) if lib_size is None else np.asarray(lib_size, dtype=float)
    if lib.shape != (nsamples,):
        raise ValueError(f"lib_size has {lib.size} values for {nsamples} samples")
    if np.isnan(lib).any():
        raise ValueError("NA lib.sizes not permitted")
    # edgeR drops rows that are zero in every sample before anything else.
    x = x[(x > 0).any(axis=1)]
    if x.shape[0] == 0 or nsamples == 1:
        return np.ones(nsamples)
    if ref_column is None:
        f75 = np.quantile(x, 0.75, axis=0) / lib  # R quantile type 7 == numpy "linear"
        if np.median(f75) < 1e-20:
            ref_column = int(np.argmax(np.sqrt(x).sum(axis=0)))
        else:
            ref_column = int(np.argmin(np.abs(f75 - f75.mean())))
    if not 0 <= ref_column < nsamples:
        raise ValueError(f"ref_column {ref_column} is outside 0..{nsamples - 1}")
    f = np.array([
        _factor_tmm(x[:, i], x[:, ref_column], lib[i], lib[ref_column], logratio_trim,
                    sum_trim, do_weighting, a_cutoff)
        for i in range(nsamples)
    ])
    return f / np.exp(np.mean(np.log(f)))


def _factor_tmm(obs: np.ndarray, ref: np.ndarray, n_obs: float, n_ref: float,
                logratio_trim: float, sum_trim: float, do_weighting: bool,
                a_cutoff: float) -> float:
    """edgeR ``.calcFactorTMM``: weighted trimmed mean of M values of ``obs`` against ``ref``."""
    import numpy as np
    from scipy.stats import rankdata

    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log2((obs / n_obs) / (ref / n_ref))
        abs_e = (np.log2(obs / n_obs) + np.log2(ref / n_ref)) / 2
        v = (n_obs - obs) / n_obs / obs + (n_ref - ref) / n_ref / ref
    fin = np.isfinite(log_r) & np.isfinite(abs_e) & (abs_e > a_cutoff)
    log_r, abs_e, v = log_r[fin], abs_e[fin], v[fin]
    # R's max() of an empty vector is -Inf, so "no shared genes" also returns 1 here.
    if log_r.size == 0 or np.max(np.abs(log_r)) < 1e-6:
        return 1.0
    n = log_r.size
    lo_l = math.floor(n * logratio_trim) + 1
    hi_l = n + 1 - lo_l
    lo_s = math.floor(n * sum_trim) + 1
    hi_s = n + 1 - lo_s
    rank_r = rankdata(log_r)  # average ranks for ties, like R's rank()
    rank_e = rankdata(abs_e)
    keep = (rank_r >= lo_l) & (rank_r <= hi_l) & (rank_e >= lo_s) & (rank_e <= hi_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        if do_weighting:
            num = np.nansum(log_r[keep] / v[keep])
            den = np.nansum(1 / v[keep])
            value = num / den if den != 0 else math.nan
        else:
            value = float(np.mean(log_r[keep])) if keep.any() else math.nan
    if not np.isfinite(value):  # edgeR: NA -> 0 (no shared informative genes)
        value = 0.0
    return float(2.0 ** value)


def amalgkit_factors(
    counts: np.ndarray,
    lib_size: np.ndarray | None = None,
    **options: float | bool,
) -> tuple[np.ndarray, int]:
    """amalgkit cstmm's two TMM rounds; returns (factors, 0-based reference of round 2).

    Round 1 uses edgeR's default reference; round 2 uses the sample whose round-1 factor is
    ``sort(f)[ceiling(n/2)]`` (the upper median), the first such sample on ties.
    """
    import numpy as np

    first = calc_norm_factors(counts, lib_size, None, **options)  # type: ignore[arg-type]
    median_value = np.sort(first)[math.ceil(first.size / 2) - 1]
    reference = int(np.flatnonzero(first == median_value)[0])
    second = calc_norm_factors(counts, lib_size, reference, **options)  # type: ignore[arg-type]
    return second, reference
