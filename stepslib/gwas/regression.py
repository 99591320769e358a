"""Per-variant regressions, vectorized over a block of variants.

Both models regress the trait on ``[covariates (with intercept), dosage]``; samples with a
missing call are dropped for that variant only (as ``plink2 --glm``).

Linear: with ``Q`` an orthonormal basis of the covariates and ``y`` already residualized on
it, a variant without missing calls needs only ``b = Q'x``: ``Sxx = x'x - b'b``,
``Sxy = x'y``. A variant with missing calls at rows ``m`` uses the same quantities corrected
by those rows (``A = I - Q_m'Q_m``, ``c = -Q_m'y_m``), one small k x k solve per variant; the
corrections are sparse products, so their cost scales with the number of missing calls.

Logistic: IRLS (Newton) on every variant of the block at once. The information matrix of a
variant is assembled from matrix products shared by the block (``W @ (c_i c_i')`` for the
covariate part), so the work is a few large GEMMs per iteration. Firth's penalized version
adds ``h_i (1/2 - mu_i)`` to the score, with the hat diagonal from the same products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import betainc, expit, ndtr

from stepslib.gwas.genotypes import MISSING


@dataclass
class BlockResult:
    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    n: np.ndarray
    alt_freq: np.ndarray  # among the samples used for the variant
    error: np.ndarray  # "" when fine, else a short code (as plink2's ERRCODE)
    firth: np.ndarray  # bool: the Firth estimate is reported


def orthonormal_basis(covariates: np.ndarray) -> np.ndarray:
    """Q with the column space of ``covariates`` (n x k, intercept included), full rank."""
    q, r = np.linalg.qr(covariates)
    diag = np.abs(np.diag(r))
    if diag.size and diag.min() <= 1e-10 * diag.max():
        raise np.linalg.LinAlgError("covariates are collinear (or one is constant)")
    return q


def _dosages(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = block == MISSING
    x = block.astype(np.float64)
    x[missing] = 0.0
    return x, missing


def linear_block(block: np.ndarray, q: np.ndarray, y_resid: np.ndarray) -> BlockResult:
    """OLS of residualized ``y_resid`` on each dosage row of ``block`` given basis ``q``."""
    x, missing = _dosages(block)
    n, k = q.shape
    n_obs = n - missing.sum(1)
    b = x @ q
    xx = np.einsum("vn,vn->v", x, x)
    sxx = xx - np.einsum("vk,vk->v", b, b)
    sxy = x @ y_resid
    syy = np.full(len(x), float(y_resid @ y_resid))
    rows = np.flatnonzero(missing.any(1))
    if len(rows):
        miss = sparse.csr_matrix(missing[rows].astype(np.float64))
        qq = (q[:, :, None] * q[:, None, :]).reshape(n, k * k)
        a = np.eye(k)[None] - (miss @ qq).reshape(len(rows), k, k)
        c = -(miss @ (q * y_resid[:, None]))
        rhs = np.stack([b[rows], c], axis=2)
        sol = _batched_solve(a, rhs)
        sxx[rows] = xx[rows] - np.einsum("vk,vk->v", b[rows], sol[:, :, 0])
        sxy[rows] = sxy[rows] - np.einsum("vk,vk->v", b[rows], sol[:, :, 1])
        syy[rows] = syy[rows] - miss @ (y_resid**2) - np.einsum("vk,vk->v", c, sol[:, :, 1])
    df = n_obs - k - 1
    error = np.full(len(x), "", dtype=object)
    # A dosage constant on the used samples (or explained by the covariates) has no test.
    const = sxx <= 1e-8 * np.maximum(xx, 1.0)
    error[const] = "CONST_ALLELE"
    error[(df <= 0) & ~const] = "TOO_FEW_SAMPLES"
    ok = error == ""
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(ok, sxy / sxx, np.nan)
        rss = syy - beta * sxy
        se = np.where(ok, np.sqrt(np.maximum(rss, 0) / df / sxx), np.nan)
        stat = beta / se
        p = t_pvalue(stat, df)
        alt_freq = x.sum(1) / (2 * n_obs)
    return BlockResult(beta, se, stat, p, n_obs, alt_freq, error, np.zeros(len(x), bool))


def t_pvalue(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided Student-t p-value, accurate far in the tail (regularized incomplete beta)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return betainc(df / 2.0, 0.5, df / (df + t * t))


def _batched_solve(a: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, rhs)
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        for i in range(len(a)):  # rare: only when some variant's system is singular
            try:
                out[i] = np.linalg.solve(a[i], rhs[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _batched_inv(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of a stack of matrices and a mask of the ones that are (near) singular."""
    bad = ~np.isfinite(h).all(axis=(1, 2))
    h = np.where(bad[:, None, None], np.eye(h.shape[1])[None], h)
    try:
        inv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        inv = np.empty_like(h)
        for i in range(len(h)):
            try:
                inv[i] = np.linalg.inv(h[i])
            except np.linalg.LinAlgError:
                inv[i] = np.nan
                bad[i] = True
    bad |= ~np.isfinite(inv).all(axis=(1, 2))
    return inv, bad


