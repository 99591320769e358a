"""``ecology.rarefaction`` (exact expected richness) and ``ecology.rarefy`` (seeded subsampling).

Expected richness at depth n of a site with N individuals and species counts N_i is the
hypergeometric formula of ``vegan::rarefy``: E[S_n] = sum_i 1 - C(N - N_i, n) / C(N, n).
MetaInformAnt uses 1 - exp(-n N_i / N) while its docs claim this formula (15.95 instead of
vegan's 16.36 for BCI site 1 at n = 20).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step
from stepslib.ecology.common import completed, read_counts, write_table


def expected_richness(counts: Any, depth: int) -> float:
    """E[S_depth] without replacement; NaN when depth exceeds the site's individuals."""
    import numpy as np
    from scipy.special import gammaln

    x = np.asarray(counts, dtype=float)
    x = np.round(x[x > 0])
    total = x.sum()
    if depth > total:
        return float("nan")

    def lchoose(n: Any, k: float) -> Any:
        return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

    rest = total - x
    absent = np.where(rest >= depth, np.exp(lchoose(rest, depth) - lchoose(total, depth)), 0.0)
    return float((1.0 - absent).sum())


RAREFACTION_PARAMS = {
    "properties": {
        "n_points": {"type": "integer", "minimum": 2, "default": 25,
                     "description": "Depths per curve, evenly spaced from 1 to the site total."},
        "depths": {"type": "array", "items": {"type": "integer", "minimum": 1}, "default": [],
                   "description": "Extra depths evaluated at every site (e.g. [20] as "
                                  "vegan::rarefy(x, 20))."},
    },
}


@step(
    "ecology.rarefaction",
    params=RAREFACTION_PARAMS,
    version="1",
    inputs={"counts": "sites x species counts (whole numbers)"},
    outputs={"curves": {"description": "site, depth, expected_richness", "suffixes": [".tsv"]}},
)
def rarefaction(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                context: StepContext) -> dict[str, Any]:
    """Exact rarefaction curves (hypergeometric) per site; extra fixed depths on request."""
    import numpy as np
    import pandas as pd

    table = read_counts(single_path(inputs, "counts"))
    rows = []
    smallest = int(table.sum(axis=1).min())
    for site in table.index:
        counts = table.loc[site].to_numpy()
        total = int(np.round(counts.sum()))
        grid = np.unique(np.linspace(1, total, config["n_points"]).round().astype(int))
        for depth in sorted(set(grid.tolist()) | set(config["depths"])):
            rows.append((site, depth, expected_richness(counts, depth)))
    curves = pd.DataFrame(rows, columns=["site", "depth", "expected_richness"]).set_index("site")
    write_table(curves, single_path(outputs, "curves", output=True))
    at_min = {site: expected_richness(table.loc[site].to_numpy(), smallest)
              for site in table.index}
    warnings = [f"depth {d} exceeds the individuals of some sites (NaN there)"
                for d in config["depths"] if d > smallest]
    context.log.info("rarefaction curves for %d sites; smallest site total %d", len(table),
                     smallest)
    return completed({"sites": len(table), "smallest_site_total": smallest,
                      "mean_richness_at_smallest_total": float(np.mean(list(at_min.values())))},
                     warnings)


RAREFY_PARAMS = {
    "properties": {
        "depth": {"type": "integer", "minimum": 1,
                  "description": "Individuals kept per site (sites with fewer are dropped)."},
        "seed": {"type": "integer", "default": 1, "description": "Random seed."},
    },
    "required": ["depth"],
}


@step(
    "ecology.rarefy",
    params=RAREFY_PARAMS,
    version="1",
    inputs={"counts": "sites x species counts (whole numbers)"},
    outputs={"counts": {"description": "subsampled counts", "suffixes": [".tsv"]}},
)
def rarefy(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Subsample every site to ``depth`` individuals without replacement (seeded), as
    ``vegan::rrarefy``; sites with fewer individuals are dropped with a warning."""
    import numpy as np

    table = read_counts(single_path(inputs, "counts"))
    depth = config["depth"]
    totals = table.sum(axis=1).round().astype(int)
    kept = table[totals >= depth]
    dropped = sorted(set(table.index) - set(kept.index))
    if len(kept) < 2:
        raise StepError(f"rarefying to {depth} keeps {len(kept)} site(s)",
                        hint=f"choose a depth at most {int(totals.sort_values().iloc[-2])}")
    rng = np.random.default_rng(config["seed"])
    sub = kept.copy().astype(int)
    for site in kept.index:
        counts = np.round(kept.loc[site].to_numpy()).astype(np.int64)
        sub.loc[site] = rng.multivariate_hypergeometric(counts, depth)
    sub = sub.loc[:, sub.sum(axis=0) > 0]
    write_table(sub, single_path(outputs, "counts", output=True))
    warnings = [f"{len(dropped)} sites with fewer than {depth} individuals dropped: "
                f"{dropped[:5]}"] if dropped else []
    context.log.info("rarefied %d sites to %d individuals", len(sub), depth)
    return completed({"depth": depth, "sites_kept": len(sub), "sites_dropped": len(dropped),
                      "species_left": int(sub.shape[1])}, warnings, seed=config["seed"])
