"""The ``work`` fixture: tmp_path as the current directory, calls noted in ``calls.log``
(helpers: tests/helpers/orchestrated.py, tests/helpers/running.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path as the current directory, no MI_* defaults leaking in, and every helper
    function noting its call in tmp_path/calls.log."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MI_STATE_DIR", raising=False)
    monkeypatch.delenv("MI_JOBS", raising=False)
    monkeypatch.setenv("MI_TEST_CALLS", str(tmp_path / "calls.log"))
    yield tmp_path
