"""Evolutionary distances and diversity from an alignment (numpy; no step registration here).

Only A, C, G and T are known bases; gaps, N and IUPAC ambiguity codes are missing data, as in
ape's ``dist.dna``. Two ways to treat missing data:

- ``complete`` deletion: every column with missing data in any sequence is dropped, once, for
  all pairs (ape's default, ``pairwise.deletion = FALSE``);
- ``pairwise`` deletion: each pair uses the columns where both sequences are known
  (MetaInformAnt's nucleotide diversity uses this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import StepError

if TYPE_CHECKING:
    import numpy as np

PURINES = frozenset("AG")


def encode(sequences: list[str]) -> np.ndarray:
    """Sequences x columns, codes 0..3 for A C G T and -1 for anything else."""
    import numpy as np

    lookup = np.full(256, -1, dtype=np.int8)
    for code, base in enumerate("ACGT"):
        lookup[ord(base)] = code
        lookup[ord(base.lower())] = code
    return np.stack([lookup[np.frombuffer(s.encode("ascii"), dtype=np.uint8)] for s in sequences])


def _pair_counts(codes: np.ndarray, deletion: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: compared sites L, transitions, transversions (n x n arrays)."""
    import numpy as np

    known = codes >= 0
    if deletion == "complete":
        keep = known.all(axis=0)
        codes, known = codes[:, keep], known[:, keep]
    n = codes.shape[0]
    sites = np.zeros((n, n))
    transitions = np.zeros((n, n))
    transversions = np.zeros((n, n))
    purine = (codes == 0) | (codes == 2)
    for i in range(n):
        both = known[i] & known
        differ = both & (codes != codes[i])
        same_class = purine == purine[i]
        sites[i] = both.sum(axis=1)
        transitions[i] = (differ & same_class).sum(axis=1)
        transversions[i] = (differ & ~same_class).sum(axis=1)
    return sites, transitions, transversions


def distance_matrix(codes: np.ndarray, model: str, deletion: str) -> np.ndarray:
    """JC69, K80 or raw p-distances between all sequences."""
    import numpy as np

    sites, ts, tv = _pair_counts(codes, deletion)
    if (sites == 0).any():
        raise StepError(f"a pair of sequences shares no known column ({deletion} deletion)",
                        hint="use deletion: pairwise, or drop sequences that are mostly gaps")
    p = (ts + tv) / sites
    with np.errstate(divide="ignore", invalid="ignore"):
        if model == "p":
            dist = p
        elif model == "JC69":
            dist = -0.75 * np.log1p(-4.0 * p / 3.0)
        else:  # K80
            big_p, q = ts / sites, tv / sites
            dist = -0.5 * np.log(1 - 2 * big_p - q) - 0.25 * np.log(1 - 2 * q)
    if not np.isfinite(dist).all():
        raise StepError(f"{model} distance is undefined for some pair (too divergent: p >= 0.75 "
                        "or saturated transitions)", hint="use model: p, or check the alignment")
    np.fill_diagonal(dist, 0.0)
    return dist


def diversity(codes: np.ndarray, deletion: str) -> dict[str, float]:
    """Nucleotide diversity pi (mean over pairs of differences per compared site), segregating
    sites S among the columns used, and Watterson's theta per site."""
    import numpy as np

    n = codes.shape[0]
    known = codes >= 0
    columns = known.all(axis=0) if deletion == "complete" else known.sum(axis=0) >= 2
    used = codes[:, columns]
    used_known = used >= 0
    segregating = 0
    for column, ok in zip(used.T, used_known.T):
        segregating += len(set(column[ok].tolist())) > 1
    sites, ts, tv = _pair_counts(codes, deletion)
    upper = np.triu_indices(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pair = (ts + tv)[upper] / sites[upper]
    pi = float(np.nanmean(per_pair))
    a1 = float(sum(1.0 / i for i in range(1, n)))
    length = int(columns.sum())
    return {"n_sequences": n, "sites_used": length, "segregating_sites": segregating,
            "nucleotide_diversity": pi,
            "watterson_theta_per_site": segregating / a1 / length if length else float("nan")}
