"""engine.bundled_entry_point: the plain ``execute_<domain>_workflow`` functions it makes keep
the seed's name, signature and a docstring for help(), and pass their arguments on."""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import pydoc
import traceback
from collections.abc import Mapping
from typing import Any

import pytest

import engine.running.seedresult as seedresult

ENTRY_POINTS = [("rna", "execute_amalgkit_workflow", "rna/amalgkit.yaml"),
                ("epigenome", "execute_epigenome_workflow", "epigenome/methylation.yaml"),
                ("simulation", "execute_simulation_workflow", "simulation/coalescent.yaml")]


def seed_signature(config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                   work_dir: str | os.PathLike[str] | None = None,
                   **run_options: Any) -> None:
    """The seed's ``execute_<domain>_workflow(config, work_dir=..., **options)``, written out."""


@pytest.mark.parametrize(("domain", "name", "spec"), ENTRY_POINTS)
def test_the_entry_point_reads_as_a_function_of_its_own(domain: str, name: str, spec: str) -> None:
    library = importlib.import_module(f"stepslib.{domain}")
    function = getattr(library, name)
    assert (function.__name__, function.__qualname__) == (name, name)
    assert function.__module__ == f"stepslib.{domain}._entry"
    expected = inspect.signature(seed_signature).parameters
    got = inspect.signature(function).parameters
    assert [(p.name, p.kind, p.default, p.annotation) for p in got.values()] == \
        [(p.name, p.kind, p.default, p.annotation) for p in expected.values()]
    page = pydoc.render_doc(function, renderer=pydoc.plaintext)
    assert f"{name}(config:" in page and f"Run ``specs/{spec}`` with a MetaInformAnt" in page
    assert f"specs/{importlib.import_module(f'stepslib.{domain}._entry').SPEC}" in page
    assert pickle.loads(pickle.dumps(function)) is function


@pytest.mark.parametrize(("domain", "name", "spec"), ENTRY_POINTS)
def test_the_entry_point_passes_its_arguments_on_and_shows_in_tracebacks(
        domain: str, name: str, spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        raise RuntimeError("stop here")

    monkeypatch.setattr(seedresult, "execute_bundled", refuse)
    function = getattr(importlib.import_module(f"stepslib.{domain}"), name)
    with pytest.raises(RuntimeError) as caught:
        function({"output": "o"}, work_dir="w", jobs=3, keep_going=True)
    assert calls == [((spec, {"output": "o"}), {"work_dir": "w", "jobs": 3, "keep_going": True})]
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert name in frames