def logistic_block(block: np.ndarray, covariates: np.ndarray, y: np.ndarray, *,
                   firth: bool, max_iter: int, tol: float,
                   start: np.ndarray | None = None) -> BlockResult:
    """Logistic (or Firth) regression of 0/1 ``y`` on [covariates, dosage] for every row."""
    x, missing = _dosages(block)
    obs = (~missing).astype(np.float64)
    v_count = len(x)
    n, k = covariates.shape
    p_dim = k + 1
    cc = (covariates[:, :, None] * covariates[:, None, :]).reshape(n, k * k)
    beta = np.zeros((v_count, p_dim))
    if start is not None:  # the covariate-only fit: a good start for every variant
        beta[:, :k] = start
    active = np.ones(v_count, dtype=bool)
    converged = np.zeros(v_count, dtype=bool)
    singular = np.zeros(v_count, dtype=bool)
    inv = np.zeros((v_count, p_dim, p_dim))
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        xa, oa, ba = x[idx], obs[idx], beta[idx]
        eta = ba[:, :k] @ covariates.T + ba[:, k:] * xa
        mu = expit(eta)
        w = mu * (1.0 - mu) * oa
        h = _information(w, xa, covariates, cc)
        hinv, bad = _batched_inv(h)
        resid = (y[None, :] - mu) * oa
        if firth:
            lev = _hat_diagonal(hinv, w, xa, covariates, cc)
            resid = resid + lev * (0.5 - mu) * oa
        score = np.concatenate([resid @ covariates, np.einsum("vn,vn->v", resid, xa)[:, None]],
                               axis=1)
        step = np.einsum("vpq,vq->vp", hinv, score)
        if firth:  # logistf's maxstep: keep Newton steps on the penalized score bounded
            biggest = np.abs(step).max(1, keepdims=True)
            step = np.where(biggest > 5.0, step * (5.0 / np.maximum(biggest, 1e-300)), step)
        step[bad] = 0.0
        beta[idx] = ba + step
        done = (np.abs(step).max(1) < tol) & ~bad
        singular[idx[bad]] = True
        diverging = np.abs(beta[idx]).max(1) > 1e6  # separation: estimates run away
        finished = done | bad | diverging
        converged[idx[done]] = True
        inv[idx[done]] = hinv[done]
        active[idx[finished]] = False
    # Standard errors from the information at the final estimate.
    idx = np.flatnonzero(converged)
    if len(idx):
        eta = beta[idx, :k] @ covariates.T + beta[idx, k:] * x[idx]
        mu = expit(eta)
        w = mu * (1.0 - mu) * obs[idx]
        inv[idx], bad_final = _batched_inv(_information(w, x[idx], covariates, cc))
        converged[idx[bad_final]] = False
    n_obs = obs.sum(1).astype(np.int64)
    error = np.full(v_count, "", dtype=object)
    error[~converged] = "UNFINISHED"
    error[singular & ~converged] = "SINGULAR"
    alt_freq = np.divide(x.sum(1), 2 * n_obs, out=np.full(v_count, np.nan), where=n_obs > 0)
    used = obs > 0  # a dosage constant on the used samples makes the design singular
    const = np.where(used, x, -np.inf).max(1) == np.where(used, x, np.inf).min(1)
    const |= n_obs == 0
    error[const] = "CONST_ALLELE"
    ok = error == ""
    with np.errstate(invalid="ignore"):
        se = np.where(ok, np.sqrt(np.abs(inv[:, k, k])), np.nan)
        b = np.where(ok, beta[:, k], np.nan)
        z = b / se
        p = 2.0 * ndtr(-np.abs(z))
    return BlockResult(b, se, z, p, n_obs, alt_freq, error, np.full(v_count, firth))


def _information(w: np.ndarray, x: np.ndarray, cov: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """X'WX for each variant's design [cov, x_v], from block-wide matrix products."""
    v_count, k = len(w), cov.shape[1]
    h = np.empty((v_count, k + 1, k + 1))
    h[:, :k, :k] = (w @ cc).reshape(v_count, k, k)
    wx = w * x
    cross = wx @ cov
    h[:, :k, k] = cross
    h[:, k, :k] = cross
    h[:, k, k] = np.einsum("vn,vn->v", wx, x)
    return h


def _hat_diagonal(hinv: np.ndarray, w: np.ndarray, x: np.ndarray, cov: np.ndarray,
                  cc: np.ndarray) -> np.ndarray:
    """h_vi = w_vi d_vi' H_v^-1 d_vi with d_vi = [cov_i, x_vi], without forming the designs."""
    k = cov.shape[1]
    a = hinv[:, :k, :k].reshape(len(w), k * k)
    quad = a @ cc.T + 2.0 * x * (hinv[:, :k, k] @ cov.T) + x * x * hinv[:, k, k][:, None]
    return w * quad


def null_logistic(covariates: np.ndarray, y: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Covariate-only logistic fit (used as the IRLS start for every variant)."""
    beta = np.zeros(covariates.shape[1])
    for _ in range(max_iter):
        mu = expit(covariates @ beta)
        w = mu * (1 - mu)
        step = np.linalg.lstsq((covariates * w[:, None]).T @ covariates,
                               covariates.T @ (y - mu), rcond=None)[0]
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta
