"""Numerical core of ``rna.curate``: amalgkit curate.r (v0.12.20) with ``batch_effect_alg no``.

One species at a time: transform counts (``<log>-<unit>``, e.g. log2p1-fpkm), drop runs with a
low mapping rate, then iteratively drop runs that correlate better with another sample_group's
mean profile, or poorly with their own group's mean computed without their BioProject. Also
the per-group means, tau (tissue specificity) and the correlation statistics amalgkit reports.

Differences from amalgkit curate.r: only ``batch_effect_alg no``; output rows keep the input
order (amalgkit moves unexpressed genes last, then sorts by id with ``maintain_zero``); FPKM
divides each run by its own library size (curate.r divides a data.frame by the library-size
vector, which R recycles down the rows, not across runs); an undefined correlation marks a run
as a candidate (curate.r stops); zero effective lengths give 0, not NaN; plots are left to
rna.csca. ``one_outlier_per_iter`` reduces, as in curate.r, to "first candidate per BioProject".

Runs are columns of pandas frames; ``meta`` is the species' metadata (one row per run, columns
run, sample_group, bioproject, exclusion, optionally mapping_rate and tmm_library_size). This
module is imported when the step library registers, so numpy/pandas are imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LOGS = ("logn", "log2", "lognp1", "log2p1", "none")
UNITS = ("fpkm", "tpm", "none")
NORMS = [f"{log}-{unit}" for log in LOGS for unit in UNITS]
CLASSES = ("bwbw", "wibw", "bwwi", "wiwi")  # BioProject between/within x sample_group b/w


def transform(counts: pd.DataFrame, eff_length: pd.DataFrame, norm: str,
              lib_size: pd.Series | None = None) -> pd.DataFrame:
    """FPKM (library size ``lib_size`` or the column sums) or TPM, then the log of ``norm``."""
    import numpy as np

    log, unit = norm.split("-", 1)
    values = counts.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if unit == "fpkm":
            lib = values.sum(axis=0) if lib_size is None else lib_size[values.columns]
            values = values / eff_length / lib * 1e9
        elif unit == "tpm":
            per_base = values / eff_length
            values = per_base / per_base.sum(axis=0) * 1e6
        # a zero effective length gives 0/0: call that no expression rather than NaN
        values = values.where(~((eff_length <= 0) & (counts == 0)), 0.0)
        functions: dict[str, Callable[[Any], Any]] = {
            "logn": np.log, "log2": np.log2, "lognp1": lambda x: np.log(x + 1),
            "log2p1": lambda x: np.log2(x + 1), "none": lambda x: x}
        return functions[log](values)


def untransform(values: pd.DataFrame, norm: str) -> pd.DataFrame:
    """Back from the log scale of ``norm`` (used for tau)."""
    import numpy as np

    log = norm.split("-", 1)[0]
    inverse: dict[str, Callable[[Any], Any]] = {
        "logn": np.exp, "log2": lambda x: 2.0 ** x, "lognp1": lambda x: np.exp(x) - 1,
        "log2p1": lambda x: 2.0 ** x - 1, "none": lambda x: x}
    return inverse[log](values)


def sample_group_mean(tc: pd.DataFrame, meta: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Row means of the runs of each group; groups whose runs are all excluded are left out."""
    import pandas as pd

    present = set(meta["sample_group"])
    columns = {}
    for group in [g for g in groups if g in present]:
        rows = meta[meta["sample_group"] == group]
        if (rows["exclusion"] != "no").all():
            continue
        runs = [r for r in rows["run"] if r in tc.columns]
        columns[group] = tc[runs].mean(axis=1)
    return pd.DataFrame(columns, index=tc.index)


