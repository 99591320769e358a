"""Property (issue #10): whatever sequence of configuration switches, hand edits and deletions
happens in one directory, a dry-run never gives a false reason and never calls an instance up
to date whose outputs are not what its configuration writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.running import dry, run, write_spec

SPEC = """
name: switches
config: {label: a, score: 1}
steps:
  - name: filter
    run: "echo {{ label }} {{ score }} > {{ outputs.o }}"
    outputs: {o: "out/{{ label }}/filtered.txt"}
  - name: report
    run: "cat {{ inputs.f }} > {{ outputs.o }}"
    inputs: {f: "{{ steps.filter.outputs.o }}"}
    outputs: {o: "out/{{ label }}/report.txt"}
"""

configs = st.tuples(st.sampled_from("abc"), st.sampled_from([1, 2]))
actions = st.lists(st.one_of(
    st.tuples(st.just("run"), configs),
    st.tuples(st.just("edit"), configs),
    st.tuples(st.just("delete"), configs),
), min_size=1, max_size=7)


@contextlib.contextmanager
def _in_fresh_dir() -> Iterator[Path]:
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def _overrides(config: tuple[str, int]) -> list[str]:
    return [f"label={config[0]}", f"score={config[1]}"]


def _check(folder: Path, config: tuple[str, int]) -> None:
    label, score = config
    args = [a for o in _overrides(config) for a in ("--set", o)]
    expected = f"{label} {score}\n"
    for node, (action, reasons) in dry("wf.yaml", *args).items():
        path = folder / "out" / label / ("filtered.txt" if node == "filter" else "report.txt")
        for reason in reasons:
            if reason.startswith("output missing: "):
                assert not path.exists(), (node, reason)
        if action == "skip":
            assert path.exists() and path.read_text() == expected, (node, config, reasons)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=actions, probe=configs)
def test_configuration_switches_never_give_a_false_reason(steps, probe) -> None:
    with _in_fresh_dir() as folder:
        write_spec(folder, SPEC)
        for what, config in steps:
            target = folder / "out" / config[0] / "filtered.txt"
            if what == "run":
                assert run(overrides=_overrides(config)).ok
            elif what == "edit" and target.exists():
                target.write_text("edited by hand\n")
            elif what == "delete" and target.exists():
                target.unlink()
            _check(folder, config)
        _check(folder, probe)
