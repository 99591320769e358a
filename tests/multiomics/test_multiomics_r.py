"""Independent checks against R (base R's stats via Rscript): CCA against ``cancor`` on
scikit-learn's Linnerud data, the ridge against R's matrix algebra, joint PCA against
``prcomp`` on the very matrix the step decomposed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stepslib.multiomics.cca import canonical_correlations
from tests.helpers.multiomics import linnerud_tables, needs_r, read_tsv, rscript, run_spec

LINNERUD_CANCOR = [0.795608, 0.200556, 0.072570]  # the reference answer (domains.md)
CANCOR_R = r"""
args <- commandArgs(TRUE)
x <- as.matrix(read.delim(args[1])); y <- as.matrix(read.delim(args[2]))
lambda <- as.numeric(args[3])
cat(sprintf("%.17g", cancor(x, y)$cor), "\n")
cxx <- cov(x) + lambda * diag(ncol(x)); cyy <- cov(y) + lambda * diag(ncol(y)); cxy <- cov(x, y)
ev <- Re(eigen(solve(cxx) %*% cxy %*% solve(cyy) %*% t(cxy))$values)
cat(sprintf("%.17g", sqrt(pmax(ev, 0))), "\n")
"""


def r_cancor(tmp_path: Path, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = linnerud_tables(tmp_path)
    lines = rscript(tmp_path, CANCOR_R, str(x), str(y), repr(ridge)).strip().splitlines()
    return tuple(np.array([float(v) for v in line.split()]) for line in lines)  # type: ignore


@needs_r
@pytest.mark.parametrize("method", ["svd", "sklearn"])
def test_cca_matches_r_cancor_on_linnerud(tmp_path: Path, method: str) -> None:
    cancor, _ = r_cancor(tmp_path, 0.0)
    x = pd.read_csv(tmp_path / "exercise.tsv", sep="\t")
    y = pd.read_csv(tmp_path / "physiological.tsv", sep="\t")
    ours, _, _ = canonical_correlations(x, y, 0.0, method)
    np.testing.assert_allclose(ours, cancor, rtol=0, atol=1e-6)
    np.testing.assert_allclose(cancor, LINNERUD_CANCOR, rtol=0, atol=1e-6)


@needs_r
def test_the_ridge_is_used_and_matches_r(tmp_path: Path) -> None:
    """MetaInformAnt ignores its CCA ``regularization``; ours changes the answer, as R's
    (Cxx + lambda I)^-1 Cxy (Cyy + lambda I)^-1 Cyx eigenvalues say it should."""
    cancor, ridged = r_cancor(tmp_path, 5.0)
    x = pd.read_csv(tmp_path / "exercise.tsv", sep="\t")
    y = pd.read_csv(tmp_path / "physiological.tsv", sep="\t")
    ours, _, _ = canonical_correlations(x, y, 5.0, "svd")
    np.testing.assert_allclose(ours, ridged, rtol=0, atol=1e-8)
    assert np.abs(ours - cancor).max() > 1e-3


PRCOMP_R = r"""
args <- commandArgs(TRUE)
m <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
p <- prcomp(m, center = TRUE, scale. = FALSE)
write.table(data.frame(eigenvalue = sprintf("%.17g", p$sdev^2)), args[2], sep = "\t",
            quote = FALSE, row.names = FALSE)
r <- p$x[0, ]; rot <- p$rotation[, 1:as.integer(args[4])]
write.table(apply(rot, 2, function(v) sprintf("%.17g", v)), args[3], sep = "\t", quote = FALSE,
            row.names = FALSE)
"""


@needs_r
@pytest.mark.slow
def test_joint_pca_matches_r_prcomp(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_spec(tmp_path, f"output.directory={out}", "integration.mofa=false",
                    "integration.canonical_correlation=false", "integration.n_components=20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    k = 4  # the planted factors: beyond them the eigenvalues are noise, close together
    rscript(tmp_path, PRCOMP_R, str(out / "store" / "imputed.tsv"), str(tmp_path / "eig.tsv"),
            str(tmp_path / "rot.tsv"), str(k))
    theirs = pd.read_csv(tmp_path / "eig.tsv", sep="\t")["eigenvalue"].to_numpy()
    ours = read_tsv(out / "joint_pca" / "joint_pca_variance.tsv", index=False)
    np.testing.assert_allclose(ours["eigenvalue"], theirs[:20], rtol=0, atol=1e-8)
    loadings = read_tsv(out / "joint_pca" / "joint_pca_loadings.tsv", index=False)
    rotation = pd.read_csv(tmp_path / "rot.tsv", sep="\t").to_numpy()
    for j in range(k):
        a, b = loadings[f"PC{j + 1}"].to_numpy(), rotation[:, j]
        sign = np.sign(a @ b)
        np.testing.assert_allclose(a, sign * b, rtol=0, atol=1e-8)
