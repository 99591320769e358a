"""Plain helpers for the ecology tests: vegan's datasets and answers exported by Rscript at
test time (vegan is GPL: nothing of it is stored in the repository), and running the spec."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "ecology" / "community.yaml"
EXAMPLE = ROOT / "examples" / "ecology"


def _has_vegan() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(["Rscript", "-e", "library(vegan)"], capture_output=True)
    return proc.returncode == 0


HAS_VEGAN = _has_vegan()
needs_vegan = pytest.mark.skipif(not HAS_VEGAN, reason="Rscript with r-cran-vegan is not "
                                 "installed (make tools installs r-base-core and r-cran-vegan)")

# Every number is written with 17 significant digits: R's write.table keeps only 15.
VEGAN_SCRIPT = r"""
suppressPackageStartupMessages(library(vegan))
data(BCI); data(dune); data(dune.env)
out <- commandArgs(TRUE)[1]
f <- function(name) file.path(out, name)
w <- function(df, name) {
  df[] <- lapply(df, function(col) if (is.numeric(col)) sprintf("%.17g", col) else col)
  write.table(df, f(name), sep = "\t", quote = FALSE, row.names = FALSE)
}
wm <- function(m, name) {
  m <- as.matrix(m); d <- data.frame(site = rownames(m), check.names = FALSE)
  for (j in seq_len(ncol(m))) d[[colnames(m)[j]]] <- m[, j]
  w(d, name)
}
wm(BCI, "BCI.tsv"); wm(dune, "dune.tsv")
w(data.frame(site = rownames(dune.env), group = dune.env$Management), "dune_groups.tsv")
env <- data.frame(site = rownames(dune.env), dune.env, check.names = FALSE)
env[] <- lapply(env, as.character); w(env, "dune_env.tsv")
for (name in c("BCI", "dune")) {
  x <- get(name); est <- estimateR(x)
  w(data.frame(site = rownames(x), shannon = diversity(x), simpson = diversity(x, "simpson"),
               invsimpson = diversity(x, "invsimpson"), chao1 = est["S.chao1", ],
               ace = est["S.ACE", ], rarefy20 = as.numeric(rarefy(x, 20))),
    paste0(name, "_alpha.tsv"))
  wm(vegdist(x), paste0(name, "_bray.tsv"))
  wm(vegdist(x, "jaccard", binary = TRUE), paste0(name, "_jaccard.tsv"))
  wm(vegdist(x, binary = TRUE), paste0(name, "_sorensen.tsv"))
  eig <- cmdscale(vegdist(x), k = nrow(x) - 1, eig = TRUE)$eig
  w(data.frame(eigenvalue = eig), paste0(name, "_eig.tsv"))
}
d <- vegdist(dune)
set.seed(1)
mds <- metaMDS(dune, k = 2, autotransform = FALSE, trace = 0)
wm(scores(mds, display = "sites"), "dune_nmds.tsv")
x <- colSums(BCI)
w(data.frame(
  test = c("adonis2_F", "anosim_R", "betadisper_median_F", "betadisper_centroid_F",
           "radfit_null_AIC", "radfit_preempt_AIC", "radfit_lognormal_AIC", "fisher_alpha",
           "metaMDS_stress"),
  value = c(adonis2(d ~ Management, data = dune.env, permutations = 9)$F[1],
            anosim(d, dune.env$Management, permutations = 9)$statistic,
            anova(betadisper(d, dune.env$Management))$F[1],
            anova(betadisper(d, dune.env$Management, type = "centroid"))$F[1],
            AIC(rad.null(x)), AIC(rad.preempt(x)), AIC(rad.lognormal(x)), fisher.alpha(x),
            mds$stress)),
  "vegan_stats.tsv")
"""


def export_vegan(out: Path) -> Path:
    """Write vegan's BCI and dune (+ groups, env) and vegan's answers on them into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "export.R"
    script.write_text(VEGAN_SCRIPT)
    proc = subprocess.run(["Rscript", str(script), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def run_spec(tmp_path: Path, *settings: str, config: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mi-run run specs/ecology/community.yaml`` in ``tmp_path`` with ``--set`` settings."""
    argv = [sys.executable, "-m", "engine.cli", "run", str(SPEC), "-j", "2",
            *(["--config", str(config)] if config else []),
            *(x for s in settings for x in ("--set", s))]
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def read_tsv(path: Path, index: bool = True) -> Any:
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", index_col=0 if index else None)
    if index:
        frame.index = frame.index.astype(str)
    return frame


def max_relative_error(ours: Any, theirs: Any) -> float:
    import numpy as np

    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.nanmax(np.where(b == 0, np.abs(a), np.abs(a - b) / scale)))
