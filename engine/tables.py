"""Reading fan-out tables (TSV/CSV) without pandas: planning must stay light."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a TSV (default) or CSV (``.csv``) file with a header line."""
    delimiter = "," if str(path).lower().endswith((".csv", ".csv.gz")) else "\t"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader((line for line in handle if not line.startswith("##")),
                            delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return []
        width = len(header)
        # csv.reader + zip is several times faster than DictReader on 100k-row sheets
        return [dict(zip(header, row + [""] * (width - len(row)))) for row in reader if row]


def select_rows(rows: list[dict[str, str]], where: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not where:
        return rows
    wanted = {k: (v if isinstance(v, list) else [v]) for k, v in where.items()}
    wanted_text = {k: {_text(x) for x in values} for k, values in wanted.items()}
    return [r for r in rows if all(r.get(k) in vals for k, vals in wanted_text.items())]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
