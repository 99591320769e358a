"""Sample tables: read phenotype/covariate TSVs and align them to the genotype samples."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from engine import StepError

ID_COLUMNS = ("sample_id", "IID", "#IID", "iid", "sample", "Sample", "ID")
MISSING_VALUES = ["NA", "NaN", "nan", "", ".", "-9"]


def read_sample_table(path: Path, what: str, id_column: str | None = None) -> pd.DataFrame:
    """A TSV indexed by sample id (``id_column``, else the first of ID_COLUMNS, else column 1).

    A PLINK-style ``FID`` column is dropped; ``NA``, ``.``, empty and ``-9`` are missing.
    """
    if not path.exists():
        raise StepError(f"{what} file not found: {path}")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if id_column is None:
        id_column = next((c for c in ID_COLUMNS if c in table.columns), table.columns[0])
    elif id_column not in table.columns:
        raise StepError(f"{what} file {path} has no column '{id_column}'",
                        hint=f"its columns are: {', '.join(table.columns)}")
    ids = table[id_column].str.strip()
    duplicated = ids[ids.duplicated()].unique()
    if len(duplicated):
        raise StepError(f"{what} file {path} repeats sample ids: {', '.join(duplicated[:5])}",
                        hint="each sample must appear once")
    values = table.drop(columns=[c for c in (id_column, "FID", "#FID") if c in table.columns])
    values = values.replace(MISSING_VALUES, np.nan)
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in values.columns if (numeric[c].isna() & values[c].notna()).any()]
    if bad:
        raise StepError(f"{what} file {path}: non-numeric values in column(s) {', '.join(bad)}",
                        hint="encode categories as 0/1 columns; missing values as NA")
    numeric.index = pd.Index(ids, name="sample_id")
    return numeric


def align(genotype_ids: list[str], phenotypes: pd.DataFrame, covariates: pd.DataFrame | None,
          ) -> tuple[np.ndarray, pd.DataFrame]:
    """Genotype columns to keep (in genotype order) and a table of dropped samples.

    A sample is kept when it has genotypes, a phenotype row and (if a covariate file is given)
    a covariate row. Missing *values* are kept: each association drops them per trait.
    """
    dropped: list[tuple[str, str, str]] = []
    geno = pd.Index(genotype_ids)
    if geno.duplicated().any():
        raise StepError("the genotype file repeats sample ids: "
                        + ", ".join(geno[geno.duplicated()].unique()[:5]))
    keep = geno.isin(phenotypes.index)
    dropped += [(s, "genotypes", "no phenotype row") for s in geno[~keep]]
    dropped += [(s, "phenotypes", "no genotypes") for s in phenotypes.index[~phenotypes.index
                                                                            .isin(geno)]]
    if covariates is not None:
        has_cov = geno.isin(covariates.index)
        dropped += [(s, "genotypes", "no covariate row") for s in geno[keep & ~has_cov]]
        dropped += [(s, "covariates", "no genotypes") for s in covariates.index[
            ~covariates.index.isin(geno)]]
        keep &= has_cov
    table = pd.DataFrame(dropped, columns=["sample_id", "present_in", "reason"])
    return np.flatnonzero(keep), table


def restrict(table: pd.DataFrame, list_path: Path, log: logging.Logger) -> pd.DataFrame:
    """The rows of ``table`` whose sample id is listed in ``list_path`` (one id a line; blank
    lines and ``#`` comments ignored; a second column, as in PLINK's --keep FID IID, is the id)."""
    if not list_path.exists():
        raise StepError(f"sample list not found: {list_path}",
                        hint="samples.sample_list names a file of sample ids, one a line")
    wanted: list[str] = []
    for line in list_path.read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            wanted.append(fields[-1] if len(fields) == 2 else fields[0])
    keep = table.index.isin(wanted)
    if not keep.any():
        raise StepError(f"no sample of the sample list {list_path} is in the phenotype file",
                        hint="check that both use the same sample ids")
    log.info("sample list %s: %d of %d phenotyped samples kept", list_path,
                         int(keep.sum()), len(table))
    return table[keep]
