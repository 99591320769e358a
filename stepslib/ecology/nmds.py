"""Non-metric multidimensional scaling (Kruskal's stress-1, monotone regression, SMACOF).

Not a step: ``ecology.ordination`` calls it when ``nmds`` is on. Starts from the PCoA
configuration and from ``starts - 1`` seeded random ones and keeps the lowest stress, the
idea of ``vegan::metaMDS`` (which also rotates the result to principal axes; so do we).
Ties in the dissimilarities are ordered freely (Kruskal's primary approach).
"""

from __future__ import annotations

from typing import Any


def _distances(points: Any) -> Any:
    import numpy as np

    diff = points[:, None, :] - points[None, :, :]
    return np.sqrt((diff * diff).sum(axis=2))


def _smacof(dis: Any, start: Any, max_iter: int = 500, tol: float = 1e-9) -> tuple[Any, float]:
    """One monotone SMACOF run from ``start``; returns (configuration, stress-1)."""
    import numpy as np
    from scipy.optimize import isotonic_regression

    n = dis.shape[0]
    upper = np.triu_indices(n, 1)
    points, previous = start.copy(), np.inf
    stress = np.inf
    for _ in range(max_iter):
        dist = _distances(points)
        current = dist[upper]
        order = np.lexsort((current, dis[upper]))  # tied dissimilarities: current order
        fitted = np.empty_like(current)
        fitted[order] = isotonic_regression(current[order]).x
        stress = float(np.sqrt(((current - fitted) ** 2).sum() / max((current ** 2).sum(),
                                                                        1e-300)))
        # SMACOF's target: the disparities normalised (the stress above is scale-free)
        fitted *= np.sqrt(len(current) / max((fitted ** 2).sum(), 1e-300))
        if previous - stress < tol:
            break
        previous = stress
        target = np.zeros((n, n))
        target[upper] = fitted
        target = target + target.T
        ratio = np.divide(target, dist, out=np.zeros_like(dist), where=dist > 0)
        b = -ratio
        b[np.diag_indices(n)] = ratio.sum(axis=1)
        points = b @ points / n
    return points, stress


def nmds(distances: Any, dimensions: int, starts: int, seed: int, initial: Any
         ) -> tuple[Any, float]:
    """(site scores rotated to principal axes, the lowest Kruskal stress-1 over the starts)."""
    import numpy as np

    dis = np.asarray(distances, dtype=float)
    rng = np.random.default_rng(seed)
    candidates = [initial[:, :dimensions]] if initial.shape[1] >= dimensions else []
    while len(candidates) < max(starts, 1):
        candidates.append(rng.uniform(-0.5, 0.5, (dis.shape[0], dimensions)))
    best, best_stress = None, np.inf
    for start in candidates:
        points, stress = _smacof(dis, start)
        if stress < best_stress:
            best, best_stress = points, stress
    assert best is not None
    centred = best - best.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes.T, best_stress
