"""Plain helpers for the epigenome tests: R references (Rscript + Bioconductor from Debian),
the bundled example, running a spec through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.testing import call_step

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs" / "epigenome"
EXAMPLE = ROOT / "examples" / "epigenome"
R_SCRIPTS = ROOT / "tests" / "epigenome"
R_LIB = Path("/usr/lib/R/site-library")
DSS_DATA = R_LIB / "DSS" / "extdata"
BSSEQ_DATA = R_LIB / "bsseq" / "extdata"


def _has_r_package(name: str) -> bool:
    return shutil.which("Rscript") is not None and (R_LIB / name / "DESCRIPTION").is_file()


needs_dss = pytest.mark.skipif(not _has_r_package("DSS"),
                               reason="Rscript or DSS missing (apt-get install r-bioc-dss)")
needs_bsseq = pytest.mark.skipif(not _has_r_package("bsseq"),
                                 reason="Rscript or bsseq missing (apt-get install r-bioc-bsseq)")
needs_bedtools = pytest.mark.skipif(shutil.which("bedtools") is None,
                                    reason="bedtools missing (apt-get install bedtools)")


def rscript(script: str, *args: str | Path) -> None:
    proc = subprocess.run(["Rscript", str(R_SCRIPTS / script), *map(str, args)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def step(name: str, tmp: Path, params: dict[str, Any] | None = None, *,
         inputs: dict[str, Any], outputs: dict[str, Any]) -> Any:
    return call_step(name, params, inputs=inputs, outputs=outputs, work_dir=tmp)


def load_and_qc(tmp: Path, inputs: dict[str, Any], min_coverage: int = 1,
                min_samples_per_group: int = 1) -> dict[str, Path]:
    """epigenome.load then epigenome.qc into ``tmp``; the paths of their outputs."""
    paths = {"store": tmp / "store.tsv.gz", "samples": tmp / "samples.tsv",
             "counts": tmp / "qc.tsv.gz", "qc_samples": tmp / "qc_samples.tsv",
             "summary": tmp / "qc_summary.tsv"}
    step("epigenome.load", tmp, inputs=inputs,
         outputs={"counts": paths["store"], "samples": paths["samples"]})
    step("epigenome.qc", tmp, {"min_coverage": min_coverage,
                               "min_samples_per_group": min_samples_per_group},
         inputs={"counts": paths["store"], "samples": paths["samples"]},
         outputs={"counts": paths["counts"], "samples": paths["qc_samples"],
                  "summary": paths["summary"]})
    return paths


def run_spec(tmp_path: Path, spec: str, *args: str) -> tuple[int, str, str]:
    """``mi-run SPEC ARGS`` in ``tmp_path`` (python -m engine.cli)."""
    argv = [sys.executable, "-m", "engine.cli", "run", str(SPECS / spec), "-j", "2", *args]
    proc = subprocess.run(argv, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def summary_json(out: Path) -> Any:
    return json.loads((out / "workflow_summary.json").read_text())
