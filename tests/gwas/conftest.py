"""Fixtures for the GWAS step tests: small simulated genotypes, and calling steps directly.

Plain helpers (simulate_plink, plink2, needs_plink2, ...) are in tests/helpers/gwas.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.testing import call_step
from tests.helpers.gwas import StepCaller, prepare


@pytest.fixture
def run_step(tmp_path: Path) -> StepCaller:
    def call(name: str, params: Mapping[str, Any] | None = None, *,
             inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        return call_step(name, params, inputs=dict(inputs), outputs=dict(outputs),
                         work_dir=tmp_path)

    return call


@pytest.fixture
def sim(tmp_path: Path) -> dict[str, Any]:
    """Simulated PLINK fileset -> gwas.load -> gwas.qc (default params); paths of everything."""
    return prepare(tmp_path, missing=True)


@pytest.fixture
def sim_complete(tmp_path: Path) -> dict[str, Any]:
    """As ``sim`` but without any missing call."""
    return prepare(tmp_path, missing=False)
