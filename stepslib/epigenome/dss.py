"""The DSS model (Feng, Conneely & Wu 2014), without smoothing, in numpy.

Follows ``DSS::DMLtest(smoothing = FALSE)``, ``callDML`` and ``callDMR`` (DSS 2.46) step by
step so that the numbers agree with DSS itself (checked at test time on DSS's own example
data, tests/epigenome/test_epigenome_dss.py):

1. keep CpGs with enough coverage around them in both groups (DSS ``hasCoverage``: the
   summed coverage of all samples within +-100 bp must exceed 2 x the number of samples);
2. per group, the mean methylation ``(sum M + c) / (sum N + 1)`` with ``c`` the mean raw β;
3. a log-normal prior on the beta-binomial dispersion from CpGs with coverage > 10 in every
   sample (median and IQR/1.39 of log(var / (m (1 - m))));
4. per CpG and group, the dispersion shrunk towards the prior: the maximum of the
   beta-binomial likelihood times the prior over log(phi) in [-5, log 0.99], found with R's
   ``optimize`` (Brent's fmin, tol 0.001), ported here and run on all CpGs at once;
5. counts re-weighted by 1 / (1 + (N - 1) phi), means again, and the Wald statistic
   ``(mu1 - mu2) / sqrt(var1 + var2)``, two-sided normal p-value, BH FDR.

One deliberate difference: DSS's coverage window ignores chromosome names (positions of two
chromosomes may share a window); here the window stays within a chromosome.
"""

from __future__ import annotations

from typing import Any

import numpy as np

WINDOW_HALF_WIDTH = 100  # DSS hasCoverage: ws = 200, a window of +-100 bp (inclusive)
_GOLDEN = (3.0 - np.sqrt(5.0)) * 0.5
_SQRT_EPS = np.sqrt(np.finfo(float).eps)


def has_coverage(chrom: np.ndarray, pos: np.ndarray, cov: np.ndarray, thresh: float = 2.0
                 ) -> np.ndarray:
    """DSS ``hasCoverage``: coverage summed over samples and over +-100 bp > thresh x samples.

    ``chrom``/``pos`` sorted by chromosome then position; ``cov`` is CpG x sample.
    """
    total = cov.sum(axis=1).astype(float)
    keep = np.zeros(len(pos), dtype=bool)
    for name in pd_unique(chrom):
        rows = np.flatnonzero(chrom == name)
        p = pos[rows]
        cumulative = np.concatenate([[0.0], np.cumsum(total[rows])])
        lo = np.searchsorted(p, p - WINDOW_HALF_WIDTH, side="left")
        hi = np.searchsorted(p, p + WINDOW_HALF_WIDTH, side="right")
        keep[rows] = (cumulative[hi] - cumulative[lo]) > thresh * cov.shape[1]
    return keep


