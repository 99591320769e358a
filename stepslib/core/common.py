"""Helpers shared by the core steps: input/output plumbing and table reading/writing.

pandas is imported inside the functions: step modules are imported at planning time and must
stay cheap to import.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepError

if TYPE_CHECKING:
    import pandas as pd

# Compression suffixes pandas understands from the file name.
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")
_TABLE_SUFFIXES = (".tsv", ".csv", ".txt", ".tab")


def flat_inputs(inputs: Mapping[str, Any]) -> list[Path]:
    """Every input path, in the order the spec declares them (lists expanded in place)."""
    paths: list[Path] = []
    for value in inputs.values():
        if isinstance(value, list | tuple):
            paths.extend(Path(v) for v in value)
        else:
            paths.append(Path(value))
    return paths


def file_stem(path: Path) -> str:
    """``dir/s1.counts.tsv.gz`` -> ``s1.counts``: the name without table/compression suffixes."""
    name = path.name
    for suffix in _COMPRESSION:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    for suffix in _TABLE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def separator_for(path: Path, sep: str | None) -> str:
    """The column separator: ``sep`` if given, else ',' for .csv files and a tab otherwise."""
    if sep:
        return sep
    name = path.name.lower()
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return "," if name.endswith(".csv") else "\t"


def read_table(path: Path, sep: str | None = None) -> pd.DataFrame:
    """A TSV/CSV table with a header line (StepError if missing, empty or malformed)."""
    import pandas as pd

    if not path.exists():
        raise StepError(f"input table '{path}' does not exist")
    try:
        return pd.read_csv(path, sep=separator_for(path, sep))
    except pd.errors.EmptyDataError:
        raise StepError(f"input table '{path}' is empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise StepError(f"cannot read table '{path}': {exc}",
                        hint="is the separator right? set the 'sep' param") from None


def write_table(frame: pd.DataFrame, path: Path, sep: str | None = None) -> None:
    frame.to_csv(path, sep=separator_for(path, sep), index=False)


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def require_columns(columns: Iterable[Any], wanted: Iterable[str], where: str,
                    param: str) -> None:
    """StepError naming the first missing column, a close match and the available columns."""
    available = [str(c) for c in columns]
    for name in wanted:
        if name in available:
            continue
        close = difflib.get_close_matches(name, available, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise StepError(
            f"param '{param}': column '{name}' is not in {where}; "
            f"available columns: {', '.join(available) or '(none)'}",
            hint=hint + f"check the spelling in '{param}'",
        )


def source_value(path: Path, pattern: re.Pattern[str] | None) -> str:
    """The source label of a file: its stem, or the first capture of ``pattern`` in its path."""
    if pattern is None:
        return file_stem(path)
    match = pattern.search(path.as_posix())
    if match is None:
        raise StepError(f"source_pattern '{pattern.pattern}' does not match the path '{path}'",
                        hint="the pattern is searched in the path; use a capture group "
                             "for the part to keep, e.g. 'samples/([^/]+)/'")
    if "source" in pattern.groupindex:
        return match.group("source")
    return match.group(1) if pattern.groups else match.group(0)


def compile_pattern(text: str | None, param: str) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise StepError(f"param '{param}' is not a valid regular expression: {exc}") from None


SEP_PARAM: dict[str, Any] = {
    "type": ["string", "null"],
    "default": None,
    "description": "Column separator of the tables; default: ',' for .csv files, else a tab.",
}
