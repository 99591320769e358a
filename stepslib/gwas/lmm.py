"""Linear mixed model association with a genomic relationship matrix (``model: mixed``).

The model is GEMMA's (Zhou & Stephens 2012): y = W a + x b + g + e, g ~ N(0, lambda tau^-1 K),
e ~ N(0, tau^-1 I). K is eigendecomposed once (K = U S U'), which turns every likelihood into
sums over n weighted terms, h_i = 1 / (lambda s_i + 1). As ``gemma -lmm 1`` does, lambda is the
REML estimate *per variant* (with the variant among the fixed effects), and the test is the
Wald test F = b^2 / se^2 on 1 and n - c - 1 degrees of freedom (c: covariates, intercept
included). Missing calls are replaced by the variant's mean dosage over the analysed samples
(GEMMA's imputation). The null model (no variant) gives the REML heritability estimate
pve = lambda * tr(K)/n / (lambda * tr(K)/n + 1), which GEMMA prints as "pve estimate".

lambda is searched on log10 lambda in [-5, 5] (GEMMA's range): a grid of the REML
log-likelihood, then a golden-section refinement around the best grid point, vectorised over
a block of variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from engine import StepError
from stepslib.gwas.regression import BlockResult

LOG10_LAMBDA_RANGE = (-5.0, 5.0)
_GRID = 21  # grid points over the range; the peak is then refined to ~1e-7 in log10 lambda
_GOLDEN_STEPS = 32


@dataclass
class NullFit:
    """The rotated data shared by every variant, and the null-model REML estimate."""

    eigenvalues: np.ndarray  # s (n)
    rotation: np.ndarray  # U' (n x n)
    y: np.ndarray  # U'y
    w: np.ndarray  # U'W (n x c)
    lambda_null: float
    pve: float  # REML heritability estimate (GEMMA's "pve estimate in the null model")
    loglik_null: float


def _projected(h: np.ndarray, w: np.ndarray, y: np.ndarray, x: np.ndarray | None
               ) -> tuple[np.ndarray, ...]:
    """For each row of ``h`` (weights, V x n): log|W'HW|, P_yy and, given ``x`` (V x n),
    P_xx and P_xy, where P projects out W in the H-weighted inner product."""
    c = w.shape[1]
    # Every product of the columns of W, then W'HW for all rows of h in one matrix product.
    ww = (w[:, :, None] * w[:, None, :]).reshape(len(w), c * c)
    chol = np.linalg.cholesky((h @ ww).reshape(len(h), c, c))
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1)
    b_y = h @ (w * y[:, None])
    z_y = _lower_solve(chol, b_y)  # L^-1 W'Hy
    p_yy = h @ (y * y) - (z_y * z_y).sum(1)
    if x is None:
        return logdet, p_yy
    hx = h * x
    b_x = hx @ w
    z_x = _lower_solve(chol, b_x)
    p_xx = (hx * x).sum(1) - (z_x * z_x).sum(1)
    p_xy = hx @ y - (z_x * z_y).sum(1)
    return logdet, p_yy, p_xx, p_xy


def _lower_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """L^-1 b for a stack of lower-triangular L (V x c x c) and b (V x c)."""
    return np.linalg.solve(chol, rhs[..., None])[..., 0]


def _reml(log10_lambda: np.ndarray, fit: NullFit, x: np.ndarray | None) -> np.ndarray:
    """The REML log-likelihood (up to a constant in lambda) at one lambda per row."""
    lam = 10.0 ** log10_lambda
    h = 1.0 / (lam[:, None] * fit.eigenvalues[None, :] + 1.0)
    logdet_h = -np.log(h).sum(1)
    n, c = fit.w.shape
    if x is None:
        logdet_w, p_yy = _projected(h, fit.w, fit.y, None)
        return -0.5 * (logdet_h + logdet_w + (n - c) * np.log(p_yy))
    logdet_w, p_yy, p_xx, p_xy = _projected(h, fit.w, fit.y, x)
    df = n - c - 1
    return -0.5 * (logdet_h + logdet_w + np.log(p_xx) + df * np.log(p_yy - p_xy**2 / p_xx))


def _maximise(fit: NullFit, x: np.ndarray | None, n_rows: int) -> np.ndarray:
    """log10 lambda maximising the REML likelihood, per row (grid, then golden section)."""
    low, high = LOG10_LAMBDA_RANGE
    grid = np.linspace(low, high, _GRID)
    values = np.stack([_reml(np.full(n_rows, g), fit, x) for g in grid], axis=1)
    best = np.nanargmax(values, axis=1)
    step = grid[1] - grid[0]
    a = np.clip(grid[best] - step, low, high)
    b = np.clip(grid[best] + step, low, high)
    ratio = (np.sqrt(5) - 1) / 2
    c1, c2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = _reml(c1, fit, x), _reml(c2, fit, x)
    for _ in range(_GOLDEN_STEPS):
        left = f1 > f2  # the maximum lies in [a, c2]
        b = np.where(left, c2, b)
        a = np.where(left, a, c1)
        new_c1, new_c2 = b - ratio * (b - a), a + ratio * (b - a)
        c2, c1 = np.where(left, c1, new_c2), np.where(left, new_c1, c2)
        f_new = _reml(np.where(left, c1, c2), fit, x)
        f2, f1 = np.where(left, f1, f_new), np.where(left, f_new, f2)
    return (a + b) / 2


def null_fit(grm: np.ndarray, y: np.ndarray, covariates: np.ndarray) -> NullFit:
    """Eigendecompose the GRM of the analysed samples and fit the model without a variant."""
    if grm.shape != (len(y), len(y)):
        raise StepError(f"the relatedness matrix is {grm.shape[0]} x {grm.shape[1]} but "
                        f"{len(y)} samples are analysed")
    eigenvalues, vectors = np.linalg.eigh((grm + grm.T) / 2)
    eigenvalues = np.where(eigenvalues < 1e-10, 0.0, eigenvalues)  # GEMMA zeroes these too
    rotation = vectors.T
    fit = NullFit(eigenvalues, rotation, rotation @ y, rotation @ covariates, 0.0, 0.0, 0.0)
    log10_lambda = float(_maximise(fit, None, 1)[0])
    fit.lambda_null = 10.0 ** log10_lambda
    fit.loglik_null = float(_reml(np.array([log10_lambda]), fit, None)[0])
    mean_diag = float(np.trace(grm)) / len(y)
    fit.pve = fit.lambda_null * mean_diag / (fit.lambda_null * mean_diag + 1.0)
    return fit


def mixed_block(block: np.ndarray, fit: NullFit) -> BlockResult:
    """Per-variant REML lambda and Wald test for a block of dosages (V x n, -1 missing)."""
    called = block >= 0
    n_called = called.sum(1)
    mean = np.where(called, block, 0).sum(1) / np.maximum(n_called, 1)
    x = np.where(called, block, mean[:, None]).astype(np.float64)
    n, c = fit.w.shape
    constant = x.std(axis=1) < 1e-12
    error = np.where(constant, "CONST_ALLELE", "").astype(object)
    x_rot = (fit.rotation @ x[~constant].T).T
    beta = np.full(len(x), np.nan)
    se, z, p = beta.copy(), beta.copy(), beta.copy()
    if len(x_rot):
        best = _maximise(fit, x_rot, len(x_rot))
        h = 1.0 / (10.0 ** best[:, None] * fit.eigenvalues[None, :] + 1.0)
        _, p_yy, p_xx, p_xy = _projected(h, fit.w, fit.y, x_rot)
        df = n - c - 1
        b = p_xy / p_xx
        tau = df / (p_yy - p_xy**2 / p_xx)
        s = np.sqrt(1.0 / (tau * p_xx))
        beta[~constant], se[~constant] = b, s
        z[~constant] = b / s
        p[~constant] = stats.f.sf((b / s) ** 2, 1, df)
    # BlockResult.stat: b / se (its square is the Wald F)
    return BlockResult(beta, se, z, p, np.full(len(x), n), mean / 2, error,
                       np.zeros(len(x), bool))
