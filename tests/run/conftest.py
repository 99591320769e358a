"""The ``work`` fixture: tmp_path as the current directory (helpers: tests/helpers/running.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path as the current directory, with no MI_* environment leaking in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MI_STATE_DIR", raising=False)
    monkeypatch.delenv("MI_JOBS", raising=False)
    yield tmp_path