def tau(means: pd.DataFrame, norm: str) -> pd.DataFrame:
    """amalgkit's tau per gene (NaN when not expressed), plus the top group and group order."""
    import numpy as np
    import pandas as pd

    x = untransform(means, norm).clip(lower=0)
    n = x.shape[1]
    xmax = x.max(axis=1, skipna=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = ((1 - x.div(xmax, axis=0)) / (n - 1)).sum(axis=1, skipna=False)
    filled = x.fillna(0).to_numpy()
    highest, order = [], []
    for row in filled:
        nonzero = np.flatnonzero(row > 0)
        ranked = nonzero[np.argsort(-row[nonzero], kind="stable")]
        names = [str(x.columns[i]) for i in ranked]
        highest.append(names[0] if names else None)
        order.append("|".join(names) if names else None)
    scores[xmax.isna() | (xmax == 0)] = np.nan
    return pd.DataFrame({"tau": scores, "highest": highest, "order": order}, index=means.index)


def correlate(x: np.ndarray, y: np.ndarray, method: str) -> float:
    import numpy as np
    from scipy.stats import rankdata

    if method == "spearman":
        x, y = rankdata(x), rankdata(y)
    if np.std(x) == 0 or np.std(y) == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def correlation_matrix(tc: pd.DataFrame, method: str) -> np.ndarray:
    import numpy as np

    values = tc.to_numpy()
    n = values.shape[1]
    result = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            result[i, j] = result[j, i] = correlate(values[:, i], values[:, j], method)
    result[np.isnan(result)] = 0.0  # as amalgkit: undefined correlations count as 0
    return result


def correlation_statistics(tc: pd.DataFrame, meta: pd.DataFrame, method: str) -> dict[str, float]:
    """Mean, median, variance of run-run correlations in the four BioProject x group classes.

    As in amalgkit, the full matrix is used: the diagonal (1) counts as "within/within" and
    every pair appears twice.
    """
    import numpy as np

    runs = [r for r in meta["run"] if r in tc.columns]
    stats = {f"{c}_{s}": math.nan for c in CLASSES for s in ("mean", "median", "variance")}
    if len(runs) <= 1:
        return stats
    matrix = correlation_matrix(tc[runs], method)
    info = meta.set_index("run").loc[runs]
    same_bp = np.equal.outer(info["bioproject"].to_numpy(), info["bioproject"].to_numpy())
    same_group = np.equal.outer(info["sample_group"].to_numpy(),
                                info["sample_group"].to_numpy())
    masks = {"bwbw": ~same_bp & ~same_group, "wibw": same_bp & ~same_group,
             "bwwi": ~same_bp & same_group, "wiwi": same_bp & same_group}
    for name, mask in masks.items():
        values = matrix[mask]
        if values.size:
            stats[f"{name}_mean"] = float(values.mean())
            stats[f"{name}_median"] = float(np.median(values))
        if values.size > 1:
            stats[f"{name}_variance"] = float(values.var(ddof=1))
    return stats


def correlation_outliers(tc: pd.DataFrame, meta: pd.DataFrame, groups: list[str], method: str,
                         min_dif: float, threshold: float, one_per_iter: bool) -> list[str]:
    """Runs to exclude in one round of amalgkit's within-sample_group correlation check."""
    import numpy as np

    if len(groups) == 1:
        return []
    info = meta[meta["run"].isin(tc.columns)]
    tc = tc[[r for r in tc.columns if r in set(info["run"])]]
    groups = [g for g in groups if g in set(info["sample_group"])]
    if tc.shape[1] == 0 or len(groups) <= 1:
        return []
    means = sample_group_mean(tc, info, groups)
    candidates: list[str] = []
    n_other_bp: dict[str, int] = {}
    for run in tc.columns:
        me = info[info["run"] == run].iloc[0]
        group, bioproject = me["sample_group"], me["bioproject"]
        other_bp, same_group = info["bioproject"] != bioproject, info["sample_group"] == group
        others = info[other_bp | ~same_group]
        n_other_bp[run] = info.loc[other_bp & same_group, "bioproject"].nunique()
        # Without another BioProject in the group, the own-group mean is the full mean.
        if (others["sample_group"] == group).sum() == 0:
            means_other = means
        else:
            means_other = sample_group_mean(tc[list(others["run"])], info, groups)
        profile = tc[run].to_numpy()
        coef = np.array([correlate(profile, means[g].to_numpy(), method) for g in groups])
        coef_other = np.array([correlate(profile, means_other[g].to_numpy(), method)
                               for g in groups])
        own = groups.index(group)
        coef[own] -= min_dif
        coef_other[own] -= min_dif
        # amalgkit would stop on an undefined correlation; we treat it as an outlier signal
        if math.isnan(coef[own]) or np.nanmax(coef) != coef[own]:
            candidates.append(run)
        if math.isnan(coef_other[own]) or coef_other[own] < threshold:
            candidates.append(run)
    if not candidates:
        return []
    rows = info[info["run"].isin(candidates)]
    if one_per_iter:
        # amalgkit's rule reduces to the first candidate of every BioProject
        return list(rows.drop_duplicates("bioproject")["run"])
    freq = rows["bioproject"].map(rows["bioproject"].value_counts())
    others = rows["run"].map(n_other_bp)
    first = min(zip(others, freq))
    chosen = set(rows.loc[(others == first[0]) & (freq == first[1]), "bioproject"])
    return list(rows.loc[rows["bioproject"].isin(chosen), "run"])


@dataclass
class Curated:
    """Everything rna.curate writes for one species."""

    uncorrected: pd.DataFrame
    uncorrected_mean: pd.DataFrame
    corrected: pd.DataFrame
    corrected_mean: pd.DataFrame
    metadata: pd.DataFrame
    correlation_stats: pd.DataFrame
    tau: pd.DataFrame
    rounds: list[dict[str, Any]] = field(default_factory=list)


def sort_metadata(meta: pd.DataFrame) -> pd.DataFrame:
    """amalgkit's run order: by sample_group, scientific_name, bioproject (stable)."""
    keys = [c for c in ("sample_group", "scientific_name", "bioproject") if c in meta.columns]
    return meta.sort_values(keys, kind="stable").reset_index(drop=True)


def curate_species(counts: pd.DataFrame, eff_length: pd.DataFrame, meta: pd.DataFrame,
                   groups: list[str], options: dict[str, Any]) -> Curated:
    """The whole amalgkit curate flow for one species with ``batch_effect_alg no``.

    ``meta`` holds the species' runs of the selected groups; ``options`` has norm,
    mapping_rate, correlation_threshold, min_dif, one_outlier_per_iter, clip_negative,
    maintain_zero, dist_method and skip_curation.
    """
    import pandas as pd

    meta = sort_metadata(meta)
    missing = (meta["exclusion"] == "no") & ~meta["run"].isin(counts.columns)
    meta.loc[missing, "exclusion"] = "failed_quantification"
    runs = list(meta.loc[meta["exclusion"] == "no", "run"])
    lib = None
    if "tmm_library_size" in meta.columns:
        lib = pd.to_numeric(meta.set_index("run")["tmm_library_size"], errors="coerce")
        lib = lib.reindex(runs).fillna(counts[runs].sum(axis=0))
    norm, method = options["norm"], options["dist_method"]
    tc = transform(counts[runs], eff_length[runs], norm, lib)
    input_zero = tc == 0
    uncorrected_mean = sample_group_mean(tc, meta, groups)
    # amalgkit drops groups whose runs are all excluded; absent groups stay (and are ignored)
    species_groups = set(meta["sample_group"])
    groups = [g for g in groups if g in uncorrected_mean.columns or g not in species_groups]
    result = Curated(tc, uncorrected_mean, tc, uncorrected_mean, meta, pd.DataFrame(),
                     pd.DataFrame())
    if options["skip_curation"]:
        return result
    stats: dict[str, dict[str, float]] = {}

    def drop_low_mapping(tc: pd.DataFrame, cutoff_percent: float) -> pd.DataFrame:
        if "mapping_rate" not in meta.columns:
            return tc
        rate = pd.to_numeric(meta["mapping_rate"], errors="coerce")
        bad = rate.notna() & ~(rate > cutoff_percent)
        meta.loc[bad, "exclusion"] = "low_mapping_rate"
        return tc[[r for r in tc.columns if r not in set(meta.loc[bad, "run"])]]

    def finish(tc: pd.DataFrame) -> pd.DataFrame:  # batch correction 'no' + clipping
        if tc.shape[1] > 1 and options["clip_negative"] and norm.split("-")[0].endswith("p1"):
            tc = tc.clip(lower=0)
        return tc

    tc = drop_low_mapping(tc, 0.0)
    stats["round_0"] = correlation_statistics(tc, meta, method)
    tc = drop_low_mapping(tc, options["mapping_rate"] * 100)
    stats["round_1"] = correlation_statistics(finish(tc), meta, method)
    result.rounds.append({"round": 1, "runs": tc.shape[1]})
    round_number = 2
    while True:
        before = int((meta["exclusion"] == "no").sum())
        excluded = correlation_outliers(tc, meta, groups, method, options["min_dif"],
                                        options["correlation_threshold"],
                                        options["one_outlier_per_iter"])
        meta.loc[meta["run"].isin(excluded), "exclusion"] = "low_within_sample_group_correlation"
        tc = tc[[r for r in tc.columns if r not in set(excluded)]]
        result.rounds.append({"round": round_number, "removed": excluded})
        if int((meta["exclusion"] == "no").sum()) == before:
            stats[f"round_{round_number}"] = correlation_statistics(finish(tc), meta, method)
            break
        round_number += 1
    corrected = finish(tc)
    if options["maintain_zero"]:
        corrected = corrected.mask(input_zero[corrected.columns], 0.0)
    result.corrected = corrected
    result.corrected_mean = sample_group_mean(corrected, meta, groups)
    result.correlation_stats = pd.DataFrame.from_dict(stats, orient="index")
    result.tau = tau(result.corrected_mean, norm)
    return result
