"""Per-variant and per-sample QC statistics, including the Hardy-Weinberg exact test.

The HWE test is Wigginton, Cutler & Abecasis (2005), the one PLINK uses: given the allele
counts, the number of heterozygotes has the exact distribution

    P(het = h) = 2^h n! n_A! n_B! / (hom_A! h! hom_B! (2n)!)

and the p-value sums the probabilities of all het counts no more likely than the observed one.
Here the distribution is evaluated in log space with ``gammaln`` for every distinct
(n, minor allele count) pair at once, instead of the sequential recurrence per variant.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.special import gammaln, logsumexp

from stepslib.gwas.genotypes import MISSING

# Relative tolerance for "as likely as the observed count" (PLINK compares the recurrence's
# doubles with a small epsilon too); gammaln's rounding is far below this.
_TIE = 1e-9


def genotype_counts(blocks: Iterator[np.ndarray]) -> np.ndarray:
    """Rows (hom-ref, het, hom-alt, missing) counts per variant, over int8 blocks."""
    parts = []
    for block in blocks:
        parts.append(np.stack([(block == 0).sum(1), (block == 1).sum(1), (block == 2).sum(1),
                               (block == MISSING).sum(1)], axis=1))
    return np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)


def hwe_exact(het: np.ndarray, hom1: np.ndarray, hom2: np.ndarray, *, midp: bool = False,
              ) -> np.ndarray:
    """Exact HWE p-values (two-sided; ``midp`` subtracts half the observed probability)."""
    het = np.asarray(het, dtype=np.int64)
    hom1 = np.asarray(hom1, dtype=np.int64)
    hom2 = np.asarray(hom2, dtype=np.int64)
    n = het + hom1 + hom2
    rare_hom = np.minimum(hom1, hom2)
    rare = 2 * rare_hom + het
    pvalues = np.ones(len(het))
    keys = np.stack([n, rare], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    for g, (n_g, rare_g) in enumerate(uniq):
        members = order[bounds[g]:bounds[g + 1]]
        if n_g == 0 or rare_g == 0:  # no call, or monomorphic: one possible outcome
            pvalues[members] = 0.5 if midp and n_g > 0 else 1.0
            continue
        hets = np.arange(rare_g % 2, rare_g + 1, 2)
        hom_r = (rare_g - hets) // 2
        hom_c = n_g - hets - hom_r
        logp = hets * np.log(2.0) - gammaln(hom_r + 1) - gammaln(hets + 1) - gammaln(hom_c + 1)
        logp -= logsumexp(logp)
        prob = np.exp(logp)
        obs = prob[(het[members] - rare_g % 2) // 2]
        # P-value of each observed het count: the mass of counts no likelier than it.
        sorted_prob = np.sort(prob)
        cumulative = np.cumsum(sorted_prob)
        idx = np.searchsorted(sorted_prob, obs * (1 + _TIE), side="right") - 1
        p = cumulative[idx]
        if midp:
            p = p - 0.5 * obs
        pvalues[members] = np.minimum(p, 1.0)
    return pvalues


def expected_het(n: np.ndarray, alt_count: np.ndarray) -> np.ndarray:
    """Expected heterozygote count given the allele counts (exact, for 'keep-fewhet')."""
    total = 2 * n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 1, alt_count * (total - alt_count) / (total - 1), 0.0)
