"""peaks_overlap (bedtools closest) against distances computed directly with numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers.epigenome import needs_bedtools, step


@needs_bedtools
def test_categories_match_a_direct_distance_computation(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = []
    for chrom in ("chr1", "chr2", "chr3"):  # chr3 has no peak: every CpG there is far
        edges = [1000, 2501, 30_000, 30_401, 2001, 29_000, 31_400, 31_401]  # book-ended, 1 kb
        pos = np.unique(np.r_[rng.choice(np.arange(1, 60_000), 392, replace=False), edges])[:400]
        rows.append(pd.DataFrame({"chrom": chrom, "pos": pos, "a": rng.random(len(pos)),
                                  "b": np.where(rng.random(len(pos)) < 0.1, np.nan,
                                                rng.random(len(pos)))}))
    beta = pd.concat(rows, ignore_index=True)
    beta.to_csv(tmp_path / "beta.tsv", sep="\t", index=False, na_rep="NA")
    peaks = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [1000, 30_000, 5_000],
                          "end": [2500, 30_400, 9_000]})
    (tmp_path / "p.narrowPeak").write_text(peaks.to_csv(sep="\t", header=False, index=False))
    step("epigenome.peaks_overlap", tmp_path, {"max_distance": 1000},
         inputs={"beta": tmp_path / "beta.tsv", "peaks": [tmp_path / "p.narrowPeak"]},
         outputs={"cpgs": tmp_path / "cpgs.tsv", "summary": tmp_path / "s.json"})
    got = pd.read_csv(tmp_path / "cpgs.tsv", sep="\t")

    def expected(row: pd.Series) -> str:
        on = peaks[peaks["chrom"] == row["chrom"]]
        if on.empty:
            return "far"
        a_start, a_end = row["pos"] - 1, row["pos"]  # the CpG as a BED interval
        if ((on["start"] < a_end) & (a_start < on["end"])).any():
            return "overlap"
        gap = int(np.maximum(on["start"] - a_end, a_start - on["end"]).min())
        # bedtools closest -d reports the bases between the intervals + 1 (book-ended: 1)
        return "near" if gap + 1 <= 1000 else "far"

    want = beta.apply(expected, axis=1)
    assert (got["category"] == want).all()
    summary = json.loads((tmp_path / "s.json").read_text())
    inside = beta.loc[want == "overlap", ["a", "b"]].mean(axis=1).mean()
    assert summary["overlap"]["cpgs"] == int((want == "overlap").sum()) > 0
    assert abs(summary["mean_beta_inside_peaks"] - inside) < 1e-5
