"""The CpG x sample count store: one TSV (gzip) with ``chrom, pos`` and, per sample, ``M:<s>``
(methylated reads) and ``N:<s>`` (total reads); rows sorted by chromosome then position.
Plain text so that R (``read.delim``) and a shell read it too."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import StepError


@dataclass
class Counts:
    chrom: Any  # numpy array of str
    pos: Any  # numpy array of int
    m: Any  # CpG x sample, float
    n: Any  # CpG x sample, float
    samples: list[str]

    def subset(self, rows: Any) -> Counts:
        return Counts(self.chrom[rows], self.pos[rows], self.m[rows], self.n[rows],
                      list(self.samples))

    def columns(self, names: list[str]) -> tuple[Any, Any]:
        idx = [self.samples.index(s) for s in names]
        return self.m[:, idx], self.n[:, idx]


def merge_samples(tables: dict[str, Any]) -> Counts:
    """Outer join of per-sample ``chrom, pos, M, N`` tables; absent CpGs get 0 reads."""
    import pandas as pd

    frames = [t.set_index(["chrom", "pos"]).rename(columns={"M": f"M:{s}", "N": f"N:{s}"})
              for s, t in tables.items()]
    joined = pd.concat(frames, axis=1, join="outer").fillna(0).sort_index().reset_index()
    samples = list(tables)
    return Counts(joined["chrom"].to_numpy(dtype=str), joined["pos"].to_numpy(dtype=int),
                  joined[[f"M:{s}" for s in samples]].to_numpy(dtype=float),
                  joined[[f"N:{s}" for s in samples]].to_numpy(dtype=float), samples)


def write_counts(counts: Counts, path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"chrom": counts.chrom, "pos": counts.pos})
    for k, s in enumerate(counts.samples):
        frame[f"M:{s}"] = counts.m[:, k].astype(int)
        frame[f"N:{s}"] = counts.n[:, k].astype(int)
    frame.to_csv(path, sep="\t", index=False, compression="gzip")


def read_counts_store(path: Path) -> Counts:
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    samples = [c[2:] for c in frame.columns if c.startswith("M:")]
    if not samples or any(f"N:{s}" not in frame.columns for s in samples):
        raise StepError(f"{path} is not a count store (no M:/N: sample columns)",
                        hint="rerun epigenome.load")
    return Counts(frame["chrom"].to_numpy(dtype=str), frame["pos"].to_numpy(dtype=int),
                  frame[[f"M:{s}" for s in samples]].to_numpy(dtype=float),
                  frame[[f"N:{s}" for s in samples]].to_numpy(dtype=float), samples)


def read_samples(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path, sep="\t", dtype=str).fillna("")
