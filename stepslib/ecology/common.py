"""Shared by the ecology steps: the sites x species table on disk, groups, the result standard.

Every table between steps is a TSV whose first column is ``site`` (rows are sites); distance
matrices are square TSVs with site labels on both axes, as ``vegan::vegdist`` prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine import StepError

SKBIO_HINT = ("install scikit-bio 0.7 or newer from PyPI: pip install 'scikit-bio>=0.7' (make dev "
              "installs it; Debian's python3-skbio 0.5.8 is too old)")


def need_skbio() -> Any:
    """The scikit-bio module, or a StepError saying how to install it."""
    try:
        import skbio
    except ImportError as exc:
        raise StepError(f"scikit-bio is not installed ({exc})", hint=SKBIO_HINT) from exc
    major, minor = (int(x) for x in skbio.__version__.split(".")[:2])
    if (major, minor) < (0, 7):
        raise StepError(f"scikit-bio {skbio.__version__} is too old for the ecology steps",
                        hint=SKBIO_HINT)
    return skbio


def completed(output: Mapping[str, Any], warnings: list[str] | None = None,
              **metadata: Any) -> dict[str, Any]:
    """The seed's result standard: status, the metrics a user reads, warnings, metadata."""
    return {"status": "completed", "output": dict(output), "warnings": list(warnings or []),
            "metadata": dict(metadata)}


def read_counts(path: Path) -> Any:
    """A sites x species table written by ``ecology.load`` (index: site)."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", index_col=0)
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    return table


def write_table(table: Any, path: Path, index_label: str = "site") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index_label=index_label, float_format="%.17g")


def read_groups(path: Path | None, sites: Any) -> Any:
    """The ``group`` column of ecology.load's groups table, in the order of ``sites``."""
    import pandas as pd

    if path is None:
        return None
    groups = pd.read_csv(path, sep="\t", index_col=0, dtype=str)["group"]
    groups.index = groups.index.astype(str)
    return groups.reindex(list(sites))


def read_distance(path: Path) -> Any:
    """A square distance TSV as a scikit-bio DistanceMatrix."""
    import pandas as pd

    skbio = need_skbio()
    frame = pd.read_csv(path, sep="\t", index_col=0)
    return skbio.DistanceMatrix(frame.to_numpy(dtype=float), [str(x) for x in frame.index])


def write_distance(matrix: Any, path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(matrix.data, index=list(matrix.ids), columns=list(matrix.ids))
    write_table(frame, path)
