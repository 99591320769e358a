"""``simulation.stats``: diversity statistics of the simulated samples, computed by tskit.

Per sampled population and over all samples: nucleotide diversity π (per bp), Watterson's θ
(per bp), Tajima's D, segregating sites, the unfolded site frequency spectrum and π in
windows. Between each pair of populations: Hudson's F_ST as ``1 - mean(π_within) / d_xy``
(the ratio of averages that ``allel.hudson_fst`` gives; ``ts.Fst()`` uses another definition,
``1 - 2(π1 + π2) / (π1 + 2 d_xy + π2)``) and Weir & Cockerham's (1984) weighted F_ST, which
vcftools ``--weir-fst-pop`` prints (diploids only).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from engine import single_path, step
from stepslib.simulation._common import completed, load_trees, sampled_populations

PARAMS = {
    "properties": {
        "window_size": {"type": "integer", "minimum": 1, "default": 50_000,
                        "description": "Window width (bp) for windowed π."},
    },
}


@step("simulation.stats", params=PARAMS, version="1",
      inputs={"trees": "tree sequence with mutations (simulation.mutations)"},
      outputs={"stats": {"description": "TSV statistic, population, value", "suffixes": [".tsv"]},
               "sfs": {"description": "TSV population, derived_count, sites", "suffixes": [".tsv"]},
               "windows": {"description": "TSV population, start, end, pi", "suffixes": [".tsv"]},
               "summary": {"description": "the same as JSON", "suffixes": [".json"]}})
def stats(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: Any) -> dict[str, Any]:
    """Compute the statistics; the headline ones go to the step's metrics."""
    import numpy as np

    ts = load_trees(single_path(inputs, "trees"))
    groups = sampled_populations(ts)
    if len(groups) > 1:
        groups = {"all": np.asarray(ts.samples()), **groups}
    rows: list[tuple[str, str, float]] = []
    sfs_rows: list[str] = ["population\tderived_count\tsites"]
    for name, nodes in groups.items():
        rows += _within(ts, name, nodes)
        spectrum = ts.allele_frequency_spectrum([nodes], polarised=True, span_normalise=False)
        sfs_rows += [f"{name}\t{k}\t{int(v + 0.5)}" for k, v in enumerate(spectrum)
                     if 0 < k < len(nodes)]
    pops = [p for p in groups if p != "all"]
    for a, b in itertools.combinations(pops, 2):
        rows += _between(ts, groups, a, b)
    table = ["statistic\tpopulation\tvalue"] + [f"{s}\t{p}\t{v!r}" for s, p, v in rows]
    Path(single_path(outputs, "stats", output=True)).write_text("\n".join(table) + "\n")
    Path(single_path(outputs, "sfs", output=True)).write_text("\n".join(sfs_rows) + "\n")
    _windows(ts, groups, config["window_size"], Path(single_path(outputs, "windows", output=True)))
    summary: dict[str, dict[str, float]] = {}
    for statistic, pop, value in rows:
        summary.setdefault(pop, {})[statistic] = value
    Path(single_path(outputs, "summary", output=True)).write_text(
        json.dumps(summary, indent=2, sort_keys=True) + "\n")
    head = summary.get("all") or summary[pops[0]]
    metrics = {"sites": ts.num_sites, "pi": head["pi"], "theta_w": head["theta_w"],
               "tajimas_d": head["tajimas_d"]}
    for pair, values in summary.items():
        if "/" in pair:
            metrics[f"fst_hudson[{pair}]"] = values["fst_hudson"]
    context.log.info("π %.6g, θ_W %.6g, D %.4f over %d sites", head["pi"], head["theta_w"],
                     head["tajimas_d"], ts.num_sites)
    return completed(metrics, populations=pops)


def _within(ts: Any, name: str, nodes: Any) -> list[tuple[str, str, float]]:
    n = len(nodes)
    harmonic = sum(1.0 / i for i in range(1, n))
    seg = float(ts.segregating_sites([nodes], span_normalise=False)[0])
    length = ts.sequence_length
    return [("pi", name, float(ts.diversity([nodes])[0])),
            ("theta_w", name, seg / harmonic / length if harmonic else float("nan")),
            ("tajimas_d", name, float(ts.Tajimas_D([nodes])[0])),
            ("segregating_sites", name, seg),
            ("haplotypes", name, float(n))]


