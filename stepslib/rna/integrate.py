"""rna.integrate: local (private) FASTQ files -> amalgkit metadata rows.

Like ``amalgkit integrate``: every ``*.fq``/``*.fastq`` (optionally gzipped) in ``fastq_dir``, or
in its run folders one level down (amalgkit getfastq's ``getfastq/<RUN>/`` layout, whose
``.amalgkit`` infix is ignored), is a run; ``X_1``/``X_2`` are the mates of run ``X`` (the
sample id is the file name up to the last underscore), any other name is a single-end run.
``fastq_dir`` may be a list of directories (one per species, as in the bundled example).
Read counts and base counts are exact (amalgkit uses ``seqkit stats``; here the files are
streamed in C-level line iteration, no per-record Python). An optional sample sheet (TSV keyed
by ``run``) adds scientific_name, sample_group, bioproject and any other columns; runs it does
not name get param ``scientific_name``. Rows are appended to an optional input metadata table.
"""

from __future__ import annotations

import gzip
import re
import zlib
from array import array
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from engine import StepContext, StepError, optional_path, single_path, step

_FASTQ = re.compile(r"^(?P<stem>.+?)(?:\.amalgkit)?\.(?:fq|fastq)(?:\.gz)?$", re.IGNORECASE)
_MATE = re.compile(r"^(?P<run>.+)_(?P<mate>[12])$")


