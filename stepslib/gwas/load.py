"""``gwas.load``: genotypes (PLINK 1 binary or VCF/BCF) + phenotypes -> the dosage store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, path_list, single_path, step

PARAMS = {
    "properties": {
        "sample_id_column": {
            "type": ["string", "null"], "default": None,
            "description": "Sample id column of the phenotype/covariate TSVs (default: the first "
                           "of sample_id, IID, #IID, sample, ID; else the first column).",
        },
        "min_qual": {
            "type": ["number", "null"], "default": None,
            "description": "VCF/BCF: drop records with a QUAL below this (a missing QUAL is "
                           "kept; PLINK input has no QUAL); null keeps all.",
        },
        "chunk_variants": {
            "type": "integer", "minimum": 1, "default": 4096,
            "description": "Variants read per chunk (memory is one chunk x samples bytes).",
        },
    },
}


@step(
    "gwas.load",
    params=PARAMS,
    version="1",
    inputs={
        "genotypes": "PLINK .bed (with .bim/.fam beside it), or one or more .vcf[.gz]/.bcf "
                     "with the same samples (e.g. one per chromosome; a directory: every "
                     "VCF/BCF in it), read one after the other",
        "phenotypes": "TSV: sample id + traits",
        "covariates": {"description": "TSV: sample id + covariates (may be an empty list)",
                       "required": False},
        "sample_list": {"description": "text file of sample ids, one a line: keep only these "
                                       "(may be an empty list)", "required": False},
    },
    outputs={
        "dosages": "variants x samples ALT counts (a .npy array)",
        "variants": "TSV CHR POS SNP REF ALT",
        "phenotypes": "TSV aligned to the dosage columns",
        "covariates": "TSV aligned to the dosage columns",
        "dropped": "TSV of the samples dropped and why",
    },
)
def load(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Read genotypes and align phenotypes/covariates by sample id.

    inputs: ``genotypes`` (.bed with .bim/.fam next to it, or .vcf[.gz]/.bcf), ``phenotypes``
    (TSV: sample id + traits), optional ``covariates`` (TSV: sample id + covariates; may be an
    empty list). outputs: ``dosages`` (.npy int8 variants x samples, ALT count, -1 = missing),
    ``variants`` (TSV CHR POS SNP REF ALT), ``phenotypes`` and ``covariates`` (TSVs aligned to
    the dosage columns), ``dropped`` (TSV of samples dropped and why).
    """
    import pandas as pd

    from stepslib.gwas import genotypes, samples

    source = genotypes.open_sources(path_list(inputs.get("genotypes")))
    id_col = config["sample_id_column"]
    pheno = samples.read_sample_table(single_path(inputs, "phenotypes"), "phenotype", id_col)
    list_path = optional_path(inputs, "sample_list")
    if list_path is not None:
        pheno = samples.restrict(pheno, list_path, context.log)
    cov_path = optional_path(inputs, "covariates")
    cov = samples.read_sample_table(cov_path, "covariate", id_col) if cov_path else None
    columns, dropped = samples.align(source.sample_ids, pheno, cov)
    if len(columns) == 0:
        raise StepError("no sample is in both the genotype and the phenotype file",
                        hint="check that the phenotype sample ids match the .fam IIDs / VCF "
                             "sample names (see the dropped-samples table)")
    kept_ids = [source.sample_ids[i] for i in columns]
    for reason, group in dropped.groupby(["present_in", "reason"]):
        ids = group["sample_id"].tolist()
        context.log.warning("dropped %d sample(s) present in %s: %s (%s%s)", len(ids), reason[0],
                            reason[1], ", ".join(ids[:10]), ", ..." if len(ids) > 10 else "")
    paths = {k: single_path(outputs, k, output=True) for k in ("dosages", "variants", "phenotypes",
                                                "covariates", "dropped")}
    n_var, n_samp = genotypes.write_store(
        source, columns, paths["dosages"], paths["variants"], chunk=config["chunk_variants"],
        threads=context.threads, tmp_dir=Path(context.tmp_dir), log=context.log,
        min_qual=config["min_qual"])
    pheno.loc[kept_ids].to_csv(paths["phenotypes"], sep="\t", na_rep="NA")
    cov_table = cov.loc[kept_ids] if cov is not None else pd.DataFrame(
        index=pd.Index(kept_ids, name="sample_id"))
    cov_table.to_csv(paths["covariates"], sep="\t", na_rep="NA")
    dropped.to_csv(paths["dropped"], sep="\t", index=False)
    context.log.info("%d variants x %d samples (%s); %d sample(s) dropped", n_var, n_samp,
                     source.kind, len(dropped))
    return {"status": "completed",
            "metadata": {"n_variants": n_var, "n_samples": n_samp, "format": source.kind,
                         "n_dropped": len(dropped),
                         "traits": list(pheno.columns),
                         "covariates": list(cov.columns) if cov is not None else []}}
