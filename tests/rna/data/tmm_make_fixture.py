"""Regenerate the TMM fixtures: count matrices (numpy, seeded) and edgeR's factors for them.

Run from the checkout (needs R with edgeR: ``apt-get install -y --no-install-recommends
r-base-core r-bioc-edger``)::

    .venv/bin/python tests/rna/data/tmm_make_fixture.py

It writes ``tmm_<name>.tsv`` (gene_id + one column per sample) and ``tmm_edger_expected.tsv``
(one factor per case and sample; the header comments give the R call and versions). The
matrices are stored in the repository, so the tests never need numpy's generator to reproduce
them, nor R: they compare our TMM with the recorded edgeR values.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def matrices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    result: dict[str, np.ndarray] = {}

    # 1. Zeros: sparse genes, all-zero rows, one sample with many dropouts.
    mean = rng.lognormal(3.0, 1.5, size=300)
    counts = rng.negative_binomial(5, 5 / (5 + mean[:, None] * [1, 1.3, 0.8, 2, 1.1, 0.6]))
    counts[rng.random(counts.shape) < 0.15] = 0
    counts[:10] = 0
    counts[rng.random(300) < 0.5, 5] = 0
    result["zeros"] = counts.astype(float)

    # 2. Very different library sizes (x800 between the smallest and largest) + DE genes.
    mean = rng.lognormal(2.5, 1.8, size=250)
    depth = np.array([0.05, 0.5, 1.0, 8.0, 40.0])
    mu = mean[:, None] * depth
    mu[:25, 2] *= 4.0
    mu[25:40, 4] *= 0.2
    result["libsizes"] = rng.poisson(mu).astype(float)

    # 3. kallisto-like fractional est_counts with ties; used with explicit (larger) lib sizes.
    mean = rng.lognormal(3.0, 1.2, size=150)
    frac = rng.gamma(4.0, 0.25, size=(150, 7))
    counts = np.round(rng.poisson(mean[:, None] * frac * [1, 2, 0.5, 1, 3, 1.5, 0.7]) * 1.0
                      + rng.choice([0.0, 0.25, 0.5, 0.333], size=(150, 7)), 3)
    counts[:12, :] = 7.0  # ties in M and A
    result["fractional"] = counts

    # 4. Mostly zeros: every 75th percentile is 0, so edgeR picks the sqrt-sum reference.
    counts = rng.poisson(rng.lognormal(2, 1, size=(120, 4)))
    counts[rng.random(counts.shape) < 0.85] = 0
    result["sparse"] = counts.astype(float)
    return result


def lib_sizes(counts: np.ndarray) -> np.ndarray:
    """Library sizes larger than the column sums (as when TMM sees only the orthologs)."""
    return np.round(counts.sum(axis=0) * np.linspace(1.2, 3.0, counts.shape[1]), 2)


# Each case: (name, matrix, R arguments after the counts, use lib.size, amalgkit two rounds).
CASES = [
    ("zeros_default", "zeros", "", False, False),
    ("zeros_options", "zeros",
     ", logratioTrim=0.2, sumTrim=0.1, doWeighting=FALSE", False, False),
    ("libsizes_default", "libsizes", "", False, False),
    ("libsizes_acutoff", "libsizes", ", Acutoff=-14", False, False),
    ("fractional_libsize", "fractional", "", True, False),
    ("fractional_ref3", "fractional", ", refColumn=3", True, False),
    ("fractional_amalgkit", "fractional", "", True, True),
    ("zeros_amalgkit", "zeros", "", False, True),
    ("libsizes_amalgkit", "libsizes", "", False, True),
    ("sparse_default", "sparse", "", False, False),
]

R_TEMPLATE = """
suppressPackageStartupMessages(library(edgeR))
x <- as.matrix(read.delim("{path}", row.names=1, check.names=FALSE))
lib <- {lib}
out <- data.frame()
f <- calcNormFactors(x, lib.size=lib, method="TMM"{args})
if ({two_rounds}) {{
  median_value <- sort(f)[ceiling(length(f) / 2)]
  median_index <- (1:length(f))[f == median_value]
  f <- calcNormFactors(x, lib.size=lib, method="TMM", refColumn=median_index{args})
}}
write.table(data.frame(sample=colnames(x), factor=sprintf("%.15g", f)), "{out}", sep="\\t",
            quote=FALSE, row.names=FALSE)
"""


def main() -> int:
    mats = matrices()
    for name, counts in mats.items():
        genes = [f"g{i:03d}" for i in range(counts.shape[0])]
        header = "\t".join(["gene_id"] + [f"s{j + 1}" for j in range(counts.shape[1])])
        lines = [header]
        for i, gene in enumerate(genes):
            lines.append("\t".join([gene] + [f"{v:g}" for v in counts[i]]))
        (HERE / f"tmm_{name}.tsv").write_text("\n".join(lines) + "\n")
    version = subprocess.run(
        ["Rscript", "-e", 'cat(R.version.string, "| edgeR", '
                          'as.character(packageVersion("edgeR")))'],
        check=True, capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, matrix, args, use_lib, two_rounds in CASES:
            path = HERE / f"tmm_{matrix}.tsv"
            lib = ("c(" + ",".join(f"{v:.2f}" for v in lib_sizes(mats[matrix])) + ")"
                   if use_lib else "NULL")
            out = Path(tmp) / f"{case}.tsv"
            script = R_TEMPLATE.format(path=path, lib=lib, args=args, out=out,
                                       two_rounds="TRUE" if two_rounds else "FALSE")
            subprocess.run(["Rscript", "-e", script], check=True)
            for line in out.read_text().splitlines()[1:]:
                sample, factor = line.split("\t")
                rows.append(f"{case}\t{matrix}\t{sample}\t{factor}")
    libs = {m: lib_sizes(mats[m]) for m in mats}
    header = [
        "# edgeR TMM normalisation factors, recorded by tests/rna/data/tmm_make_fixture.py",
        f"# {version} (Debian packages r-base-core, r-bioc-edger)",
        "# call: calcNormFactors(x, lib.size=lib, method=\"TMM\"<args>) on "
        "as.matrix(read.delim(tmm_<matrix>.tsv, row.names=1))",
        "# lib = NULL, or for *_libsize/*_ref3/*_amalgkit round(colSums(x)*seq(1.2,3,len=n),2):",
        *[f"#   {m}: " + ",".join(f"{v:.2f}" for v in libs[m]) for m in ("fractional",)],
        "# case args: " + "; ".join(f"{c}='{a.lstrip(', ')}'" for c, _, a, _, _ in CASES),
        "# *_amalgkit: amalgkit cstmm.r two rounds (round 2 refColumn = the sample whose round-1"
        " factor is sort(f)[ceiling(n/2)])",
        "case\tmatrix\tsample\tfactor",
    ]
    (HERE / "tmm_edger_expected.tsv").write_text("\n".join(header + rows) + "\n")
    print(f"wrote {len(rows)} factors with {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
