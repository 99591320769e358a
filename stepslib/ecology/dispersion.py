"""PERMDISP the way ``vegan::betadisper`` computes it (not a step: used by ``ecology.tests``).

vegan embeds the sites by PCoA keeping the axes of negative eigenvalues (scaled by
sqrt(|lambda|)), finds each group's centre on the positive and on the negative axes
separately, and takes z = sqrt(|d+^2 - d-^2|). scikit-bio's ``permdisp`` drops the negative
axes, so on Bray-Curtis its F differs (dune, Management: 3.51 vs vegan's 3.87 for centroids).
The spatial median (vegan's default) is found as vegan finds it: ``optim(method = "BFGS")``
started at the coordinate-wise median, with R's own optimiser (:mod:`.rbfgs`) and defaults, so
the centres, and the F statistic, are vegan's (its optimiser stops near 1e-8 relative, short of
the exact median; :func:`exact_spatial_median` gives that one).
"""

from __future__ import annotations

from typing import Any


def vegan_embedding(distances: Any) -> tuple[Any, Any]:
    """(vectors scaled by sqrt(|eigenvalue|), mask of positive axes), as betadisper."""
    import numpy as np

    from stepslib.ecology.ordination import gower_eigen

    values, vectors = gower_eigen(distances)
    tolerance = np.sqrt(np.finfo(float).eps)  # betadisper's TOL, absolute and relative
    keep = np.abs(values) > max(tolerance, tolerance * values[0])
    values, vectors = values[keep], vectors[:, keep]
    return vectors * np.sqrt(np.abs(values)), values > 0


def spatial_median(points: Any) -> Any:
    """vegan's ``ordimedian``: ``optim(BFGS)`` of the summed Euclidean distances (with their
    gradient), started at the coordinate-wise median."""
    import numpy as np

    from stepslib.ecology.rbfgs import vmmin

    if points.shape[1] == 0:
        return np.zeros(0)

    # R's rowSums, colSums and sum add in long double, one term after the other; near the
    # optimum the line search compares values that differ in their last bits, so the same
    # rounding is what makes the same steps (numpy's pairwise sums would not)
    def r_sums(values: Any, axis: int) -> Any:
        return np.cumsum(values.astype(np.longdouble), axis=axis).take(-1, axis=axis).astype(float)

    def row_lengths(x: Any) -> Any:
        return np.sqrt(r_sums((points - x) ** 2, axis=1))

    def total(x: Any) -> float:
        return float(r_sums(row_lengths(x), axis=0))

    def gradient(x: Any) -> Any:
        # at a data point the gradient is 0/0 = NaN, in R too; vmmin then restarts as R's does
        with np.errstate(invalid="ignore", divide="ignore"):
            return r_sums(-(points - x) / row_lengths(x)[:, None], axis=0)

    return vmmin(total, gradient, np.median(points, axis=0))


def exact_spatial_median(points: Any) -> Any:
    """The point minimising the summed Euclidean distances (Weiszfeld, with a guard for
    iterates landing on a data point)."""
    import numpy as np

    if points.shape[1] == 0:
        return np.zeros(0)
    current = np.median(points, axis=0)
    for _ in range(10000):
        gaps = np.sqrt(((points - current) ** 2).sum(axis=1))
        near = gaps < 1e-15
        if near.any():
            gaps = np.where(near, 1e-15, gaps)
        weights = 1.0 / gaps
        moved = (points * weights[:, None]).sum(axis=0) / weights.sum()
        if np.abs(moved - current).max() < 1e-14:
            return moved
        current = moved
    return current


def distances_to_centres(distances: Any, groups: Any, kind: str) -> Any:
    """betadisper's z: each site's distance to its group's centroid or spatial median."""
    import numpy as np

    vectors, positive = vegan_embedding(distances)
    labels = np.asarray(groups)
    squared = {True: np.zeros(len(labels)), False: np.zeros(len(labels))}
    for label in np.unique(labels):
        rows = labels == label
        for sign in (True, False):
            axes = positive if sign else ~positive
            part = vectors[rows][:, axes]
            centre = part.mean(axis=0) if kind == "centroid" else spatial_median(part)
            squared[sign][rows] = ((part - centre) ** 2).sum(axis=1)
    return np.sqrt(np.abs(squared[True] - squared[False]))


def one_way_f(values: Any, groups: Any) -> float:
    """The one-way ANOVA F of ``values`` by ``groups`` (``anova(lm(values ~ groups))``)."""
    import numpy as np

    labels = np.asarray(groups)
    levels = np.unique(labels)
    grand = values.mean()
    between = sum((labels == g).sum() * (values[labels == g].mean() - grand) ** 2 for g in levels)
    within = sum(((values[labels == g] - values[labels == g].mean()) ** 2).sum() for g in levels)
    df_between, df_within = len(levels) - 1, len(values) - len(levels)
    return float((between / df_between) / (within / df_within))


def permdisp(distances: Any, groups: Any, kind: str, permutations: int, seed: int
             ) -> tuple[float, float, Any]:
    """(F, permutation p, z per site); p permutes the ANOVA residuals (the group means
    removed), as vegan's ``permutest.betadisper``."""
    import numpy as np

    z = distances_to_centres(distances, groups, kind)
    labels = np.asarray(groups)
    observed = one_way_f(z, labels)
    fitted = np.array([z[labels == g].mean() for g in labels])
    residuals = z - fitted
    rng = np.random.default_rng(seed)
    hits = sum(one_way_f(rng.permutation(residuals), labels) >= observed - 1e-12
               for _ in range(permutations))
    return observed, (hits + 1) / (permutations + 1), z
