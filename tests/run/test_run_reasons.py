"""Rerun reasons, one test per trigger: what ``--dry-run --json`` says and what really reruns.

Every shell step appends its name to ``ran.log`` so "what ran" is observed from the side
effects, not only from the engine's own statuses.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.running import cli, completed, dry, ran, run, to_run, up_to_date, write_spec

CHAIN = """
name: reasons
config:
  msg: hello
steps:
  - name: a
    run: "cat {{ inputs.src }} > {{ outputs.o }}; echo a >> ran.log"
    inputs: {src: data.txt}
    outputs: {o: out/a.txt}
  - name: b
    run: "tr a-z A-Z < {{ inputs.a }} > {{ outputs.o }}; echo b >> ran.log"
    inputs: {a: "{{ steps.a.outputs.o }}"}
    outputs: {o: out/b.txt}
  - name: c
    run: "echo {{ msg }} > {{ outputs.o }}; echo c >> ran.log"
    outputs: {o: out/c.txt}
"""


@pytest.fixture
def chain(work: Path) -> Path:
    write_spec(work, CHAIN)
    (work / "data.txt").write_text("some data\n")
    return work


@pytest.fixture
def done(chain: Path) -> Path:
    """The chain workflow after one complete run."""
    result = run()
    assert result.ok and completed(result) == {"a", "b", "c"}
    assert ran(chain) == ["a", "b", "c"]
    return chain


def reasons_of(plan: dict[str, tuple[str, list[str]]], node: str) -> list[str]:
    return plan[node][1]


def test_never_run(chain: Path) -> None:
    plan = dry()
    assert plan == {n: ("run", ["never run"]) for n in ("a", "b", "c")}


def test_second_run_does_nothing(done: Path) -> None:
    plan = dry()
    assert plan == {n: ("skip", ["up to date"]) for n in ("a", "b", "c")}
    code, _, err = cli("wf.yaml", "--backend", "threads")
    assert code == 0
    assert "all up to date" in err
    assert ran(done) == []


def test_deleted_output_is_missing(done: Path) -> None:
    (done / "out/b.txt").unlink()
    plan = dry()
    assert plan["b"] == ("run", ["output missing: out/b.txt"])
    assert to_run(plan) == {"b"}
    result = run()
    assert ran(done) == ["b"]
    assert completed(result) == {"b"}
    assert (done / "out/b.txt").read_text() == "SOME DATA\n"


def test_deleted_intermediate_recreated_identically_does_not_rerun_dependents(done: Path) -> None:
    (done / "out/a.txt").unlink()
    plan = dry()
    assert plan["a"] == ("run", ["output missing: out/a.txt"])
    assert plan["c"] == ("skip", ["up to date"])
    result = run()
    assert (done / "out/a.txt").read_text() == "some data\n"
    assert ran(done) == ["a"]
    assert completed(result) == {"a"} and up_to_date(result) == {"b", "c"}


def test_edited_output_is_changed(done: Path) -> None:
    (done / "out/b.txt").write_text("edited by hand\n")
    plan = dry()
    assert plan["b"] == ("run", ["output changed: out/b.txt"])
    assert to_run(plan) == {"b"}
    run()
    assert ran(done) == ["b"]
    assert (done / "out/b.txt").read_text() == "SOME DATA\n"


def test_edited_input_is_changed(done: Path) -> None:
    (done / "data.txt").write_text("other data\n")
    plan = dry()
    assert plan["a"] == ("run", ["input changed: data.txt"])
    assert reasons_of(plan, "b") == ["upstream reran: a"]
    assert plan["c"][0] == "skip"
    run()
    assert ran(done) == ["a", "b"]  # a's output changed, so b really reruns
    assert (done / "out/b.txt").read_text() == "OTHER DATA\n"


def test_touched_but_identical_input_is_up_to_date(done: Path) -> None:
    data = done / "data.txt"
    data.write_text("some data\n")  # same bytes, new mtime
    later = data.stat().st_mtime_ns + 5_000_000_000
    os.utime(data, ns=(later, later))
    assert to_run(dry()) == set()
    result = run()
    assert ran(done) == []
    assert completed(result) == set()


def test_config_change_in_command_is_code_changed(done: Path) -> None:
    plan = dry("wf.yaml", "--set", "msg=bye")
    assert plan["c"] == ("run", ["code changed: command changed"])
    assert to_run(plan) == {"c"}
    run(overrides=["msg=bye"])
    assert ran(done) == ["c"]
    assert (done / "out/c.txt").read_text() == "bye\n"


def test_edited_run_command_is_code_changed(done: Path) -> None:
    spec = done / "wf.yaml"
    spec.write_text(spec.read_text().replace("tr a-z A-Z <", "rev <"))
    plan = dry()
    assert plan["b"] == ("run", ["code changed: command changed"])
    assert to_run(plan) == {"b"}
    run()
    assert ran(done) == ["b"]
    assert (done / "out/b.txt").read_text() == "atad emos\n"


def test_param_change_names_key_and_values(work: Path) -> None:
    write_spec(work, """
        name: params
        config:
          header: false
        steps:
          - name: join
            uses: core.concat
            params: {header: "{{ header }}"}
            inputs: {parts: [p1.tsv, p2.tsv]}
            outputs: {out: joined.tsv}
    """)
    (work / "p1.tsv").write_text("x\n1\n")
    (work / "p2.tsv").write_text("x\n2\n")
    assert completed(run()) == {"join"}
    assert (work / "joined.tsv").read_text() == "x\n1\nx\n2\n"
    assert dry()["join"] == ("skip", ["up to date"])
    plan = dry("wf.yaml", "--set", "header=true")
    assert plan["join"] == ("run", ["params changed: header false -> true"])
    assert completed(run(overrides=["header=true"])) == {"join"}
    assert (work / "joined.tsv").read_text() == "x\n1\n2\n"


def test_force_reruns_step_but_not_dependents_of_identical_output(done: Path) -> None:
    plan = dry("wf.yaml", "--force", "a")
    assert plan["a"] == ("run", ["forced"])
    assert reasons_of(plan, "b") == ["upstream reran: a"]
    result = run(force=["a"])
    assert ran(done) == ["a"]
    assert completed(result) == {"a"} and up_to_date(result) == {"b", "c"}


def test_force_reruns_dependents_when_output_changes(work: Path) -> None:
    write_spec(work, """
        name: clock
        steps:
          - name: stamp
            run: "date +%s%N > {{ outputs.o }}; echo stamp >> ran.log"
            outputs: {o: stamp.txt}
          - name: copy
            run: "cp {{ inputs.s }} {{ outputs.o }}; echo copy >> ran.log"
            inputs: {s: stamp.txt}
            outputs: {o: copy.txt}
    """)
    run()
    assert ran(work) == ["copy", "stamp"]
    result = run(force=["stamp"])
    assert ran(work) == ["copy", "stamp"]
    assert completed(result) == {"stamp", "copy"}
    assert (work / "copy.txt").read_text() == (work / "stamp.txt").read_text()


def test_force_all(done: Path) -> None:
    plan = dry("wf.yaml", "--force-all")
    assert {n: r for n, (_, r) in plan.items()} == {n: ["forced"] for n in ("a", "b", "c")}
    run(force_all=True)
    assert ran(done) == ["a", "b", "c"]


def test_unknown_forced_step_is_a_usage_error(done: Path) -> None:
    code, _, err = cli("wf.yaml", "--force", "bb")
    assert code == 2
    assert "unknown step 'bb'" in err and "did you mean 'b'" in err


def test_upstream_rewriting_identical_bytes_does_not_rerun_dependents(done: Path) -> None:
    spec = done / "wf.yaml"
    # a new command with the same result
    spec.write_text(spec.read_text().replace('"cat {{ inputs.src }} >', '"cat < {{ inputs.src }} >'))
    plan = dry()
    assert plan["a"] == ("run", ["code changed: command changed"])
    assert reasons_of(plan, "b") == ["upstream reran: a"]
    result = run()
    assert ran(done) == ["a"]
    assert up_to_date(result) == {"b", "c"}
    assert dry() == {n: ("skip", ["up to date"]) for n in ("a", "b", "c")}


FANOUT = """
name: items
config:
  samples: [s1, s2]
