"""``rna.curate``: amalgkit curate (v0.12.20 curate.r) for ``batch_effect_alg: no``, in numpy.

Per species: the cstmm (or merge) counts, merge's effective lengths and the metadata give the
``<log>-<unit>`` expression table; runs with a low mapping rate and runs whose profile fits
another sample_group better (or their own group poorly) are excluded round by round. Writes
amalgkit's layout under the output directory::

    <Sp>/tables/<Sp>.{uncorrected.tc, uncorrected.sample_group.mean, metadata,
                      no.tc, no.sample_group.mean, no.correlation_statistics, no.tau}.tsv

The algorithm lives in :mod:`stepslib.rna.curate_core`; its docstring lists the differences
from amalgkit (only ``no`` batch correction; rows keep the input order; FPKM divides each run by
its own library size).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepContext, StepError, path_list, step
from stepslib.rna.curate_core import NORMS

if TYPE_CHECKING:
    import pandas as pd

_YES_NO = {"oneOf": [{"type": "boolean"}, {"enum": ["yes", "no"]}]}


def _flag(value: bool | str) -> bool:
    return value is True or value == "yes"


def _groups(value: str | list[str] | None, meta: pd.DataFrame) -> list[str]:
    """Selected sample groups: the param (a list, or text like 'leaf|root'), else all groups."""
    if value is None:
        return [str(g) for g in meta["sample_group"].dropna().unique()]
    groups = re.findall(r"\w+", value) if isinstance(value, str) else [str(v) for v in value]
    if not groups:
        raise StepError("rna.curate: param 'sample_group' names no group")
    return groups


def read_metadata(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise StepError(f"metadata table '{path}' does not exist")
    meta = pd.read_csv(path, sep="\t", dtype={"run": str, "bioproject": str,
                                              "sample_group": str, "exclusion": str})
    for column in ("scientific_name", "sample_group", "run"):
        if column not in meta.columns:
            raise StepError(f"metadata '{path}' has no '{column}' column",
                            hint="give amalgkit merge or cstmm metadata.tsv")
    if meta["sample_group"].isna().all():
        raise StepError(f"the 'sample_group' column of '{path}' is empty",
                        hint="fill sample_group: runs with the same value form one group")
    if "exclusion" not in meta.columns:
        meta["exclusion"] = "no"
    for column in ("instrument", "bioproject"):  # as amalgkit: empty -> "not_provided"
        if column not in meta.columns:
            meta[column] = "not_provided"
        meta[column] = meta[column].astype(object).fillna("not_provided").replace("", "not_provided")
    return meta


def _match(paths: list[Path], species: list[str], what: str) -> list[Path]:
    """Pair tables to species by the Genus_species file-name prefix, else by position."""
    from stepslib.rna.cstmm import species_of

    by_species = {species_of(p): p for p in paths}
    if all(sp in by_species for sp in species):
        return [by_species[sp] for sp in species]
    if len(paths) == len(species):
        return paths
    raise StepError(f"rna.curate: cannot pair the {what} tables with the count tables "
                    f"({', '.join(species)})",
                    hint=f"give one {what} table per species, named <Genus>_<species>_...")


@step(
    "rna.curate",
    inputs={
        "counts": "count tables, one per species",
        "eff_length": "eff_length tables",
        "metadata": "the metadata",
    },
    outputs={
        "dir": "the curate directory",
    },
    version="1",
    params={
        "properties": {
            "norm": {"enum": NORMS, "default": "log2p1-fpkm",
                     "description": "<log>-<unit>: log of logn, log2, lognp1, log2p1, none; "
                                    "unit fpkm (TMM library size when known), tpm, none."},
            "mapping_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.2,
                             "description": "Exclude runs whose mapping_rate (percent) is <= "
                                            "this fraction x 100."},
            "correlation_threshold": {"type": "number", "default": 0.3,
                                      "description": "Exclude runs correlating below this with "
                                                     "their group mean (own BioProject left "
                                                     "out)."},
            "batch_effect_alg": {"enum": ["no", "sva", "ruvseq", "combatseq"], "default": "no",
                                 "description": "Only 'no' is implemented."},
            "dist_method": {"enum": ["pearson", "spearman"], "default": "pearson",
                            "description": "Correlation used for outliers and statistics."},
            "one_outlier_per_iter": {**_YES_NO, "default": False,
                                     "description": "Remove one outlier per BioProject per "
                                                    "round instead of amalgkit's batch rule."},
            "min_dif": {"type": "number", "default": 0,
                        "description": "Subtracted from own-group correlations."},
            "clip_negative": {**_YES_NO, "default": True,
                              "description": "Clip negative values to 0 (log*p1 norms)."},
            "maintain_zero": {**_YES_NO, "default": True,
                              "description": "Zero input values stay zero in the output."},
            "skip_curation": {**_YES_NO, "default": False,
                              "description": "Only transform; write the uncorrected tables."},
            "sample_group": {"oneOf": [{"type": "null"}, {"type": "string"},
                                       {"type": "array", "items": {"type": "string"}}],
                             "default": None,
                             "description": "Sample groups to keep (default: all groups of "
                                            "the metadata)."},
        },
    },
)
def curate(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Transform, filter outlier runs and summarise expression per species (amalgkit curate)."""
    from stepslib.rna.cstmm import read_counts, species_of
    from stepslib.rna.curate_core import curate_species

    if config["batch_effect_alg"] != "no":
        raise StepError(f"rna.curate: batch_effect_alg '{config['batch_effect_alg']}' is not "
                        "implemented", hint="use batch_effect_alg: no")
    count_paths = path_list(inputs.get("counts"))
    if not count_paths or "eff_length" not in inputs or "metadata" not in inputs:
        raise StepError("rna.curate needs inputs 'counts', 'eff_length' and 'metadata'")
    if len(path_list(outputs.get("dir"))) != 1:
        raise StepError("rna.curate writes into one directory: declare output 'dir' "
                        "(e.g. '{{ work_dir }}/curate')")
    out_dir = path_list(outputs["dir"])[0]
    species = [species_of(p) for p in count_paths]
    eff_paths = _match(path_list(inputs["eff_length"]), species, "eff_length")
    meta_all = read_metadata(Path(inputs["metadata"]))
    groups = _groups(config["sample_group"], meta_all)
    options = {
        "norm": config["norm"], "mapping_rate": config["mapping_rate"],
        "correlation_threshold": config["correlation_threshold"],
        "min_dif": config["min_dif"], "dist_method": config["dist_method"],
        "one_outlier_per_iter": _flag(config["one_outlier_per_iter"]),
        "clip_negative": _flag(config["clip_negative"]),
        "maintain_zero": _flag(config["maintain_zero"]),
        "skip_curation": _flag(config["skip_curation"]),
    }
    if "tpm" in config["norm"] and "tmm_library_size" in meta_all.columns:
        context.log.warning("TPM cancels the TMM factors; use an fpkm norm with cstmm counts")
    summary = {}
    for sp, count_path, eff_path in zip(species, count_paths, eff_paths):
        counts = read_counts(count_path)
        eff = read_counts(eff_path)
        absent = [r for r in counts.columns if r not in eff.columns]
        if absent or not counts.index.isin(eff.index).all():
            raise StepError(f"rna.curate: effective lengths '{eff_path}' do not cover the "
                            f"counts '{count_path}' (runs missing: {absent[:5]})")
        eff = eff.loc[counts.index, counts.columns]
        names = meta_all["scientific_name"].astype(str).str.replace(" ", "_")
        rows = meta_all[names == sp]
        if rows.empty:  # amalgkit takes the species of the runs in the count table
            rows = meta_all[meta_all["run"].isin(counts.columns)]
            rows = rows[rows["scientific_name"] == rows["scientific_name"].iloc[0]] \
                if not rows.empty else rows
        rows = rows[rows["sample_group"].isin(groups)].copy()
        usable = rows[(rows["exclusion"] == "no") & rows["run"].isin(counts.columns)]
        if usable.empty:
            raise StepError(f"rna.curate: species {sp} has no run with exclusion 'no' in "
                            f"sample groups {groups} and counts in '{count_path}'")
        context.log.info("%s: %d runs in %d sample groups", sp, len(usable),
                         usable["sample_group"].nunique())
        result = curate_species(counts, eff, rows, groups, options)
        _write(out_dir / sp / "tables", sp, result, options["skip_curation"])
        kept = result.metadata["exclusion"] == "no"
        summary[sp] = {"kept": int(kept.sum()),
                       "excluded": result.metadata.loc[~kept, "exclusion"].value_counts()
                       .to_dict()}
        context.log.info("%s: kept %d runs; excluded %s", sp, summary[sp]["kept"],
                         summary[sp]["excluded"] or "none")
    return {"status": "completed", "metadata": {"species": summary}}


def _write(tables: Path, sp: str, result: Any, skipped: bool) -> None:
    tables.mkdir(parents=True, exist_ok=True)

    def save(frame: pd.DataFrame, name: str, index: str | None = "target_id") -> None:
        data = frame.rename_axis(index).reset_index() if index else frame
        data.to_csv(tables / f"{sp}.{name}.tsv", sep="\t", index=False)

    save(result.uncorrected, "uncorrected.tc")
    save(result.uncorrected_mean, "uncorrected.sample_group.mean")
    save(result.metadata, "metadata", None)
    save(result.corrected, "no.tc")
    save(result.corrected_mean, "no.sample_group.mean")
    if not skipped:
        save(result.correlation_stats, "no.correlation_statistics", "round")
        save(result.tau, "no.tau")
    (tables.parent / "curate_completion_flag.txt").write_text("rna.curate completed\n")
