"""Fuzzing (issue #11): mutate a valid spec and its config (drop or rename keys, wrong types,
broken templates, unknown names, cycles) and check that mi-run, planning or running, either
accepts the result or rejects it cleanly: exit 2, no traceback, every message located in a
file that exists (or on the command line), and nothing written."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.running import cli

BASE: dict[str, Any] = {
    "name": "fuzz",
    "config": {"samples": ["A", "B"], "out": "res", "depth": 3},
    "steps": [
        {"name": "count", "foreach": "{{ samples }}",
         "run": "echo {{ item }} {{ depth }} > {{ outputs.n }}",
         "outputs": {"n": "{{ out }}/{{ item }}.n"}, "threads": 1},
        {"name": "join", "uses": "core.concat",
         "inputs": {"parts": "{{ steps.count.outputs.n }}"},
         "outputs": {"merged": "{{ out }}/all.txt"}},
        {"name": "report", "run": "wc -l {{ inputs.all }} > {{ outputs.r }}",
         "inputs": {"all": "{{ steps.join.outputs.merged }}"},
         "outputs": {"r": "{{ out }}/report.txt"}, "after": ["count"]},
    ],
}

BROKEN_TEMPLATES = ["{{ item.", "{{ nope }}", "{{ steps.ghost.outputs.x }}", "{% if %}",
                    "{{ samples | nofilter }}", "{{ depth / 0 }}", "{{ steps.count.outputs.m }}",
                    "{{ config.missing.deeper }}", "}}{{"]
WRONG_VALUES: list[Any] = [None, 0, -1, 2.5, True, "", [], {}, ["x"], {"a": 1}, "text"]
LOCATED = re.compile(r"^(?P<path>[^:\n]+?)(:\d+:\d+)?: (error|warning): ", re.M)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside the spec (mappings and lists)."""
    found = [here] if here else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*here, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    data = copy.deepcopy(BASE)
    sets: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop", "rename", "retype", "template", "cycle", "set",
                                     "unknown_step"]))
        paths = _paths(data)
        if kind == "set":
            sets.append(draw(st.sampled_from(["dpeth=4", "depth=", "samples=[A,", "out=../up",
                                              "steps.count.enabld=false", "steps.nope.x=1",
                                              "samples={a: 1}", "depth=1e-6"])))
            continue
        steps = [s for s in data.get("steps") or [] if isinstance(s, dict)] \
            if isinstance(data.get("steps"), list) else []
        if kind in ("cycle", "unknown_step"):
            if steps:
                target = draw(st.sampled_from(steps))
                target["after"] = [draw(st.sampled_from(["report", "join", "count"]))
                                   if kind == "cycle" else "ghost"]
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        key = path[-1]
        if kind == "drop":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif kind == "rename" and isinstance(parent, dict):
            parent[str(key)[:-1] + "x" if str(key) else "x"] = parent.pop(key)
        elif kind == "retype":  # a copy: a shared {} put inside itself later would be a cycle
            parent[key] = copy.deepcopy(draw(st.sampled_from(WRONG_VALUES)))
        elif kind == "template" and isinstance(parent[key], str):
            parent[key] = draw(st.sampled_from(BROKEN_TEMPLATES))
    return data, sets


@contextlib.contextmanager
def _fresh_dir() -> Iterator[Path]:
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated(), dry_run=st.booleans())
def test_a_mutated_spec_is_accepted_or_rejected_cleanly(case: tuple[dict[str, Any], list[str]],
                                                        dry_run: bool) -> None:
    data, sets = case
    with _fresh_dir() as folder:
        spec = folder / "wf.yaml"
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
        args = ["wf.yaml", "--backend", "threads", "-q"] + (["--dry-run"] if dry_run else [])
        for assignment in sets:
            args += ["--set", assignment]
        code, out, err = cli(*args)
        assert "Traceback" not in err and "Traceback" not in out
        if code == 0 or (code == 1 and not dry_run):
            return  # still a valid workflow (a step may fail at run time: exit 1)
        assert code == 2, (code, err)
        messages = LOCATED.findall(err) or []
        assert messages or err.startswith(("error:", "mi-run: error:")), err
        for match in LOCATED.finditer(err):
            where = match.group("path")
            assert where.startswith("<") or where.startswith("--set") or Path(where).is_file(), err
        assert sorted(p.name for p in folder.iterdir()) == ["wf.yaml"], err
