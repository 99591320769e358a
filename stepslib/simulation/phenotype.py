"""``simulation.phenotype``: an additive quantitative trait with planted causal sites.

Writes the phenotype table and the truth table in the formats ``specs/gwas/gwas.yaml`` reads
(``sample_id`` + trait; ``CHR POS SNP REF ALT BETA``, SNP being the VCF ID that
``simulation.export`` writes, the tskit site id), so the GWAS spec run on the exported VCF can
be checked against what was planted.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from engine import StepError, single_path, step
from stepslib.simulation._common import SEED_OFFSET, SEED_PARAM, completed, individual_names, load_trees

PARAMS = {
    "properties": {
        "trait": {"type": "string", "default": "height",
                  "description": "Trait column name (height: the GWAS spec's default trait)."},
        "n_causal": {"type": "integer", "minimum": 1, "default": 3},
        "heritability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.5,
                         "description": "Share of the trait variance the causal sites explain "
                                        "(realised in the sample: noise variance = "
                                        "var(G)(1 - h²)/h²)."},
        "min_maf": {"type": "number", "minimum": 0, "maximum": 0.5, "default": 0.1,
                    "description": "Causal sites are drawn among sites with at least this "
                                   "minor allele frequency."},
        "contig": {"type": "string", "default": "1", "description": "CHROM as in the VCF."},
        "seed": SEED_PARAM,
    },
}


@step("simulation.phenotype", params=PARAMS, version="1",
      inputs={"trees": "tree sequence with mutations (simulation.mutations)"},
      outputs={"phenotypes": {"description": "TSV sample_id + trait", "suffixes": [".tsv"]},
               "truth": {"description": "TSV CHR POS SNP REF ALT BETA FREQ VAR_EXPLAINED",
                         "suffixes": [".tsv"]}})
def phenotype(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: Any) -> dict[str, Any]:
    """Draw causal sites (spread along the sequence) and effects; add Gaussian noise."""
    import numpy as np

    ts = load_trees(single_path(inputs, "trees"))
    if any(len(ind.nodes) != 2 for ind in ts.individuals()):
        raise StepError("simulation.phenotype needs diploid individuals",
                        hint="set ploidy: 2 for simulation.ancestry")
    rng = np.random.default_rng(config["seed"] + SEED_OFFSET["phenotype"])
    dosage, sites = _dosages(ts)
    freq = dosage.mean(axis=1) / 2
    maf = np.minimum(freq, 1 - freq)
    eligible = np.flatnonzero(maf >= config["min_maf"])
    k = config["n_causal"]
    causal = _spread(eligible, ts.tables.sites.position[sites], ts.sequence_length, k, rng)
    if len(causal) < k:
        raise StepError(f"only {len(causal)} site(s) have MAF >= {config['min_maf']} and lie "
                        f"apart; {k} causal sites were asked for",
                        hint="lower n_causal or min_maf, or simulate a longer sequence")
    h2 = config["heritability"]
    p = freq[causal]
    beta = rng.choice([-1.0, 1.0], size=k) * np.sqrt(h2 / k / (2 * p * (1 - p)))
    genetic = beta @ (dosage[causal] - dosage[causal].mean(axis=1, keepdims=True))
    noise_sd = np.sqrt(genetic.var() * (1 - h2) / h2)
    trait = genetic + rng.normal(0.0, noise_sd, size=genetic.size)
    names = individual_names(ts)
    lines = [f"sample_id\t{config['trait']}"] + [f"{n}\t{v:.6f}" for n, v in zip(names, trait)]
    Path(single_path(outputs, "phenotypes", output=True)).write_text("\n".join(lines) + "\n")
    truth = ["CHR\tPOS\tSNP\tREF\tALT\tBETA\tFREQ\tVAR_EXPLAINED"]
    chrom = config["contig"]
    for j, index in enumerate(causal):
        site = ts.site(int(sites[index]))
        pos = int(site.position) + 1
        ref = site.ancestral_state
        alt = next(m.derived_state for m in site.mutations if m.derived_state != ref)
        share = beta[j] ** 2 * dosage[index].var() / trait.var()
        truth.append(f"{chrom}\t{pos}\t{site.id}\t{ref}\t{alt}\t{beta[j]:.6f}"
                     f"\t{p[j]:.6f}\t{share:.6f}")
    Path(single_path(outputs, "truth", output=True)).write_text("\n".join(truth) + "\n")
    realised = float(genetic.var() / trait.var())
    context.log.info("%d causal sites, realised h² %.3f", k, realised)
    return completed({"causal_sites": k, "heritability": h2, "realised_heritability": realised,
                      "individuals": len(names)}, trait=config["trait"])


def _dosages(ts: Any) -> tuple[Any, Any]:
    """Derived-allele dosage per individual (biallelic sites only) and their site ids."""
    import numpy as np

    keep = [s.id for s in ts.sites()
            if len({m.derived_state for m in s.mutations} - {s.ancestral_state}) == 1]
    genotypes = ts.genotype_matrix()[keep]
    column = {int(node): i for i, node in enumerate(ts.samples())}
    first = [column[int(ind.nodes[0])] for ind in ts.individuals()]
    second = [column[int(ind.nodes[1])] for ind in ts.individuals()]
    derived = (genotypes > 0).astype(float)
    return derived[:, first] + derived[:, second], np.asarray(keep)


def _spread(eligible: Any, positions: Any, length: float, k: int, rng: Any) -> list[int]:
    """k eligible sites, one drawn from each of k equal stretches of the sequence, so that the
    planted signals are far apart (separate GWAS peaks)."""
    import numpy as np

    chosen = []
    bounds = np.linspace(0, length, k + 1)
    for lo, hi in itertools.pairwise(bounds):
        # the middle half of each stretch: neighbours' causal sites stay a quarter-stretch away
        inner = eligible[(positions[eligible] >= lo + (hi - lo) / 4)
                         & (positions[eligible] < hi - (hi - lo) / 4)]
        if len(inner):
            chosen.append(int(rng.choice(inner)))
    return chosen
