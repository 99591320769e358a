"""Fixtures for the planning-stage tests: a clean environment, a spec in tmp_path, the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plan.plan import Plan
from engine.plan.workflow import Workflow, load
from tests.helpers.planning import write


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No MI_* variable of the calling shell may leak into the config layers under test."""
    for name in list(os.environ):
        if name.startswith("MI_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the current directory (relative spec paths resolve against it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def spec_file(workdir: Path) -> Callable[..., Path]:
    """spec_file(text, name="workflow.yaml") -> the written spec's path (inside tmp_path)."""

    def make(text: str, name: str = "workflow.yaml") -> Path:
        return write(workdir / name, text)

    return make


@pytest.fixture
def workflow_of(spec_file: Callable[..., Path]) -> Callable[..., Workflow]:
    """workflow_of(text, **load_kwargs) -> the loaded Workflow (environ defaults to empty)."""

    def make(text: str, **kwargs: Any) -> Workflow:
        kwargs.setdefault("environ", {})
        return load(spec_file(text), **kwargs)

    return make


@pytest.fixture
def plan_of(workflow_of: Callable[..., Workflow]) -> Callable[..., Plan]:
    """plan_of(text, table_ready=None, **load_kwargs) -> the Plan."""

    def make(text: str, *, table_ready: Callable[[str], bool] | None = None,
             **kwargs: Any) -> Plan:
        return workflow_of(text, **kwargs).plan(table_ready)

    return make


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """cli(*args) -> (exit code, stdout, stderr) of engine.cli.main, in-process."""
    from engine.cli.main import main

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call