def _between(ts: Any, groups: dict[str, Any], a: str, b: str) -> list[tuple[str, str, float]]:
    pair = f"{a}/{b}"
    pi_a, pi_b = ts.diversity([groups[a], groups[b]])
    dxy = float(ts.divergence([groups[a], groups[b]]))
    rows = [("dxy", pair, dxy),
            ("fst_hudson", pair, float(1.0 - (pi_a + pi_b) / 2.0 / dxy) if dxy else float("nan")),
            ("fst_tskit", pair, float(ts.Fst([groups[a], groups[b]])))]
    wc = weir_cockerham(ts, groups[a], groups[b])
    if wc is not None:
        rows.append(("fst_weir_cockerham", pair, wc))
    return rows


def weir_cockerham(ts: Any, nodes_a: Any, nodes_b: Any) -> float | None:
    """Weir & Cockerham's weighted F_ST (sum a / sum (a + b + c)) of two diploid samples.

    Per site and the derived allele (biallelic sites: the other allele gives the same a, b, c);
    None when an individual is not diploid.
    """
    import numpy as np

    found = [_diploid_nodes(ts, nodes) for nodes in (nodes_a, nodes_b)]
    pops = [p for p in found if p is not None]
    if len(pops) < 2:
        return None
    genotypes = ts.genotype_matrix()  # sites x haplotypes, allele index 0 = ancestral
    derived = (genotypes > 0).astype(np.float64)
    n: Any = np.array([len(p[0]) for p in pops], dtype=np.float64)  # individuals
    freq, het = [], []
    for first, second in pops:
        h1, h2 = derived[:, first], derived[:, second]
        freq.append((h1 + h2).sum(axis=1) / (2 * len(first)))
        het.append((h1 != h2).sum(axis=1) / len(first))
    p = np.array(freq).T
    h = np.array(het).T
    r = 2.0
    n_bar = n.sum() / r
    n_c = (r * n_bar - (n**2).sum() / (r * n_bar)) / (r - 1)
    p_bar = (n * p).sum(axis=1) / (r * n_bar)
    s2 = (n * (p - p_bar[:, None]) ** 2).sum(axis=1) / ((r - 1) * n_bar)
    h_bar = (n * h).sum(axis=1) / (r * n_bar)
    pq = p_bar * (1 - p_bar)
    a = n_bar / n_c * (s2 - (pq - (r - 1) / r * s2 - h_bar / 4) / (n_bar - 1))
    b = n_bar / (n_bar - 1) * (pq - (r - 1) / r * s2 - (2 * n_bar - 1) / (4 * n_bar) * h_bar)
    c = h_bar / 2
    den = float((a + b + c).sum())
    return float(a.sum()) / den if den else float("nan")


def _diploid_nodes(ts: Any, nodes: Any) -> tuple[list[int], list[int]] | None:
    """Column indices (into the genotype matrix) of each diploid's first and second haplotype."""
    column = {int(node): i for i, node in enumerate(ts.samples())}
    wanted = {int(x) for x in nodes}
    first, second = [], []
    for ind in ts.individuals():
        if int(ind.nodes[0]) in wanted:
            if len(ind.nodes) != 2:
                return None
            first.append(column[int(ind.nodes[0])])
            second.append(column[int(ind.nodes[1])])
    return first, second


def _windows(ts: Any, groups: dict[str, Any], width: int, path: Path) -> None:
    import numpy as np

    length = ts.sequence_length
    breaks = np.unique(np.append(np.arange(0, length, width), length))
    names = list(groups)
    values = ts.diversity([groups[n] for n in names], windows=breaks)
    rows = ["population\tstart\tend\tpi"]
    for k in range(len(breaks) - 1):
        for j, name in enumerate(names):
            rows.append(f"{name}\t{int(breaks[k])}\t{int(breaks[k + 1])}\t{values[k, j]!r}")
    path.write_text("\n".join(rows) + "\n")
