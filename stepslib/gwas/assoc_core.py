"""The association engine behind ``gwas.associate`` (also called by the benchmark)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine import StepError
from stepslib.gwas import genotypes, lmm, regression


@dataclass
class Design:
    trait: str
    model: str  # "linear", "logistic" or "mixed"
    y: np.ndarray  # trait of the analysis samples (0/1 for logistic)
    covariates: np.ndarray  # n x k, intercept first
    samples: np.ndarray  # dosage-matrix columns of the analysis samples
    n_pcs: int
    null: lmm.NullFit | None = None  # mixed model: the null fit (heritability)


def _binary_coding(values: np.ndarray) -> np.ndarray | None:
    """0/1 (1 = case) or PLINK 1/2 (2 = case) -> 0/1; None if the trait is not binary."""
    levels = set(np.unique(values).tolist())
    if levels <= {0.0, 1.0} and len(levels) == 2:
        return values.astype(np.float64)
    if levels <= {1.0, 2.0} and len(levels) == 2:
        return values - 1.0
    return None


def design(config: dict[str, Any], pheno_path: Path, cov_path: Path, pcs_path: Path | None,
           kept: np.ndarray, log: logging.Logger) -> Design:
    """Trait vector and covariate matrix over the kept samples with complete data."""
    pheno = pd.read_csv(pheno_path, sep="\t", index_col=0)
    pheno.index = pheno.index.astype(str)
    trait = config["trait"] or (pheno.columns[0] if len(pheno.columns) else None)
    if trait is None or trait not in pheno.columns:
        raise StepError(f"trait '{trait}' is not a phenotype column",
                        hint=f"phenotype columns: {', '.join(pheno.columns)}")
    cov_table = pd.read_csv(cov_path, sep="\t", index_col=0)
    cov_table.index = cov_table.index.astype(str)
    names = list(cov_table.columns) if config["covariates"] is None else config["covariates"]
    pcs = None
    if pcs_path is not None:
        pcs = pd.read_csv(pcs_path, sep="\t", index_col=0)
        pcs.index = pcs.index.astype(str)
    # MetaInformAnt configs name computed PCs among the covariates (PC1, PC2 ...).
    by_name = [c for c in names if c not in cov_table.columns and pcs is not None
               and c in pcs.columns]
    unknown = [c for c in names if c not in cov_table.columns and c not in by_name]
    if unknown:
        known = [*cov_table.columns, *(pcs.columns if pcs is not None else [])]
        raise StepError(f"unknown covariate(s): {', '.join(unknown)}",
                        hint=f"covariate columns: {', '.join(known) or '(none)'}"
                             + ("" if pcs is not None else "; PCs need structure.compute_pca"))
    frame = pd.DataFrame({"y": pheno[trait]}).join(
        cov_table[[c for c in names if c not in by_name]])
    if by_name and pcs is not None:
        frame = frame.join(pcs[by_name])
    n_pcs = len(by_name)
    if pcs is not None and config["n_pcs"] > 0:
        n_pcs = min(config["n_pcs"], pcs.shape[1])
        if n_pcs < config["n_pcs"]:
            log.warning("only %d PCs available (n_pcs = %d)", n_pcs, config["n_pcs"])
        frame = frame.join(pcs.iloc[:, :n_pcs])
    frame = frame.iloc[kept]
    complete = frame.notna().all(axis=1).to_numpy()
    log.info("%d of %d QC-kept samples have '%s' and all covariates", complete.sum(),
             len(kept), trait)
    frame = frame[complete]
    y = frame["y"].to_numpy(dtype=np.float64)
    model = config["model"]
    coded = _binary_coding(y)
    if model == "auto":
        model = "logistic" if coded is not None else "linear"
    if model == "mixed" and coded is not None:
        log.warning("trait '%s' is binary; the mixed model treats it as quantitative (as GEMMA "
                    "does)", trait)
    if model == "logistic":
        if coded is None:
            raise StepError(f"trait '{trait}' is not binary (0/1 or 1/2) but model is logistic",
                            hint="use model: linear, or recode the trait")
        y = coded
    covariates = np.column_stack([np.ones(len(frame)), frame.drop(columns="y").to_numpy(float)])
    return Design(str(trait), model, y, covariates, kept[complete], n_pcs)


def run_blocks(matrix: np.ndarray, variants: pd.DataFrame, rows: np.ndarray, kept: np.ndarray,
               setup: Design, config: dict[str, Any], log: logging.Logger,
               grm: np.ndarray | None = None) -> pd.DataFrame:
    """Regress every variant in ``rows``; a table with the output columns plus FIRTH.
    ``grm`` (mixed model): the relatedness matrix in kept-sample order."""
    # Positions of the analysis samples inside the kept-sample block.
    analysis = np.searchsorted(kept, setup.samples)
    try:
        if setup.model == "mixed":
            if grm is None:
                raise StepError("model 'mixed' needs the relatedness matrix (input 'grm')")
            fit = lmm.null_fit(grm[np.ix_(analysis, analysis)], setup.y, setup.covariates)
            setup.null = fit
            log.info("mixed model: REML lambda = %.6g, heritability (pve) = %.6g in the null "
                     "model", fit.lambda_null, fit.pve)
        elif setup.model == "linear":
            q = regression.orthonormal_basis(setup.covariates)
            y_resid = setup.y - q @ (q.T @ setup.y)
        else:
            start = regression.null_logistic(setup.covariates, setup.y)
    except np.linalg.LinAlgError as exc:
        raise StepError(f"cannot fit the covariates: {exc}",
                        hint="drop constant or duplicated covariates") from exc
    size = config["block_variants"]
    if setup.model == "logistic":  # each IRLS iteration holds a few V x n float arrays
        size = max(16, min(size, 512))
    parts: list[dict[str, np.ndarray]] = []
    for chunk_rows, block in genotypes.iter_blocks(matrix, rows, kept, size):
        # The minor allele is decided over all QC-kept samples, as plink2 does.
        called = block != genotypes.MISSING
        alt_all = np.where(called, block, 0).sum(1) / np.maximum(2 * called.sum(1), 1)
        sub = block[:, analysis]
        if setup.model == "mixed":
            res = lmm.mixed_block(sub, fit)
        elif setup.model == "linear":
            res = regression.linear_block(sub, q, y_resid)
        else:
            res = _logistic(sub, setup, start, config)
        # On an exact 0.5 tie ALT stays A1 (what plink2 a3.5 does in a direct check; in
        # larger runs it sometimes picks REF instead: see bench/gwas.md).
        flip = (alt_all > 0.5) if config["a1"] == "minor" else np.zeros(len(sub), bool)
        sign = np.where(flip, -1.0, 1.0)
        parts.append({"row": chunk_rows, "flip": flip, "BETA": res.beta * sign, "SE": res.se,
                      "T_OR_Z": res.stat * sign, "P": res.p, "N": res.n,
                      "MAF": np.minimum(res.alt_freq, 1 - res.alt_freq),
                      "ERRCODE": res.error, "FIRTH": res.firth})
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    if not merged:
        raise StepError("no variant to test", hint="check the QC output (kept_variants)")
    table = variants.iloc[merged["row"]].reset_index(drop=True)
    table["A1"] = np.where(merged["flip"], table["REF"], table["ALT"])
    for key in ("BETA", "SE", "T_OR_Z", "P", "N", "MAF", "ERRCODE", "FIRTH"):
        table[key] = merged[key]
    return table


def _logistic(block: np.ndarray, setup: Design, start: np.ndarray,
              config: dict[str, Any]) -> regression.BlockResult:
    mode = config["firth"]
    res = regression.logistic_block(block, setup.covariates, setup.y, firth=mode == "always",
                                    max_iter=config["max_iter"], tol=config["tolerance"],
                                    start=start)
    if mode == "fallback":
        redo = np.flatnonzero(np.isin(res.error, ["UNFINISHED", "SINGULAR"]))
        if len(redo):
            again = regression.logistic_block(block[redo], setup.covariates, setup.y,
                                              firth=True, max_iter=config["max_iter"],
                                              tol=config["tolerance"], start=start)
            for field in ("beta", "se", "stat", "p", "error", "firth"):
                getattr(res, field)[redo] = getattr(again, field)
    return res
