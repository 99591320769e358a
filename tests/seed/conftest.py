"""The ``work`` fixture: tmp_path as the current directory (helpers: tests/helpers/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path as the current directory, with no MI_* environment leaking in."""
    monkeypatch.chdir(tmp_path)
    for name in ("MI_STATE_DIR", "MI_JOBS", "MI_STEP_MODULES"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
