"""``rna.cstmm``: amalgkit's cross-species TMM normalisation (cstmm.r of amalgkit v0.12.20).

Per species the input is merge's ``<Sp>_est_counts.tsv`` (``target_id`` + one column per run).
Single-species mode normalises all genes of one species (several species without an orthogroup
table: each species on its own, as amalgkit's single-species mode run once per species);
cross-species mode builds a matrix of
single-copy orthogroups (OrthoFinder ``Orthogroups.tsv``: first column the orthogroup, then one
column per species with comma-separated gene ids) so that runs of different species share one
TMM. Library sizes are always the column sums of the *full* est_counts. Factors come from two
edgeR TMM rounds (round 2: reference = the run with the median round-1 factor), and the output
counts are raw counts / factor, as in amalgkit.

Deviation from amalgkit: orthogroups with a missing value in any run are dropped instead of
being imputed with probabilistic PCA (amalgkit's ``imputation=FALSE`` path).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepContext, StepError, path_list, step

if TYPE_CHECKING:
    import pandas as pd

_NUMBER = {"type": "number"}


def species_of(path: Path) -> str:
    """amalgkit's species from a file name: ``Genus_species_anything.tsv`` -> ``Genus_species``."""
    parts = path.name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 3 else path.name.split(".")[0]


def _read_tsv(path: Path, what: str, **options: Any) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise StepError(f"{what} '{path}' does not exist")
    try:
        return pd.read_csv(path, sep="\t", **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise StepError(f"cannot read {what} '{path}': {exc}") from None


def read_counts(path: Path) -> pd.DataFrame:
    """A merge/cstmm count table indexed by ``target_id`` (a ``length`` column is ignored)."""
    frame = _read_tsv(path, "count table", index_col=0)
    frame = frame.drop(columns=[c for c in frame.columns if c == "length"])
    if frame.index.has_duplicates:
        raise StepError(f"count table '{path}' repeats target ids, e.g. "
                        f"'{frame.index[frame.index.duplicated()][0]}'")
    return frame.astype(float)


def gene_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Genes per orthogroup and species: commas + 1, 0 for an empty cell or '-'."""
    def count(cell: Any) -> int:
        text = "" if cell is None or cell != cell else str(cell).strip()
        return 0 if text in ("", "-") else text.count(",") + 1

    return table.map(count)


def _orthogroup_matrix(table: pd.DataFrame, counts: dict[str, pd.DataFrame], threshold: float,
                       log: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(genecount table, single-copy orthogroups x (species, run) count matrix with NaN)."""
    import pandas as pd

    table = table.set_index(table.columns[0])
    table.columns = [str(c).replace(" ", "_") for c in table.columns]
    missing = [sp for sp in counts if sp not in table.columns]
    if missing:
        raise StepError(f"species {', '.join(missing)} not found in the orthogroup table "
                        f"(columns: {', '.join(table.columns)})",
                        hint="name the orthogroup table columns Genus_species, like the "
                             "count files")
    table = table[list(counts)]
    genecount = gene_counts(table)
    single = (genecount == 1).mean(axis=1) >= threshold
    log.info("%d of %d orthogroups are single-copy in >= %.0f%% of species",
             int(single.sum()), len(table), threshold * 100)
    blocks = []
    for sp, frame in counts.items():
        genes = table.loc[single, sp].where(genecount.loc[single, sp] == 1)
        genes = genes.map(lambda g: str(g).strip() if g == g else g)
        block = frame.reindex(genes.to_numpy())
        block.index = genes.index
        block.columns = pd.MultiIndex.from_product([[sp], block.columns])
        blocks.append(block)
    genecount.index.name = "orthogroup_id"
    return genecount, pd.concat(blocks, axis=1)


@step(
    "rna.cstmm",
    inputs={
        "counts": "est_counts tables, one per species",
        "metadata": "rna.merge's metadata",
        "eff_length": {"description": "eff_length tables, copied beside the counts",
                       "required": False},
        "orthogroup_table": {"description": "Orthogroups.tsv for cross-species mode",
                             "required": False},
    },
    outputs={
        "counts": "the normalised counts, one per species",
        "metadata": "the metadata annotated",
        "eff_length": {"description": "the eff_length tables copied", "required": False},
        "genecount": {"description": "orthogroup gene counts (cross-species mode)",
                      "required": False},
    },
    version="1",
    params={
        "properties": {
            "orthogroup_table": {"type": ["string", "null"], "default": None,
                                 "description": "OrthoFinder-style Orthogroups.tsv for cross-"
                                                "species mode (or declare it as input "
                                                "'orthogroup_table')."},
            "mode": {"enum": ["auto", "single", "cross"], "default": "auto",
                     "description": "auto: cross-species when an orthogroup table is given."},
            "single_copy_threshold": {**_NUMBER, "minimum": 0, "maximum": 1, "default": 0.5,
                                      "description": "Keep orthogroups single-copy in at least "
                                                     "this share of species."},
            "logratio_trim": {**_NUMBER, "minimum": 0, "maximum": 0.5, "default": 0.3,
                              "description": "edgeR logratioTrim."},
            "sum_trim": {**_NUMBER, "minimum": 0, "maximum": 0.5, "default": 0.05,
                         "description": "edgeR sumTrim."},
            "do_weighting": {"type": "boolean", "default": True,
                             "description": "edgeR doWeighting."},
            "a_cutoff": {**_NUMBER, "default": -1e10, "description": "edgeR Acutoff."},
        },
    },
)
def cstmm(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """TMM-normalise est_counts of one or more species (amalgkit cstmm)."""
    import pandas as pd

    count_paths = path_list(inputs.get("counts"))
    out_counts = path_list(outputs.get("counts"))
    if not count_paths or "metadata" not in inputs or "metadata" not in outputs:
        raise StepError("rna.cstmm needs inputs 'counts' (est_counts tables) and 'metadata', "
                        "and outputs 'counts' and 'metadata'")
    if len(out_counts) != len(count_paths):
        raise StepError(f"rna.cstmm: {len(count_paths)} input count tables but "
                        f"{len(out_counts)} output 'counts' paths; give one per species, "
                        "in the same order")
    species = [species_of(p) for p in count_paths]
    if len(set(species)) != len(species):
        raise StepError(f"rna.cstmm: two count tables for one species in {species}",
                        hint="name files <Genus>_<species>_est_counts.tsv, one per species")
    counts = {sp: read_counts(p) for sp, p in zip(species, count_paths)}

    mode, table_path = _mode(config, inputs, len(counts))
    genecount_paths = path_list(outputs.get("genecount"))
    if mode == "single" and genecount_paths:
        raise StepError("rna.cstmm: output 'genecount' (orthogroup gene counts) exists only in "
                        "cross-species mode, and there is no orthogroup table",
                        hint="leave the 'genecount' output out for one species, or give an "
                             "orthogroup table")

    genecount = None
    if mode == "single":  # each species on its own (amalgkit's single-species mode, per species)
        if len(counts) > 1:
            context.log.info("%d species and no orthogroup table: each species is TMM-"
                             "normalised on its own", len(counts))
        per_species = [_tmm({sp: frame}, frame_matrix(sp, frame), config, context)
                       for sp, frame in counts.items()]
        stats = pd.concat(per_species)
        genes = sum(part.attrs["genes"] for part in per_species)
        reference = ", ".join(part.attrs["reference"] for part in per_species)
    else:
        assert table_path is not None
        table = _read_tsv(table_path, "orthogroup table", dtype=str, keep_default_na=False)
        genecount, matrix = _orthogroup_matrix(table, counts, config["single_copy_threshold"],
                                               context.log)
        stats = _tmm(counts, matrix, config, context)
        genes, reference = stats.attrs["genes"], str(stats.attrs["reference"])
    _write_corrected(counts, stats, out_counts)
    metadata = _annotate_metadata(Path(inputs["metadata"]), stats)
    Path(outputs["metadata"]).parent.mkdir(parents=True, exist_ok=True)
    metadata.to_csv(outputs["metadata"], sep="\t", index=False)
    if genecount is not None and genecount_paths:
        genecount.reset_index().to_csv(genecount_paths[0], sep="\t", index=False)
    _copy_eff_length(inputs, outputs)
    return {"status": "completed",
            "metadata": {"mode": mode, "genes": genes, "runs": len(stats),
                         "reference": reference}}


def frame_matrix(sp: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One species' counts with (species, run) columns, as the cross-species matrix has."""
    import pandas as pd

    matrix = frame.copy()
    matrix.columns = pd.MultiIndex.from_product([[sp], frame.columns])
    return matrix


def _tmm(counts: dict[str, pd.DataFrame], matrix: pd.DataFrame, config: dict[str, Any],
         context: StepContext) -> pd.DataFrame:
    """Library sizes and TMM factors per (species, run) column of ``matrix``."""
    import numpy as np
    import pandas as pd

    from stepslib.rna.tmm import amalgkit_factors

    zero = matrix.sum(axis=0, skipna=True) == 0
    if zero.any():
        context.log.info("dropping %d runs whose counts are all zero: %s", int(zero.sum()),
                         ", ".join(f"{s}/{r}" for s, r in matrix.columns[zero]))
    matrix = matrix.loc[:, ~zero].dropna(axis=0, how="all")
    incomplete = matrix.isna().any(axis=1)
    context.log.info("dropping %d of %d genes/orthogroups with missing values",
                     int(incomplete.sum()), len(matrix))
    matrix = matrix[~incomplete]
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise StepError("rna.cstmm: no gene or orthogroup has counts in every run",
                        hint="check that the orthogroup gene ids match the target_ids")
    lib = np.array([counts[sp][run].sum(skipna=True) for sp, run in matrix.columns])
    factors, ref = amalgkit_factors(
        matrix.to_numpy(), lib, logratio_trim=config["logratio_trim"],
        sum_trim=config["sum_trim"], do_weighting=config["do_weighting"],
        a_cutoff=config["a_cutoff"])
    context.log.info("TMM on %d genes x %d runs; round-2 reference %s", matrix.shape[0],
                     matrix.shape[1], "/".join(matrix.columns[ref]))
    stats = pd.DataFrame({"library_size": lib, "factor": factors}, index=matrix.columns)
    stats.attrs["reference"] = "/".join(matrix.columns[ref])
    stats.attrs["genes"] = int(matrix.shape[0])
    return stats


def _mode(config: dict[str, Any], inputs: dict[str, Any],
          n_species: int) -> tuple[str, Path | None]:
    """``single`` or ``cross`` (what ``auto`` means here), and the orthogroup table if any."""
    table_paths = path_list(inputs.get("orthogroup_table"))
    param_table = Path(config["orthogroup_table"]) if config["orthogroup_table"] else None
    if table_paths and param_table and table_paths[0].resolve() != param_table.resolve():
        raise StepError("rna.cstmm: one orthogroup table as input, another as param",
                        hint="keep one of them")
    table_path = table_paths[0] if table_paths else param_table
    mode = config["mode"]
    if mode == "auto":
        mode = "cross" if table_path is not None else "single"
    if mode == "cross" and table_path is None:
        raise StepError("rna.cstmm: mode 'cross' needs an orthogroup table",
                        hint="set param 'orthogroup_table' or declare input 'orthogroup_table'")
    return str(mode), table_path


def _write_corrected(counts: dict[str, pd.DataFrame], stats: pd.DataFrame,
                     targets: list[Path]) -> None:
    """Each species' counts divided by their runs' TMM factors, in the order of ``targets``."""
    for (sp, frame), target in zip(counts.items(), targets):
        corrected = frame.copy()
        for run in frame.columns:  # runs without a factor stay raw, as in amalgkit
            if (sp, run) in stats.index:
                corrected[run] = frame[run] / stats.loc[(sp, run), "factor"]
        target.parent.mkdir(parents=True, exist_ok=True)
        corrected.rename_axis("target_id").reset_index().to_csv(target, sep="\t", index=False)


def _annotate_metadata(path: Path, stats: pd.DataFrame) -> pd.DataFrame:
    """merge metadata + tmm_library_size/tmm_normalization_factor and cstmm's exclusions."""
    import pandas as pd

    meta = _read_tsv(path, "metadata table", dtype={"run": str})
    for column in ("scientific_name", "run"):
        if column not in meta.columns:
            raise StepError(f"metadata '{path}' has no '{column}' column")
    meta = meta.loc[:, [not str(c).startswith("Unnamed") for c in meta.columns]]
    if "exclusion" not in meta.columns:
        meta["exclusion"] = "no"
    keys = pd.MultiIndex.from_arrays(
        [meta["scientific_name"].astype(str).str.replace(" ", "_"), meta["run"].astype(str)])
    meta["tmm_library_size"] = stats["library_size"].reindex(keys).to_numpy()
    meta["tmm_normalization_factor"] = stats["factor"].reindex(keys).to_numpy()
    kept = meta["exclusion"] == "no"
    if "mapping_rate" in meta.columns:
        rate = pd.to_numeric(meta["mapping_rate"], errors="coerce")
        meta.loc[kept & (rate == 0), "exclusion"] = "no_mapping"
    kept = meta["exclusion"] == "no"
    meta.loc[kept & ~keys.isin(stats.index), "exclusion"] = "no_cstmm_output"
    kept = meta["exclusion"] == "no"
    meta.loc[kept & meta["tmm_normalization_factor"].isna(), "exclusion"] = "cstmm_failed"
    return meta


def _copy_eff_length(inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    """amalgkit copies <Sp>_eff_length.tsv next to the cstmm counts (curate reads it there)."""
    sources, targets = path_list(inputs.get("eff_length")), path_list(outputs.get("eff_length"))
    if len(sources) != len(targets):
        raise StepError(f"rna.cstmm: {len(sources)} input and {len(targets)} output "
                        "'eff_length' paths; declare both, one per species, or neither")
    for source, target in zip(sources, targets):
        if not source.is_file():
            raise StepError(f"eff_length table '{source}' does not exist")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
