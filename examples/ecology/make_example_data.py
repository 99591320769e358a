"""Make the bundled ecology example: 3 habitats x 8 sites, 60 species, planted signals.

Deterministic (fixed seed). Run from anywhere::

    python examples/ecology/make_example_data.py [OUT_DIR]

Writes (default: next to this script):
- ``community.tsv``: counts, **species x sites** (rows are species: MetaInformAnt's script
  layout; the workflow's ``orientation: auto`` recognises it from the group file);
- ``groups.csv``: ``site,group`` (MetaInformAnt's groups format);
- ``env.tsv``: site, pH, moisture (numbers), management (category);
- ``tree.nwk``: a random rooted tree over the 60 species with branch lengths;
- ``truth.tsv``: what was planted (``kind``, ``name``, ``value``).

Design: species have lognormal baseline abundances and a random habitat preference
(log-normal, sd 0.8), so composition differs between habitats (PERMANOVA detects it).
sp01-sp03 live only in forest, sp04-sp06 only in grassland, sp07-sp09 only in wetland, each
at a high mean abundance in most sites of its habitat (the planted indicator species). The
wetland pool lacks sp41-sp60, so wetland sites are the poorest in species. Counts are
negative binomial (size 2); site depths differ (about 300 to 1,200 individuals).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 15
HABITATS = ("forest", "grassland", "wetland")
SITES_PER_HABITAT = 8
N_SPECIES = 60
INDICATORS = {"forest": ["sp01", "sp02", "sp03"], "grassland": ["sp04", "sp05", "sp06"],
              "wetland": ["sp07", "sp08", "sp09"]}
WETLAND_ABSENT = [f"sp{i:02d}" for i in range(41, 61)]


def random_tree(names: list[str], rng: np.random.Generator) -> str:
    """Newick of a random rooted binary tree (random joins, exponential branch lengths)."""
    nodes = [(name, 0.0) for name in names]  # (newick text, height)
    height = 0.0
    while len(nodes) > 1:
        height += rng.exponential(1.0 / len(nodes))
        i, j = sorted(rng.choice(len(nodes), 2, replace=False))
        (a, ha), (b, hb) = nodes[i], nodes[j]
        joined = f"({a}:{height - ha:.6f},{b}:{height - hb:.6f})"
        nodes = [n for k, n in enumerate(nodes) if k not in (i, j)] + [(joined, height)]
    return nodes[0][0] + ";\n"


def simulate(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    species = [f"sp{i:02d}" for i in range(1, N_SPECIES + 1)]
    sites = [f"{h[0].upper()}{k + 1:02d}" for h in HABITATS for k in range(SITES_PER_HABITAT)]
    habitat = pd.Series([h for h in HABITATS for _ in range(SITES_PER_HABITAT)], index=sites,
                        name="group")
    baseline = np.exp(rng.normal(0.5, 1.2, N_SPECIES))
    preference = np.exp(rng.normal(0.0, 0.8, (len(HABITATS), N_SPECIES)))
    counts = np.zeros((len(sites), N_SPECIES), dtype=int)
    for row, site in enumerate(sites):
        h = HABITATS.index(habitat[site])
        depth = rng.uniform(0.5, 2.0)
        mean = baseline * preference[h] * depth
        for name, members in INDICATORS.items():
            for sp in members:
                col = species.index(sp)
                mean[col] = 25.0 * depth if name == habitat[site] else 0.0
        if habitat[site] == "wetland":
            mean[[species.index(sp) for sp in WETLAND_ABSENT]] = 0.0
        size = 2.0
        positive = mean > 0
        draws = rng.negative_binomial(size, size / (size + mean[positive]))
        counts[row, positive] = draws
    table = pd.DataFrame(counts, index=sites, columns=species)
    env = pd.DataFrame({
        "pH": np.round([{"forest": 5.2, "grassland": 6.5, "wetland": 7.1}[h] + rng.normal(0, 0.3)
                        for h in habitat], 2),
        "moisture": np.round([{"forest": 40, "grassland": 25, "wetland": 80}[h]
                              + rng.normal(0, 5) for h in habitat], 1),
        "management": ["grazed" if k % 2 else "ungrazed" for k in range(len(sites))],
    }, index=sites)
    return table, habitat, env


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    table, habitat, env = simulate(rng)
    out.mkdir(parents=True, exist_ok=True)
    table.T.to_csv(out / "community.tsv", sep="\t", index_label="species")
    habitat.to_csv(out / "groups.csv", index_label="site")
    env.to_csv(out / "env.tsv", sep="\t", index_label="site")
    (out / "tree.nwk").write_text(random_tree(list(table.columns), rng))
    richness = (table > 0).sum(axis=1).groupby(habitat).mean()
    rows = [("indicator", sp, group) for group, members in INDICATORS.items() for sp in members]
    rows += [("poorest_group", "richness", "wetland"),
             ("group_effect", "permanova", "significant"),
             ("sites", "total", str(len(table))), ("species", "total", str(table.shape[1]))]
    rows += [("mean_richness", g, f"{v:.2f}") for g, v in richness.items()]
    pd.DataFrame(rows, columns=["kind", "name", "value"]).to_csv(out / "truth.tsv", sep="\t",
                                                                 index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
