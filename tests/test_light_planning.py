"""Planning stays light: a dry-run of every bundled spec imports no heavy domain module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "networkx", "joblib", "distributed",
         "bed_reader", "cyvcf2")
SPECS = sorted([*ROOT.glob("specs/*/*.yaml"), *ROOT.glob("examples/*/workflow.yaml")])

PROBE = """
import sys, contextlib, io
from engine.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main([sys.argv[1], "--dry-run"])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(code, ",".join(heavy))
"""


@pytest.mark.parametrize("spec", SPECS, ids=[f"{p.parent.name}/{p.name}" for p in SPECS])
def test_dry_run_imports_no_heavy_module(spec: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), str(spec)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    code, _, heavy = proc.stdout.strip().rpartition("\n")[2].partition(" ")
    assert code == "0", proc.stderr
    assert heavy == "", f"a dry-run of {spec.name} imported {heavy}"
    assert list(tmp_path.iterdir()) == [], "a dry-run wrote files"
