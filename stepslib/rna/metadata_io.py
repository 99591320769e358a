"""Shared helpers of the RNA steps: amalgkit's metadata columns, metadata TSV I/O, species names.

Metadata tables are read as text (every cell a string, empty cells ``""``) so that a table
written by amalgkit round-trips unchanged; steps convert the columns they compute with.
pandas is imported inside the functions (step modules must stay cheap to import).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepError

if TYPE_CHECKING:
    import pandas as pd

# amalgkit v0.12.20 ``Metadata.column_names`` (util.py), with sample_group moved second.
METADATA_COLUMNS: tuple[str, ...] = (
    "scientific_name", "sample_group", "tissue", "genotype", "sex", "age", "treatment",
    "source_name",
    "is_sampled", "is_qualified", "exclusion", "protocol",
    "bioproject", "biosample", "experiment", "run", "sra_primary", "sra_sample", "sra_study",
    "study_title", "exp_title", "design", "sample_title", "sample_description",
    "lib_name", "lib_layout", "lib_strategy", "lib_source", "lib_selection", "instrument",
    "total_spots", "total_bases", "size", "nominal_length", "nominal_sdev", "spot_length",
    "read_index", "read_class", "read_type", "base_coord",
    "lab", "center", "submitter_id", "pubmed_id", "taxid", "published_date",
    "biomaterial_provider", "cell", "location", "antibody", "batch", "misc",
    "NCBI_Link", "AWS_Link", "GCP_Link",
)

TAXID_RANKS: tuple[str, ...] = (
    "domain", "kingdom", "phylum", "class", "order", "family", "genus", "species",
)

YES_NO = {"type": "string", "enum": ["yes", "no"]}


def yes(value: Any) -> bool:
    """amalgkit flags and metadata cells are 'yes'/'no' strings; accept booleans too."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "true", "1")


# species names -----------------------------------------------------------------------------
def species_dir_name(name: str) -> str:
    """``'Apis mellifera ligustica'`` -> ``'Apis_mellifera'`` (amalgkit keeps Genus_species)."""
    words = str(name).strip().replace(" ", "_").split("_")
    words = [w for w in words if w]
    if not words:
        raise StepError(f"empty species name {name!r}")
    return "_".join(words[:2])


def species_display_name(name: str) -> str:
    """``'Apis_mellifera'`` -> ``'Apis mellifera'`` (metadata uses spaces)."""
    return str(name).strip().replace("_", " ")


def species_from_filename(path: str | Path) -> str:
    """``Demo_alpha_est_counts.tsv`` -> ``Demo_alpha``: the first two ``_`` words of the name."""
    return species_dir_name(Path(path).name.split(".")[0])


# metadata tables ---------------------------------------------------------------------------
def read_metadata(path: str | Path) -> pd.DataFrame:
    """A metadata TSV as text; StepError when missing, empty or without a ``run`` column."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise StepError(f"metadata table '{path}' does not exist")
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise StepError(f"metadata table '{path}' is empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StepError(f"cannot read metadata table '{path}': {exc}") from None
    if "run" not in frame.columns:
        raise StepError(f"metadata table '{path}' has no 'run' column",
                        hint="amalgkit metadata tables have one row per SRA run, keyed by 'run'")
    return frame


def order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Standard amalgkit columns first (added empty when missing), then the others as they come."""
    frame = frame.copy()
    for column in METADATA_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    extra = [c for c in frame.columns if c not in METADATA_COLUMNS]
    return frame[list(METADATA_COLUMNS) + extra]


def write_metadata(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False)


def concat_metadata(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise union of metadata tables as text (missing cells become ``""``)."""
    import pandas as pd

    frames = [f for f in frames if f is not None]
    if not frames:
        return order_columns(pd.DataFrame(columns=list(METADATA_COLUMNS)))
    merged = pd.concat(frames, ignore_index=True, sort=False).fillna("")
    return order_columns(merged.astype(str))


def duplicated_runs(frame: pd.DataFrame) -> list[str]:
    return sorted(set(frame.loc[frame["run"].duplicated(), "run"]))


def to_number(values: Iterable[Any]) -> list[float]:
    """Cells as floats; empty or non-numeric cells become NaN."""
    result: list[float] = []
    for value in values:
        try:
            result.append(float(value))
        except (TypeError, ValueError):
            result.append(float("nan"))
    return result