def pd_unique(values: np.ndarray) -> list[Any]:
    """Distinct values in order of first appearance."""
    seen: dict[Any, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def group_mean(m: np.ndarray, n: np.ndarray) -> np.ndarray:
    """DSS ``compute.mean.noSmooth``: (row sum M + mean raw β) / (row sum N + 1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        const = np.nanmean(np.where(n > 0, m / np.where(n > 0, n, 1), np.nan))
    return (m.sum(axis=1) + const) / (n.sum(axis=1) + 1.0)


def dispersion_prior(m: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """DSS ``est.prior.BSseq.logN``: (mean, sd) of the log-normal prior on the dispersion."""
    if m.shape[1] == 1:
        return -3.0, 1.0
    rows = np.all(n > 10, axis=1)
    if rows.sum() < 50:  # DSS warns and uses N(-3, 1)
        return -3.0, 1.0
    p = m[rows] / n[rows]
    mean = p.mean(axis=1)
    mean[mean == 0] = 1e-5
    mean[mean == 1] = 1 - 1e-5
    var = p.var(axis=1, ddof=1)
    phi = var / mean / (1 - mean)
    phi = phi[var > 0]
    log_phi = np.log(phi[phi > 0])
    q75, q25 = np.percentile(log_phi, [75, 25])
    return float(np.median(log_phi)), float((q75 - q25) / 1.39)


def _neg_log_posterior(log_phi: np.ndarray, m: np.ndarray, n: np.ndarray, mu: np.ndarray,
                       prior: tuple[float, float]) -> np.ndarray:
    """-(sum over samples of the beta-binomial log density + log normal prior on log phi)."""
    from scipy.special import betaln, gammaln

    phi = np.exp(log_phi)[:, None]
    tmp = 1.0 / phi - 1.0
    alpha = mu[:, None] * tmp
    beta = tmp - alpha
    lchoose = gammaln(n + 1) - gammaln(m + 1) - gammaln(n - m + 1)
    density = lchoose - betaln(beta, alpha) + betaln(n - m + beta, m + alpha)
    mean, sd = prior
    log_prior = -0.5 * np.log(2 * np.pi) - np.log(sd) - 0.5 * ((log_phi - mean) / sd) ** 2
    return np.asarray(-(density.sum(axis=1) + log_prior))


def brent_minimize(f: Any, lower: float, upper: float, size: int, tol: float) -> np.ndarray:
    """R's ``optimize`` (Brent_fmin, R's src/library/stats/src/optimize.c) on ``size``
    independent 1-d problems at once: ``f`` maps a vector of x to a vector of f(x)."""
    a = np.full(size, lower)
    b = np.full(size, upper)
    x = a + _GOLDEN * (b - a)
    v, w = x.copy(), x.copy()
    d = np.zeros(size)
    e = np.zeros(size)
    fx = f(x, np.arange(size))
    fv, fw = fx.copy(), fx.copy()
    tol3 = tol / 3.0
    active = np.ones(size, dtype=bool)
    while True:
        xm = (a + b) * 0.5
        tol1 = _SQRT_EPS * np.abs(x) + tol3
        t2 = tol1 * 2.0
        active &= ~(np.abs(x - xm) <= t2 - (b - a) * 0.5)
        idx = np.flatnonzero(active)
        if idx.size == 0:
            return x
        xa, wa, va = x[idx], w[idx], v[idx]
        fxa, fwa, fva = fx[idx], fw[idx], fv[idx]
        aa, ba, xma, tol1a, t2a = a[idx], b[idx], xm[idx], tol1[idx], t2[idx]
        ea, da = e[idx], d[idx]
        p = np.zeros(idx.size)
        q = np.zeros(idx.size)
        r = np.zeros(idx.size)
        fit = np.abs(ea) > tol1a
        r_fit = (xa - wa) * (fxa - fva)
        q_fit = (xa - va) * (fxa - fwa)
        p_fit = (xa - va) * q_fit - (xa - wa) * r_fit
        q_fit = (q_fit - r_fit) * 2.0
        p_fit = np.where(q_fit > 0, -p_fit, p_fit)
        q_fit = np.abs(q_fit)
        p = np.where(fit, p_fit, p)
        q = np.where(fit, q_fit, q)
        r = np.where(fit, ea, r)
        ea = np.where(fit, da, ea)
        golden = (np.abs(p) >= np.abs(q * 0.5 * r)) | (p <= q * (aa - xa)) | (p >= q * (ba - xa))
        e_golden = np.where(xa < xma, ba - xa, aa - xa)
        with np.errstate(invalid="ignore", divide="ignore"):
            d_para = p / q
        u_para = xa + d_para
        near_end = (u_para - aa < t2a) | (ba - u_para < t2a)
        d_para = np.where(near_end, np.where(xa >= xma, -tol1a, tol1a), d_para)
        ea = np.where(golden, e_golden, ea)
        da = np.where(golden, _GOLDEN * e_golden, d_para)
        u = np.where(np.abs(da) >= tol1a, xa + da, np.where(da > 0, xa + tol1a, xa - tol1a))
        fu = f(u, idx)
        better = fu <= fxa
        # fu <= fx: the new point becomes x
        new_b = np.where(better, np.where(u < xa, xa, ba), np.where(u < xa, ba, u))
        new_a = np.where(better, np.where(u < xa, aa, xa), np.where(u < xa, u, aa))
        to_w = ~better & ((fu <= fwa) | (wa == xa))
        to_v = ~better & ~to_w & ((fu <= fva) | (va == xa) | (va == wa))
        nv = np.where(better, wa, np.where(to_w, wa, np.where(to_v, u, va)))
        nfv = np.where(better, fwa, np.where(to_w, fwa, np.where(to_v, fu, fva)))
        nw = np.where(better, xa, np.where(to_w, u, wa))
        nfw = np.where(better, fxa, np.where(to_w, fu, fwa))
        nx = np.where(better, u, xa)
        nfx = np.where(better, fu, fxa)
        a[idx], b[idx], x[idx], w[idx], v[idx] = new_a, new_b, nx, nw, nv
        fx[idx], fw[idx], fv[idx], e[idx], d[idx] = nfx, nfw, nfv, ea, da


def shrunk_dispersion(m: np.ndarray, n: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """DSS ``est.dispersion.BSseq``: per-CpG dispersion shrunk towards the log-normal prior."""
    prior = dispersion_prior(m, n)
    phi = np.full(m.shape[0], np.exp(prior[0]))
    covered = np.flatnonzero((n > 0).sum(axis=1) > 0)
    if covered.size:
        mc, nc, muc = m[covered], n[covered], mu[covered]

        def objective(log_phi: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return _neg_log_posterior(log_phi, mc[rows], nc[rows], muc[rows], prior)

        phi[covered] = np.exp(brent_minimize(objective, -5.0, float(np.log(0.99)),
                                             covered.size, 0.001))
    return phi


def dml_test(m1: np.ndarray, n1: np.ndarray, m2: np.ndarray, n2: np.ndarray
             ) -> dict[str, np.ndarray]:
    """DSS ``DMLtest.noSmooth`` + ``compute.waldStat.noSmooth`` on already filtered CpGs."""
    from scipy.stats import norm

    phi1 = shrunk_dispersion(m1, n1, group_mean(m1, n1))
    phi2 = shrunk_dispersion(m2, n2, group_mean(m2, n2))
    wt1 = 1.0 / (1.0 + (n1 - 1.0) * phi1[:, None])
    wt1 = wt1 / wt1.mean()
    wt2 = 1.0 / (1.0 + (n2 - 1.0) * phi2[:, None])
    wt2 = wt2 / wt2.mean()
    n1w, n2w = n1 * wt1, n2 * wt2
    mu1 = group_mean(m1 * wt1, n1w)
    mu2 = group_mean(m2 * wt2, n2w)
    with np.errstate(invalid="ignore", divide="ignore"):
        var1, var2 = _group_var(mu1, n1w, phi1), _group_var(mu2, n2w, phi2)
    se = np.sqrt(np.maximum(var1 + var2, 1e-5))
    diff = mu1 - mu2
    stat = diff / se
    pval = 2 * norm.sf(np.abs(stat))
    fdr = np.full(len(pval), np.nan)
    tested = ~np.isnan(pval)  # no coverage at all in a group: DSS drops the CpG (NA stat)
    fdr[tested] = bh_fdr(pval[tested])
    return {"mu1": mu1, "mu2": mu2, "diff": diff, "diff_se": se, "stat": stat,
            "phi1": phi1, "phi2": phi2, "pval": pval, "fdr": fdr}


def _group_var(mu: np.ndarray, n_weighted: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Variance of a group's mean methylation under the beta-binomial (DSS)."""
    spread = n_weighted * (mu * (1 - mu))[:, None] * (1 + (n_weighted - 1) * phi[:, None])
    return np.asarray(spread.sum(axis=1) / n_weighted.sum(axis=1) ** 2)


