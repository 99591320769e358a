"""``gwas.associate``: per-variant linear or logistic regression (the ``plink2 --glm`` model).

Model per variant: trait ~ intercept + covariates + first ``n_pcs`` PCs + dosage, samples with
a missing call dropped for that variant. As in plink2 (v2.00a3.5) the reported allele ``A1``
is the minor allele among the QC-kept samples, ALT on a 0.5 tie (``a1: alt`` reports ALT always, like
``--glm omit-ref``); BETA is per copy of A1. Logistic BETA is log(OR); Firth fallback reruns
non-converged variants with Firth's penalized likelihood (plink2's default ``firth-fallback``).
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step

PARAMS = {
    "properties": {
        "trait": {"type": ["string", "null"], "default": None,
                  "description": "Phenotype column to test (default: the first one)."},
        "model": {"enum": ["auto", "linear", "logistic", "mixed"], "default": "auto",
                  "description": "auto: logistic when the trait has exactly two values, 0/1 "
                                 "(1 = case) or PLINK's 1/2 (2 = case); else linear. mixed: "
                                 "linear mixed model with the relatedness matrix (input grm), "
                                 "per-variant REML and Wald test as gemma -lmm 1."},
        "covariates": {"type": ["array", "null"], "items": {"type": "string"}, "default": None,
                       "description": "Covariate columns to adjust for (default: all columns "
                                      "of the covariates file; [] for none)."},
        "n_pcs": {"type": "integer", "minimum": 0, "default": 10,
                  "description": "Number of leading principal components added as covariates "
                                 "(0, or no 'pcs' input: none)."},
        "firth": {"enum": ["no", "fallback", "always"], "default": "fallback",
                  "description": "Logistic only: Firth regression never, for variants where "
                                 "plain IRLS does not converge (plink2 default), or always."},
        "max_iter": {"type": "integer", "minimum": 1, "default": 30,
                     "description": "Logistic only: maximum IRLS iterations."},
        "tolerance": {"type": "number", "exclusiveMinimum": 0, "default": 1e-9,
                      "description": "Logistic only: converged when no coefficient moves more "
                                     "than this in an iteration."},
        "a1": {"enum": ["minor", "alt"], "default": "minor",
               "description": "Tested allele: the minor allele (plink2 default) or ALT."},
        "min_samples": {"type": "integer", "minimum": 3, "default": 10,
                        "description": "Fail when fewer samples have the trait and covariates."},
        "block_variants": {"type": "integer", "minimum": 1, "default": 4096,
                           "description": "Variants per block (logistic uses a smaller block "
                                          "so that memory stays near the linear case)."},
    },
}

COLUMNS = ["CHR", "POS", "SNP", "REF", "ALT", "A1", "BETA", "SE", "T_OR_Z", "P", "N", "MAF",
           "ERRCODE"]


@step(
    "gwas.associate",
    params=PARAMS,
    version="1",
    inputs={
        "dosages": "gwas.load's dosages",
        "variants": "gwas.load's variants",
        "phenotypes": "gwas.load's phenotypes",
        "covariates": "gwas.load's covariates",
        "kept_variants": "gwas.qc's kept_variants",
        "kept_samples": "gwas.qc's kept_samples",
        "pcs": {"description": "gwas.structure's pcs (may be an empty list)", "required": False},
        "grm": {"description": "model mixed: gwas.structure's grm (.npy, kept-sample order; "
                               "may be an empty list)", "required": False},
    },
    outputs={
        "results": "TSV: CHR POS SNP REF ALT A1 BETA SE T_OR_Z P N MAF ERRCODE",
        "heritability": {"description": "model mixed: JSON of the null model's REML estimates "
                                        "(heritability_reml, lambda_reml; may be an empty list)",
                         "required": False, "suffixes": [".json"]},
    },
)
def associate(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Association test of every QC-kept variant.

    inputs: ``dosages``, ``variants``, ``phenotypes``, ``covariates`` (gwas.load),
    ``kept_variants``, ``kept_samples`` (gwas.qc), optional ``pcs`` (gwas.structure; may be an
    empty list). outputs: ``results`` (TSV: CHR POS SNP REF ALT A1 BETA SE T_OR_Z P N MAF
    ERRCODE; ERRCODE is empty when the test ran, else why not, e.g. UNFINISHED).
    """
    import json

    import numpy as np

    from stepslib.gwas import genotypes
    from stepslib.gwas.assoc_core import design, run_blocks

    matrix = genotypes.open_dosages(single_path(inputs, "dosages"))
    variants = genotypes.read_variants(single_path(inputs, "variants"))
    rows = genotypes.read_index(single_path(inputs, "kept_variants"))
    kept = genotypes.read_index(single_path(inputs, "kept_samples"))
    setup = design(config, single_path(inputs, "phenotypes"), single_path(inputs, "covariates"),
                   optional_path(inputs, "pcs"), kept, context.log)
    if len(setup.samples) < config["min_samples"]:
        raise StepError(f"only {len(setup.samples)} samples have '{setup.trait}' and all "
                        f"covariates (min_samples = {config['min_samples']})",
                        hint="check missing values in the phenotype/covariate files")
    grm_path = optional_path(inputs, "grm")
    if setup.model == "mixed" and grm_path is None:
        raise StepError("model 'mixed' needs the relatedness matrix (input 'grm')",
                        hint="give gwas.structure a 'grm' output and pass it here")
    grm = np.load(grm_path) if grm_path is not None and setup.model == "mixed" else None
    if grm is not None and grm.shape != (len(kept), len(kept)):
        raise StepError(f"relatedness matrix {grm_path} is {grm.shape}, not {len(kept)} x "
                        f"{len(kept)} (the QC-kept samples)",
                        hint="association.relatedness_matrix must be in kept-sample order")
    table = run_blocks(matrix, variants, rows, kept, setup, config, context.log, grm)
    path = single_path(outputs, "results", output=True)
    table[COLUMNS].to_csv(path, sep="\t", index=False, na_rep="NA", float_format="%.10g")
    h2_path = optional_path(outputs, "heritability", output=True)
    if h2_path is not None:
        if setup.null is None:
            raise StepError("output 'heritability' needs model 'mixed'",
                            hint="leave the output out for linear and logistic models")
        h2_path.write_text(json.dumps({"trait": setup.trait, **_heritability(setup)},
                                      indent=2) + "\n")
    errors = table["ERRCODE"].value_counts().to_dict()
    errors.pop("", None)
    n_firth = int(table["FIRTH"].sum())
    context.log.info("%s regression of '%s' on %d variants, %d samples, %d covariates "
                     "(incl. intercept and %d PCs); %d variants without a result %s; "
                     "%d by Firth", setup.model, setup.trait, len(table), len(setup.samples),
                     setup.covariates.shape[1], setup.n_pcs, sum(errors.values()), errors,
                     n_firth)
    p = table["P"].to_numpy()
    return {"status": "completed",
            "warnings": [f"{n} variants: {code}" for code, n in errors.items()],
            "metadata": {"trait": setup.trait, "model": setup.model,
                         "n_samples": len(setup.samples), "n_variants": len(table),
                         "n_covariates": int(setup.covariates.shape[1]) - 1,
                         "n_pcs": setup.n_pcs, "errors": errors, "n_firth": n_firth,
                         "min_p": float(np.nanmin(p)) if np.isfinite(p).any() else None,
                         **_heritability(setup)}}


def _heritability(setup: Any) -> dict[str, Any]:
    """The mixed model's null REML estimates (GEMMA's 'pve estimate'), else nothing."""
    if setup.null is None:
        return {}
    return {"heritability_reml": setup.null.pve, "lambda_reml": setup.null.lambda_null,
            "n_samples": len(setup.samples)}