steps:
  - name: per
    foreach: "{{ samples }}"
    run: "echo {{ item }} > {{ outputs.o }}; echo per-{{ item }} >> ran.log"
    outputs: {o: "per/{{ item }}.txt"}
  - name: gather
    run: "cat {{ inputs.parts }} > {{ outputs.o }}; echo gather >> ran.log"
    inputs: {parts: "{{ steps.per.outputs.o }}"}
    outputs: {o: all.txt}
"""


def test_new_fanout_item_adds_exactly_one_instance(work: Path) -> None:
    write_spec(work, FANOUT)
    run()
    assert ran(work) == ["gather", "per-s1", "per-s2"]
    plan = dry("wf.yaml", "--set", "samples=[s1, s2, s3]")
    assert plan["per[s3]"] == ("run", ["never run"])
    assert plan["per[s1]"][0] == plan["per[s2]"][0] == "skip"
    assert plan["gather"][0] == "run"
    assert "input changed: new input per/s3.txt" in plan["gather"][1]
    result = run(overrides=["samples=[s1, s2, s3]"])
    assert ran(work) == ["gather", "per-s3"]
    assert completed(result) == {"per[s3]", "gather"}
    assert (work / "all.txt").read_text() == "s1\ns2\ns3\n"


SHEET = """
name: sheet
steps:
  - name: sheet
    run: "cp {{ inputs.src }} {{ outputs.table }}; echo sheet >> ran.log"
    inputs: {src: samples.tsv}
    outputs: {table: out/sheet.tsv}
  - name: per
    foreach: {table: "{{ steps.sheet.outputs.table }}", column: sample}
    run: "echo {{ item }} > {{ outputs.o }}; echo per-{{ item }} >> ran.log"
    outputs: {o: "out/per/{{ item }}.txt"}
  - name: gather
    run: "cat {{ inputs.parts }} > {{ outputs.o }}; echo gather >> ran.log"
    inputs: {parts: "{{ steps.per.outputs.o }}"}
    outputs: {o: out/all.txt}
"""


def test_changed_table_adds_and_drops_exactly_the_affected_instances(work: Path) -> None:
    write_spec(work, SHEET)
    (work / "samples.tsv").write_text("sample\tdepth\nA\t1\nB\t2\n")
    run()
    assert ran(work) == ["gather", "per-A", "per-B", "sheet"]
    (work / "samples.tsv").write_text("sample\tdepth\nA\t1\nC\t3\n")
    plan = dry()
    assert plan["sheet"] == ("run", ["input changed: samples.tsv"])
    assert plan["per[*]"][0] == "pending expansion"
    result = run()
    assert ran(work) == ["gather", "per-C", "sheet"]
    assert completed(result) == {"sheet", "per[C]", "gather"}
    assert "per[B]" not in result.statuses and up_to_date(result) == {"per[A]"}
    assert (work / "out/all.txt").read_text() == "A\nC\n"