def bh_fdr(pval: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R's ``p.adjust(method = "fdr")``)."""
    order = np.argsort(pval)[::-1]
    n = len(pval)
    ranked = pval[order] * n / np.arange(n, 0, -1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(ranked))
    out = np.empty(n)
    out[order] = adjusted
    return out


def dml_scores(diff: np.ndarray, se: np.ndarray, pval: np.ndarray, delta: float) -> np.ndarray:
    """DSS ``callDML``/``callDMR`` scores: the p-value, or with ``delta`` > 0 the posterior
    probability that |difference| <= delta (1 - P(|diff| > delta))."""
    from scipy.stats import norm

    if delta <= 0:
        return pval
    over = norm.cdf(diff - delta, scale=se) + norm.sf(diff + delta, scale=se)
    return np.asarray(1.0 - over)


def call_dmr(chrom: np.ndarray, pos: np.ndarray, scores: np.ndarray, *, p_threshold: float,
             min_length: int, min_cpgs: int, merge_distance: int, pct_sig: float = 0.5,
             sep: int = 5000) -> list[tuple[int, int]]:
    """DSS ``callDMR``/``findBumps``: (first, last) row of each region, in DSS's rules.

    Runs of CpGs with score < ``p_threshold`` within blocks of CpGs no more than ``sep`` bp
    apart; runs closer than the merge distance joined (DSS caps it at ``min_length``); a run
    kept when more than ``pct_sig`` of its CpGs are significant, it is longer than
    ``min_length`` bp and has more than ``min_cpgs`` CpGs (DSS's comparisons are strict).
    """
    merge = min(merge_distance, min_length)
    flag = np.nan_to_num(scores, nan=1.0) < p_threshold
    breaks = np.flatnonzero((np.abs(np.diff(pos)) > sep) | (chrom[1:] != chrom[:-1])) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(pos)]])
    found: list[tuple[int, int]] = []
    for lo, hi in zip(starts, ends, strict=True):
        if hi - lo <= min_cpgs or not flag[lo:hi].any():
            continue
        f = flag[lo:hi].astype(int)
        edges = np.diff(np.concatenate([[0], f, [0]]))
        run_start = np.flatnonzero(edges == 1)
        run_end = np.flatnonzero(edges == -1) - 1
        p = pos[lo:hi]
        if len(run_start) > 1:
            apart = p[run_start[1:]] > p[run_end[:-1]] + merge
            run_start = run_start[np.concatenate([[True], apart])]
            run_end = run_end[np.concatenate([apart, [True]])]
        for s, e in zip(run_start, run_end, strict=True):
            if f[s:e + 1].mean() <= pct_sig:
                continue
            if p[e] - p[s] + 1 > min_length and e - s + 1 > min_cpgs:
                found.append((lo + int(s), lo + int(e)))
    return found
