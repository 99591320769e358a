"""R's ``optim(method = "BFGS")`` (its C routine ``vmmin``, J. C. Nash's variable metric
method), so that a statistic vegan finds with it is found the same way here.

``vegan::betadisper`` takes each group's spatial median from ``optim(BFGS)`` started at the
coordinate-wise median, which stops at R's default relative tolerance (about 1.5e-8) well
before the true minimum; reproducing the optimiser step by step (same line search, same
inverse-Hessian update, same stopping rules, R's defaults) gives vegan's own centres, and so
its F statistic, to rounding error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when a median is computed, not when a spec is planned
    import numpy as np

STEP_REDUCTION = 0.2  # vmmin's stepredn
ACCEPT_TOLERANCE = 0.0001  # acctol: sufficient-decrease factor of the line search
RELATIVE_TEST = 10.0  # reltest: a coordinate "does not change" when 10 + x == 10 + x'
R_RELTOL = math.sqrt(sys.float_info.epsilon)  # optim's default reltol
R_MAXIT = 100  # optim's default maxit for BFGS


def vmmin(fn: Callable[[np.ndarray], float], gr: Callable[[np.ndarray], np.ndarray],
          start: np.ndarray, maxit: int = R_MAXIT, reltol: float = R_RELTOL,
          abstol: float = -math.inf) -> np.ndarray:
    """The parameters ``optim(start, fn, gr, method = "BFGS")`` returns."""
    import numpy as np

    b = np.array(start, dtype=float)
    n = len(b)
    if maxit <= 0 or n == 0:
        return b
    f = fn(b)
    if not math.isfinite(f):
        raise ValueError("initial value in 'vmmin' is not finite")
    fmin = f
    g = gr(b)
    gradcount, iteration, ilast = 1, 1, 1
    inverse = np.eye(n)  # only its lower triangle is kept up to date, as in R
    while True:
        if ilast == gradcount:
            inverse = np.eye(n)
        x, c = b.copy(), g.copy()
        direction, gradproj = _search_direction(inverse, g)
        count = 0
        if gradproj < 0.0:  # downhill
            steplength, accepted = 1.0, False
            while True:
                b = x + steplength * direction
                count = int(np.sum(RELATIVE_TEST + x == RELATIVE_TEST + b))
                if count < n:
                    f = fn(b)
                    accepted = math.isfinite(f) and f <= fmin + gradproj * steplength * ACCEPT_TOLERANCE
                    if not accepted:
                        steplength *= STEP_REDUCTION
                if count == n or accepted:
                    break
            enough = f > abstol and abs(f - fmin) > reltol * (abs(fmin) + reltol)
            if not enough:  # the value is small, or its relative change is
                count, fmin = n, f
            if count < n:  # progress: update the inverse Hessian
                fmin = f
                g = gr(b)
                gradcount += 1
                iteration += 1
                step = steplength * direction
                change = g - c
                d1 = 0.0
                for i in range(n):  # one term after the other, as R (no BLAS dot)
                    d1 += float(step[i]) * float(change[i])
                if d1 > 0:
                    inverse = _bfgs_update(inverse, step, change, d1)
                else:
                    ilast = gradcount
            elif ilast < gradcount:  # no progress: restart from the gradient
                count, ilast = 0, gradcount
        else:  # uphill: restart unless just restarted
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if iteration >= maxit:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount  # periodic restart
        if count == n and ilast == gradcount:
            break
    return b


def _symmetric(lower: np.ndarray) -> np.ndarray:
    """The full matrix whose lower triangle R keeps (B[i][j], j <= i)."""
    import numpy as np

    tri = np.tril(lower)
    return tri + np.tril(lower, -1).T


def _search_direction(inverse: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    import numpy as np

    full = _symmetric(inverse)
    direction = np.empty(len(g))
    gradproj = 0.0
    for i in range(len(g)):  # R's loop order, for the same rounding
        s = 0.0
        for j in range(len(g)):
            s -= float(full[i, j]) * float(g[j])
        direction[i] = s
        gradproj += s * float(g[i])
    return direction, gradproj


def _bfgs_update(inverse: np.ndarray, step: np.ndarray, change: np.ndarray,
                 d1: float) -> np.ndarray:
    import numpy as np

    full = _symmetric(inverse)
    n = len(step)
    hc = np.empty(n)
    d2 = 0.0
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += float(full[i, j]) * float(change[j])
        hc[i] = s
        d2 += s * float(change[i])
    d2 = 1.0 + d2 / d1
    updated = inverse.copy()
    for i in range(n):
        for j in range(i + 1):
            updated[i, j] += (d2 * step[i] * step[j] - hc[i] * step[j] - step[i] * hc[j]) / d1
    return updated