def _open(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def fastq_stats(path: Path) -> tuple[int, int]:
    """(reads, bases) of a FASTQ file, exactly, in one streaming pass.

    Sequence lines are every 4th line from line 2; ``islice``/``map`` keep the loop in C.
    """
    with _open(path) as handle:
        try:
            first = handle.readline()
            if first and not first.startswith(b"@"):
                raise StepError(f"'{path}' is not a FASTQ file (first line does not start "
                                "with '@')")
            lengths = array("q", map(len, map(bytes.rstrip, islice(handle, 0, None, 4))))
        except (OSError, EOFError, zlib.error) as exc:
            raise StepError(f"cannot read FASTQ '{path}': {exc}") from None
    return len(lengths), sum(lengths)


def discover(fastq_dir: Path) -> dict[str, list[Path]]:
    """run id -> its FASTQ files ([single] or [mate1, mate2]), sorted by run id."""
    if not fastq_dir.is_dir():
        raise StepError(f"fastq_dir '{fastq_dir}' is not a directory")
    runs: dict[str, dict[str, Path]] = {}
    entries = sorted(fastq_dir.iterdir())
    # amalgkit getfastq writes getfastq/<RUN>/<RUN>_1.amalgkit.fastq.gz: look one level down
    entries += [p for folder in entries if folder.is_dir() for p in sorted(folder.iterdir())]
    for path in entries:
        match = _FASTQ.match(path.name)
        if not match or not path.is_file():
            continue
        stem = match.group("stem")
        mate = _MATE.match(stem)
        run, which = (mate.group("run"), mate.group("mate")) if mate else (stem, "0")
        files = runs.setdefault(run, {})
        if which in files:
            raise StepError(f"run '{run}' has two files for the same read: "
                            f"{files[which].name} and {path.name}")
        files[which] = path
    result: dict[str, list[Path]] = {}
    for run, files in sorted(runs.items()):
        if set(files) == {"1", "2"}:
            result[run] = [files["1"], files["2"]]
        elif set(files) in ({"0"}, {"1"}, {"2"}):
            result[run] = list(files.values())
        else:
            names = ", ".join(sorted(p.name for p in files.values()))
            raise StepError(f"run '{run}' has an inconsistent set of FASTQ files: {names}",
                            hint="paired runs need exactly X_1 and X_2; single-end runs one file")
    if not result:
        raise StepError(f"no FASTQ files (*.fastq, *.fq, optionally .gz) in '{fastq_dir}'")
    return result


def private_rows(fastq_dir: Path, context: StepContext) -> list[dict[str, Any]]:
    rows = []
    for run, files in discover(fastq_dir).items():
        spots = bases = 0
        counts = [fastq_stats(p) for p in files]
        if len(files) == 2 and counts[0][0] != counts[1][0]:
            raise StepError(f"run '{run}': {files[0].name} has {counts[0][0]} reads but "
                            f"{files[1].name} has {counts[1][0]}", hint="mates must pair up")
        spots = counts[0][0]
        bases = sum(c[1] for c in counts)
        context.log.info("%s: %d spots, %d bases in %d file(s)", run, spots, bases, len(files))
        rows.append({
            "run": run,
            "read1_path": str(files[0].resolve()),
            "read2_path": str(files[1].resolve()) if len(files) == 2 else "",
            "lib_layout": "paired" if len(files) == 2 else "single",
            "total_spots": str(spots),
            "total_bases": str(bases),
            "spot_length": str(round(bases / spots)) if spots else "0",
            "size": str(sum(p.stat().st_size for p in files)),
            "private_file": "yes",
            "is_sampled": "yes",
            "is_qualified": "yes",
            "exclusion": "no",
        })
    return rows


@step(
    "rna.integrate",
    inputs={
        "metadata": {"description": "metadata to add the private runs to", "required": False},
        "sample_sheet": {"description": "TSV describing the private runs", "required": False},
    },
    outputs={
        "metadata": "the metadata with the private runs added",
        "private": {"description": "the private runs' rows only", "required": False},
    },
    version="1",
    params={
        "properties": {
            "fastq_dir": {
                "type": ["string", "array", "null"], "items": {"type": "string"},
                "description": "Directory (or list of directories) of private FASTQ files "
                               "(*.fq/*.fastq[.gz], also in run folders one level down); "
                               "paired runs are X_1/X_2.",
            },
            "scientific_name": {
                "type": ["string", "null"], "default": None,
                "description": "Species of runs the sample sheet does not name (Genus_species "
                               "or 'Genus species'); null: the sheet must name them.",
            },
            "missing_sheet_rows": {
                "type": "string", "enum": ["error", "warn"], "default": "error",
                "description": "What to do when a FASTQ run has no row in the sample sheet.",
            },
        },
        "required": ["fastq_dir"],
    },
)
def integrate(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: StepContext) -> dict[str, Any]:
    """Describe local FASTQ files as amalgkit metadata rows (output 'metadata': input metadata
    plus these rows; optional output 'private': the new rows only). Optional inputs:
    'metadata' (existing table), 'sample_sheet' (TSV with a run column)."""
    from stepslib.rna.metadata_io import (
        concat_metadata,
        duplicated_runs,
        read_metadata,
        write_metadata,
    )

    target = single_path(outputs, "metadata", output=True)
    if not config["fastq_dir"]:
        raise StepError("rna.integrate needs param 'fastq_dir' (a directory of FASTQ files)")
    folders = config["fastq_dir"] if isinstance(config["fastq_dir"], list) else [config["fastq_dir"]]
    rows = [row for folder in folders for row in private_rows(Path(folder), context)]
    import pandas as pd

    private = pd.DataFrame(rows)
    if private["run"].duplicated().any():
        raise StepError("runs found in two FASTQ directories: "
                        f"{', '.join(sorted(set(private.loc[private['run'].duplicated(), 'run'])))}")
    warnings: list[str] = []
    sheet_path = optional_path(inputs, "sample_sheet")
    if sheet_path is not None:
        sheet = read_metadata(sheet_path)
        if sheet["run"].duplicated().any():
            raise StepError(f"sample sheet '{sheet_path}' lists runs twice: "
                            f"{', '.join(duplicated_runs(sheet))}")
        missing = sorted(set(private["run"]) - set(sheet["run"]))
        if missing:
            message = (f"{len(missing)} FASTQ run(s) have no row in the sample sheet "
                       f"'{sheet_path}': {', '.join(missing[:10])}")
            if config["missing_sheet_rows"] == "error":
                raise StepError(message, hint="add them to the sheet, or set "
                                              "missing_sheet_rows: warn")
            warnings.append(message)
        computed = [c for c in sheet.columns if c in private.columns and c != "run"]
        extra = sheet.drop(columns=computed)  # measured values win over the sheet
        private = private.merge(extra, on="run", how="left")
    private = _fill_species(private, config["scientific_name"])
    frames = [private]
    metadata_path = optional_path(inputs, "metadata")
    if metadata_path is not None:
        existing = read_metadata(metadata_path)
        clash = sorted(set(existing["run"]) & set(private["run"]))
        if clash:
            raise StepError(f"runs in both the metadata table and fastq_dir: {', '.join(clash)}")
        frames.insert(0, existing)
    merged = concat_metadata(frames)
    merged["private_file"] = merged["private_file"].replace("", "no")
    write_metadata(merged, target)
    private_out = optional_path(outputs, "private", output=True)
    if private_out is not None:
        write_metadata(concat_metadata([private]), private_out)
    for message in warnings:
        context.log.warning(message)
    return {"status": "completed", "warnings": warnings,
            "metadata": {"private_runs": len(private), "rows": len(merged)}}


def _fill_species(private: Any, species: str | None) -> Any:
    """Runs without a scientific_name (no sample sheet, or no row there) get ``species``."""
    if species is None:
        return private
    name = species.replace("_", " ")
    if "scientific_name" not in private.columns:
        private["scientific_name"] = name
    else:
        private["scientific_name"] = private["scientific_name"].fillna("").replace("", name)
    return private
