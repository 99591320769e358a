"""``--only STEP`` whose inputs a step left out would write, and which do not exist, is a
usage error in the dry-run and before a real run starts, suggesting --until (issue #11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.refusing import refused
from tests.helpers.running import completed, ran, run, write_spec

SPEC = """
name: only
steps:
  - name: a
    run: "echo a > {{ outputs.o }}; echo a >> ran.log"
    outputs: {o: a.txt}
  - name: parts
    foreach: [x, y, z]
    run: "echo {{ item }} > {{ outputs.o }}; echo parts >> ran.log"
    outputs: {o: "part_{{ item }}.txt"}
  - name: b
    run: "cat {{ inputs.a }} {{ inputs.parts }} > {{ outputs.o }}; echo b >> ran.log"
    inputs: {a: "{{ steps.a.outputs.o }}", parts: "{{ steps.parts.outputs.o }}"}
    outputs: {o: b.txt}
  - name: c
    run: "cp {{ inputs.b }} {{ outputs.o }}; echo c >> ran.log"
    inputs: {b: "{{ steps.b.outputs.o }}"}
    outputs: {o: c.txt}
"""


@pytest.fixture
def flow(work: Path) -> Path:
    write_spec(work, SPEC)
    return work


def test_only_a_step_whose_input_is_missing(flow: Path) -> None:
    err = refused(flow, "wf.yaml", "--only", "c")
    assert err == ("error: --only c: input 'b.txt' does not exist, and step 'b', which writes "
                   "it, is not selected\n  hint: run what it needs first: --until c (or add "
                   "those steps with --only)\n")


def test_only_lists_every_missing_input(flow: Path) -> None:
    (flow / "part_y.txt").write_text("y\n")  # one of them is there already
    err = refused(flow, "wf.yaml", "--only", "b")
    assert err.startswith("error: --only b: inputs do not exist, and the steps that write them "
                          "are not selected: 'a.txt' (step 'a'), 'part_x.txt' (step 'parts'), "
                          "'part_z.txt' (step 'parts')\n")
    assert "hint: run what it needs first: --until b" in err


def test_only_with_the_inputs_there_or_their_writers_selected_runs(flow: Path) -> None:
    assert completed(run(only=["a", "parts", "b"])) == {"a", "parts[x]", "parts[y]", "parts[z]",
                                                        "b"}
    ran(flow)
    assert completed(run(only=["c"])) == {"c"}  # b.txt exists now
    assert ran(flow) == ["c"]
    (flow / "c.txt").unlink()
    (flow / "b.txt").unlink()
    refused(flow, "wf.yaml", "--only", "c")
    assert completed(run(until=["c"])) == {"b", "c"}  # what --until does instead
