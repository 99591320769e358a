"""Dynamic fan-out: a step writes a sample sheet, a per-sample step fans out over it after it
ran, a gather step collects. Before / during / after, and the reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.running import cli, completed, dry, ran, run, up_to_date, write_spec

SPEC = """
name: dynamic
steps:
  - name: sheet
    run: |
      printf 'sample\\tsize\\n' > {{ outputs.table }}
      for s in $(cat {{ inputs.names }}); do printf '%s\\t1\\n' $s >> {{ outputs.table }}; done
      echo sheet >> ran.log
    inputs: {names: names.txt}
    outputs: {table: out/sheet.tsv}
  - name: per
    foreach: {table: "{{ steps.sheet.outputs.table }}", column: sample}
    run: "echo sample {{ item }} > {{ outputs.txt }}; echo per-{{ item }} >> ran.log"
    outputs: {txt: "out/per/{{ item }}.txt"}
  - name: gather
    run: "cat {{ inputs.parts }} > {{ outputs.all }}; echo gather >> ran.log"
    inputs: {parts: "{{ steps.per.outputs.txt }}"}
    outputs: {all: out/all.txt}
"""


@pytest.fixture
def flow(work: Path) -> Path:
    write_spec(work, SPEC)
    (work / "names.txt").write_text("A B C\n")
    return work


def test_dry_run_before_shows_pending(flow: Path) -> None:
    plan = dry()
    assert plan == {
        "sheet": ("run", ["never run"]),
        "per[*]": ("pending expansion", ["expands after sheet"]),
        "gather": ("pending expansion", ["expands after per, sheet"]),
    }
    assert not (flow / "out").exists()  # a dry run writes nothing


def test_run_completes_every_instance_then_rerun_is_a_no_op(flow: Path) -> None:
    result = run()
    assert result.ok
    assert completed(result) == {"sheet", "per[A]", "per[B]", "per[C]", "gather"}
    assert ran(flow) == ["gather", "per-A", "per-B", "per-C", "sheet"]
    assert (flow / "out/all.txt").read_text() == "sample A\nsample B\nsample C\n"
    # now the table exists and is up to date: the dry run expands it
    plan = dry()
    assert plan == {n: ("skip", ["up to date"])
                    for n in ("sheet", "per[A]", "per[B]", "per[C]", "gather")}
    again = run()
    assert completed(again) == set() and again.ok
    assert ran(flow) == []
    code, _, err = cli("wf.yaml", "--backend", "threads")
    assert code == 0 and "all up to date" in err


def test_same_run_with_processes_backend(flow: Path) -> None:
    result = run(backend="processes")
    assert completed(result) == {"sheet", "per[A]", "per[B]", "per[C]", "gather"}
    assert (flow / "out/all.txt").read_text() == "sample A\nsample B\nsample C\n"


def test_new_sample_in_table_runs_one_more_instance_and_the_gather(flow: Path) -> None:
    run()
    ran(flow)
    (flow / "names.txt").write_text("A B C D\n")
    result = run()
    assert ran(flow) == ["gather", "per-D", "sheet"]
    assert up_to_date(result) == {"per[A]", "per[B]", "per[C]"}
    assert (flow / "out/all.txt").read_text().splitlines()[-1] == "sample D"


def test_table_rewritten_identically_reruns_nothing_downstream(flow: Path) -> None:
    run()
    ran(flow)
    result = run(force=["sheet"])
    assert ran(flow) == ["sheet"]
    assert up_to_date(result) == {"per[A]", "per[B]", "per[C]", "gather"}


def test_status_lists_expanded_instances(flow: Path) -> None:
    run()
    code, out, _ = cli("status", "wf.yaml", "--json")
    assert code == 0
    states = {row["id"]: row["state"] for row in json.loads(out)["instances"]}
    assert states == {n: "up to date" for n in ("sheet", "per[A]", "per[B]", "per[C]", "gather")}


def test_table_without_the_column_stops_the_run_with_a_spec_error(work: Path) -> None:
    write_spec(work, """
        name: badcol
        steps:
          - name: sheet
            run: "printf 'name\\\\nA\\\\n' > {{ outputs.table }}"
            outputs: {table: sheet.tsv}
          - name: per
            foreach: {table: "{{ steps.sheet.outputs.table }}", column: sample}
            run: "echo {{ item }} > {{ outputs.txt }}"
            outputs: {txt: "per/{{ item }}.txt"}
    """)
    code, _, err = cli("wf.yaml", "--backend", "threads")
    assert code == 2
    assert "table 'sheet.tsv' has no column 'sample'" in err and "did you mean 'name'" in err
    assert "Traceback" not in err
