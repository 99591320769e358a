"""``gwas.qc``: sample call rate, variant missingness, MAF, HWE and indel filters.

Semantics follow ``plink2 --mind --geno --maf --hwe`` (v2.00a3.5, checked in the tests):
the sample filter comes first and uses every variant; the variant filters are then computed
on the kept samples (all samples are founders here). Comparisons are PLINK's: a variant fails
``max_missing`` when its missing fraction is *greater* than the threshold, ``min_maf`` when its
minor allele frequency is *below* the threshold, ``hwe_pval`` when the exact-test p-value is
*below* it.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, single_path, step

_NUM_OR_NULL = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
PARAMS = {
    "properties": {
        "min_call_rate": {**_NUM_OR_NULL, "default": 0.95,
                          "description": "Drop samples with a call rate below this (plink2 "
                                         "--mind 1-x); null disables."},
        "max_missing": {**_NUM_OR_NULL, "default": 0.05,
                        "description": "Drop variants missing in more than this fraction of "
                                       "the kept samples (plink2 --geno); null disables."},
        "min_maf": {**_NUM_OR_NULL, "default": 0.01,
                    "description": "Drop variants with minor allele frequency below this "
                                   "(plink2 --maf); null disables."},
        "hwe_pval": {**_NUM_OR_NULL, "default": 1e-6,
                     "description": "Drop variants with an HWE exact-test p-value below this "
                                    "(plink2 --hwe); null disables."},
        "hwe_midp": {"type": "boolean", "default": False,
                     "description": "Use the mid-p HWE test (plink2 --hwe ... midp)."},
        "hwe_keep_fewhet": {"type": "boolean", "default": False,
                            "description": "Keep variants failing HWE only through too few "
                                           "heterozygotes (plink2 'keep-fewhet')."},
        "exclude_indels": {"type": "boolean", "default": False,
                           "description": "Drop variants whose REF or ALT is not a single A/C/G/T "
                                          "base (indels, '-', '*')."},
        "block_variants": {"type": "integer", "minimum": 1, "default": 8192,
                           "description": "Variants per block when scanning the dosages."},
    },
}

_EPS = 1e-9  # PLINK-style tolerance so that a value equal to the threshold passes


@step(
    "gwas.qc",
    params=PARAMS,
    version="1",
    inputs={
        "dosages": "gwas.load's dosages",
        "variants": "gwas.load's variants",
        "phenotypes": "gwas.load's phenotypes",
    },
    outputs={
        "variant_qc": "per-variant stats and failed filters",
        "sample_qc": "per-sample stats",
        "kept_variants": "TSV with the matrix index",
        "kept_samples": "TSV with the matrix index",
        "summary": "counts removed per filter",
    },
)
def qc(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
       context: StepContext) -> dict[str, Any]:
    """Variant and sample QC on the dosage store.

    inputs: ``dosages``, ``variants``, ``phenotypes`` (from gwas.load). outputs:
    ``variant_qc`` (per-variant stats and failed filters), ``sample_qc``, ``kept_variants`` and
    ``kept_samples`` (TSVs with the matrix ``index``), ``summary`` (counts removed per filter).
    """
    import numpy as np
    import pandas as pd

    from stepslib.gwas import genotypes

    matrix = genotypes.open_dosages(single_path(inputs, "dosages"))
    variants = genotypes.read_variants(single_path(inputs, "variants"))
    sample_ids = pd.read_csv(single_path(inputs, "phenotypes"), sep="\t", usecols=[0],
                             dtype=str).iloc[:, 0].to_numpy()
    n_var, n_samp = matrix.shape
    if len(variants) != n_var or len(sample_ids) != n_samp:
        raise StepError(f"dosage matrix is {n_var}x{n_samp} but the tables list {len(variants)} "
                        f"variants and {len(sample_ids)} samples", hint="rerun gwas.load")
    # 1. Samples (plink2 applies --mind before the variant filters, over all variants).
    call_rate, keep_samples = _sample_filter(matrix, config)
    cols = np.flatnonzero(keep_samples)
    if len(cols) == 0:
        raise StepError("every sample fails min_call_rate", hint="lower min_call_rate")
    # 2. Variants, on the kept samples.
    variant_qc, fails = _variant_filters(matrix, variants, cols, config)
    failed = variant_qc["PASS"].to_numpy() == 0

    variant_qc.to_csv(single_path(outputs, "variant_qc", output=True), sep="\t", index=False,
                      na_rep="NA")
    variant_qc.loc[~failed, ["index", "SNP"]].to_csv(
        single_path(outputs, "kept_variants", output=True), sep="\t", index=False)
    pd.DataFrame({"index": np.arange(n_samp), "sample_id": sample_ids, "CALL_RATE": call_rate,
                  "PASS": keep_samples.astype(int)}).to_csv(
        single_path(outputs, "sample_qc", output=True), sep="\t", index=False)
    pd.DataFrame({"index": cols, "sample_id": sample_ids[cols]}).to_csv(
        single_path(outputs, "kept_samples", output=True), sep="\t", index=False)

    rows = _summary_rows(keep_samples, fails, failed)
    pd.DataFrame(rows, columns=["level", "filter", "count", "removed_in_order"]).to_csv(
        single_path(outputs, "summary", output=True), sep="\t", index=False)
    for level, name, count, in_order in rows:
        context.log.info("%s %s: %d (%d in plink2 order)", level, name, count, in_order)
    if not (~failed).any():
        raise StepError("every variant fails QC", hint="relax min_maf/max_missing/hwe_pval")
    return {"status": "completed",
            "metadata": {"samples_kept": len(cols), "samples_removed": n_samp - len(cols),
                         "variants_kept": int((~failed).sum()),
                         "variants_removed": {k: int(m.sum()) for k, m in fails.items()}}}


def _sample_filter(matrix: Any, config: dict[str, Any]) -> tuple[Any, Any]:
    """Per-sample call rate over every variant, and the mask of samples plink2 --mind keeps."""
    import numpy as np

    from stepslib.gwas import genotypes

    n_var, n_samp = matrix.shape
    sample_missing = np.zeros(n_samp, dtype=np.int64)
    for _, chunk in genotypes.iter_blocks(matrix, np.arange(n_var), None,
                                          config["block_variants"]):
        sample_missing += (chunk == genotypes.MISSING).sum(0)
    call_rate = 1 - sample_missing / max(n_var, 1)
    keep_samples = np.ones(n_samp, dtype=bool)
    if config["min_call_rate"] is not None:
        max_missing_rate = 1 - config["min_call_rate"]
        keep_samples = sample_missing / max(n_var, 1) <= max_missing_rate * (1 + _EPS) + 1e-12
    return call_rate, keep_samples


def _variant_filters(matrix: Any, variants: Any, cols: Any,
                     config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The per-variant QC table (stats, failed filters, PASS) and each filter's fail mask."""
    import numpy as np

    from stepslib.gwas import genotypes, qcstats

    n_var = len(variants)
    all_rows = np.arange(n_var)
    counts = qcstats.genotype_counts(
        c for _, c in genotypes.iter_blocks(matrix, all_rows, cols, config["block_variants"]))
    hom_ref, het, hom_alt, missing = counts.T
    n_obs = hom_ref + het + hom_alt
    alt_count = het + 2 * hom_alt
    with np.errstate(divide="ignore", invalid="ignore"):
        alt_freq = np.where(n_obs > 0, alt_count / (2 * n_obs), np.nan)
    maf = np.minimum(alt_freq, 1 - alt_freq)
    hwe_p = qcstats.hwe_exact(het, hom_ref, hom_alt, midp=config["hwe_midp"])
    # Not a SNP: an allele longer than one base, or a PLINK/VCF placeholder such as "-", "*".
    is_indel = ~(variants["REF"].str.fullmatch("[ACGTacgt]") & variants["ALT"].str.fullmatch(
        "[ACGTacgt]")).fillna(False).astype(bool)

    fails: dict[str, Any] = {}
    if config["max_missing"] is not None:
        fails["max_missing"] = missing > config["max_missing"] * len(cols) * (1 + _EPS)
    if config["min_maf"] is not None:
        fails["min_maf"] = ~(maf >= config["min_maf"] * (1 - _EPS))  # NaN (no calls) fails
    if config["hwe_pval"] is not None:
        fail_hwe = hwe_p < config["hwe_pval"]
        if config["hwe_keep_fewhet"]:
            fail_hwe &= het >= qcstats.expected_het(n_obs, alt_count)
        fails["hwe_pval"] = fail_hwe
    if config["exclude_indels"]:
        fails["exclude_indels"] = is_indel.to_numpy()
    failed = np.zeros(n_var, dtype=bool)
    for mask in fails.values():
        failed |= mask
    reasons = np.array([",".join(k for k, m in fails.items() if m[i]) if failed[i] else ""
                        for i in range(n_var)], dtype=object)
    table = variants.assign(index=all_rows, N_OBS=n_obs, ALT_FREQ=alt_freq, MAF=maf,
                            F_MISS=missing / len(cols), HWE_P=hwe_p, INDEL=is_indel.astype(int),
                            FAILED=reasons, PASS=(~failed).astype(int))
    return table, fails


def _summary_rows(keep_samples: Any, fails: dict[str, Any],
                  failed: Any) -> list[tuple[str, str, int, int]]:
    """"count": failing each filter; "removed_in_order": newly removed in plink2's order
    (--mind, --geno, --hwe, --maf), comparable with the plink2 log."""
    import numpy as np

    n_samp, n_var = len(keep_samples), len(failed)
    n_removed_samples = int((~keep_samples).sum())
    rows = [("samples", "input", n_samp, 0),
            ("samples", "min_call_rate", n_removed_samples, n_removed_samples),
            ("samples", "kept", n_samp - n_removed_samples, 0), ("variants", "input", n_var, 0)]
    already = np.zeros(n_var, dtype=bool)
    for name in ("max_missing", "hwe_pval", "min_maf", "exclude_indels"):
        if name in fails:
            mask = fails[name]
            rows.append(("variants", name, int(mask.sum()), int((mask & ~already).sum())))
            already |= mask
    rows += [("variants", "removed_total", int(failed.sum()), int(failed.sum())),
             ("variants", "kept", int((~failed).sum()), 0)]
    return rows
