"""Plain helpers for the multiomics tests: running the spec, reading its tables, R via Rscript."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "multiomics" / "integrate.yaml"
EXAMPLE = ROOT / "examples" / "multiomics"

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None,
                             reason="Rscript is not installed (make tools installs r-base-core)")


def mi_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m engine.cli ARGS`` in ``tmp_path`` (the checkout on PYTHONPATH)."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=tmp_path,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def run_spec(tmp_path: Path, *settings: str, config: Path | None = None,
             spec: Path = SPEC) -> subprocess.CompletedProcess[str]:
    """``mi-run run SPEC -j 2`` in ``tmp_path`` with ``--set`` settings."""
    return mi_run(tmp_path, "run", str(spec), "-j", "2",
                  *(["--config", str(config)] if config else []),
                  *(x for s in settings for x in ("--set", s)))


def read_tsv(path: Path, index: bool = True) -> Any:
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", index_col=0 if index else None)
    if index:
        frame.index = frame.index.astype(str)
    return frame


def rscript(tmp_path: Path, script: str, *args: str) -> str:
    """Run an R script with Rscript; its stdout."""
    path = tmp_path / "check.R"
    path.write_text(script)
    proc = subprocess.run(["Rscript", str(path), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def linnerud_tables(out: Path) -> tuple[Path, Path]:
    """scikit-learn's bundled Linnerud data as two TSVs both R and mi-run read."""
    from sklearn.datasets import load_linnerud

    data = load_linnerud(as_frame=True)
    exercise, physiological = out / "exercise.tsv", out / "physiological.tsv"
    data.data.to_csv(exercise, sep="\t", index=False)
    data.target.to_csv(physiological, sep="\t", index=False)
    return exercise, physiological
