"""Readers for per-sample CpG count files, sample sheets, bedGraph and peak files.

Every count reader returns one table ``chrom, pos, M, N`` (methylated and total reads, 1-based
CpG position). Formats:

- Bismark coverage (``.cov``/``.cov.gz``, ``bismark2bedGraph``): chrom, start, end, %meth,
  count methylated, count unmethylated -> N = methylated + unmethylated (MetaInformAnt reads
  the unmethylated count as the total: wrong β);
- Bismark CpG report (``*CpG_report.txt(.gz)``, ``*cytosineReport*``): chrom, pos, strand,
  methylated, unmethylated, context, trinucleotide; CG context only, the two strands of a CpG
  joined on the + strand position (bsseq ``read.bismark(strandCollapse = TRUE)``);
- DSS (header ``chr pos N X``): N total, X methylated;
- MetaInformAnt CpG table (header ``chrom pos methylated unmethylated``).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from engine import StepError

FORMATS = ("auto", "bismark_cov", "bismark_cpg_report", "dss", "metainformant")
_HINT = ("give Bismark .cov(.gz), a Bismark CpG report, DSS 'chr pos N X' or a table "
         "'chrom pos methylated unmethylated' (or set the sample sheet's 'format' column)")


def _first_line(path: Path) -> str:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as handle:
            return str(handle.readline())
    except (OSError, UnicodeDecodeError) as exc:
        raise StepError(f"cannot read {path}: {exc}", hint=_HINT) from exc


def detect_format(path: Path) -> str:
    """The count format of ``path`` from its header or name and column count."""
    fields = _first_line(path).rstrip("\n").split("\t")
    lowered = [f.strip().lower() for f in fields]
    if lowered[:4] == ["chr", "pos", "n", "x"]:
        return "dss"
    if lowered[:4] == ["chrom", "pos", "methylated", "unmethylated"]:
        return "metainformant"
    name = path.name.lower()
    if len(fields) == 6 and (".cov" in name or "bismark" in name or fields[3].replace(
            ".", "", 1).isdigit()):
        return "bismark_cov"
    if len(fields) == 7 and fields[2] in ("+", "-"):
        return "bismark_cpg_report"
    raise StepError(f"{path}: cannot tell the format of a line with {len(fields)} columns "
                    f"({fields[:4]})", hint=_HINT)


def read_counts(path: Path, fmt: str = "auto") -> Any:
    """``chrom, pos, M, N`` of one sample (rows with the same CpG summed)."""
    import pandas as pd

    if not path.is_file():
        raise StepError(f"count file {path} does not exist", hint="check the sample sheet's path")
    fmt = detect_format(path) if fmt in ("auto", "", None) else fmt
    if fmt == "bismark_cov":
        raw = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 4, 5],
                          names=["chrom", "pos", "M", "U"], dtype={0: str})
        table = raw.assign(N=raw["M"] + raw["U"])
    elif fmt == "bismark_cpg_report":
        raw = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2, 3, 4, 5],
                          names=["chrom", "pos", "strand", "M", "U", "context"], dtype={0: str})
        raw = raw[raw["context"] == "CG"]
        pos = raw["pos"].where(raw["strand"] == "+", raw["pos"] - 1)
        table = raw.assign(pos=pos, N=raw["M"] + raw["U"])
    elif fmt == "dss":
        raw = pd.read_csv(path, sep="\t", dtype={"chr": str})
        table = raw.rename(columns={"chr": "chrom", "X": "M"})
    elif fmt == "metainformant":
        raw = pd.read_csv(path, sep="\t", dtype={"chrom": str})
        table = raw.rename(columns={"methylated": "M"}).assign(
            N=raw["methylated"] + raw["unmethylated"])
    else:
        raise StepError(f"unknown count format '{fmt}' for {path}", hint=f"one of {FORMATS}")
    table = table[["chrom", "pos", "M", "N"]]
    if table[["M", "N"]].isna().any().any() or (table["M"] > table["N"]).any() \
            or (table["M"] < 0).any():
        raise StepError(f"{path}: counts missing, negative, or methylated > total ({fmt})",
                        hint=_HINT)
    return table.groupby(["chrom", "pos"], as_index=False, sort=False)[["M", "N"]].sum()


def read_sample_sheet(path: Path) -> Any:
    """``sample, group, path, format`` from a TSV with columns sample, group and path (or file);
    relative paths are taken from the sheet's folder."""
    import pandas as pd

    sheet = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    if "file" in sheet.columns and "path" not in sheet.columns:
        sheet = sheet.rename(columns={"file": "path"})
    missing = [c for c in ("sample", "group", "path") if c not in sheet.columns]
    if missing:
        raise StepError(f"sample sheet {path} lacks the column(s) {', '.join(missing)}",
                        hint="columns: sample, group, path [, format]")
    if sheet["sample"].duplicated().any():
        dup = sheet.loc[sheet["sample"].duplicated(), "sample"].tolist()
        raise StepError(f"sample sheet {path} names samples twice: {dup}",
                        hint="one row per sample")
    if "format" not in sheet.columns:
        sheet["format"] = "auto"
    sheet["path"] = [str(p if Path(p).is_absolute() else (path.parent / p))
                     for p in sheet["path"]]
    return sheet[["sample", "group", "path", "format"]]


def read_bedgraph(path: Path) -> Any:
    """chrom, start, end, value of a bedGraph (track/browser lines skipped)."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", header=None, comment="#", usecols=[0, 1, 2, 3],
                        names=["chrom", "start", "end", "value"], dtype={0: str})
    table = table[~table["chrom"].str.startswith(("track", "browser"))]
    return table.astype({"start": int, "end": int, "value": float})
