"""What counts as a change (issue #10, part 2): threads and resources never rerun a step;
``--rerun-triggers`` chooses among input, params and code; a reason never calls an
existing file missing."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.errors import UsageError
from engine.model import ALL_TRIGGERS, Trigger
from engine.running.options import parse_triggers
from tests.helpers.running import cli, dry, ran, run, to_run, write_spec

NUMBERS = """
name: numbers
config: {cores: 1, mem: 100}
steps:
  - name: quant
    threads: "{{ cores }}"
    resources: {mem_mb: "{{ mem }}"}
    run: "echo quant -t {{ threads }} -m {{ resources.mem_mb }} > {{ outputs.o }}; echo quant >> ran.log"
    outputs: {o: out/quant.txt}
"""


def test_threads_and_resources_in_the_command_never_rerun(work: Path) -> None:
    write_spec(work, NUMBERS)
    run(jobs=4)
    assert ran(work) == ["quant"]
    assert (work / "out" / "quant.txt").read_text() == "quant -t 1 -m 100\n"
    for change in (["--set", "cores=2"], ["--set", "mem=200"], ["--set", "cores=3", "--set", "mem=5"]):
        assert to_run(dry("wf.yaml", "-j", "4", *change)) == set(), change
    code, _, err = cli("wf.yaml", "-j", "4", "--set", "cores=2")
    assert code == 0, err
    assert ran(work) == []


def test_a_real_command_change_beside_threads_still_reruns(work: Path) -> None:
    write_spec(work, NUMBERS)
    run(jobs=4)
    write_spec(work, NUMBERS.replace("echo quant -t", "echo quant2 -t"))
    plan = dry("wf.yaml", "-j", "4", "--set", "cores=2")
    assert plan["quant"][0] == "run"
    assert plan["quant"][1] == ["code changed: command changed"]


CODE_AND_PARAMS = """
name: triggers
config: {header: false}
steps:
  - name: a
    run: "cat {{ inputs.src }} > {{ outputs.o }}; echo a >> ran.log"
    inputs: {src: data.txt}
    outputs: {o: out/a.txt}
  - name: b
    uses: core.concat
    params: {header: "{{ header }}"}
    inputs: {parts: "{{ steps.a.outputs.o }}"}
    outputs: {out: out/b.txt}
"""


@pytest.fixture
def triggers_wf(work: Path) -> Path:
    write_spec(work, CODE_AND_PARAMS)
    (work / "data.txt").write_text("data\n")
    code, _, err = cli("wf.yaml", "-j", "2")
    assert code == 0, err
    ran(work)
    return work


def test_rerun_triggers_input_params_ignore_an_edited_command(triggers_wf: Path) -> None:
    write_spec(triggers_wf, CODE_AND_PARAMS.replace("cat {{ inputs.src }}", "cat  {{ inputs.src }}"))
    assert dry("wf.yaml")["a"] == ("run", ["code changed: command changed"])
    assert to_run(dry("wf.yaml", "--rerun-triggers", "input,params")) == set()
    assert to_run(dry("wf.yaml", "--rerun-triggers", "input", "params")) == set()
    code, _, err = cli("wf.yaml", "--rerun-triggers", "input,params")
    assert code == 0, err
    assert ran(triggers_wf) == []


def test_rerun_triggers_code_ignores_params_and_inputs(triggers_wf: Path) -> None:
    (triggers_wf / "data.txt").write_text("other data\n")
    plan = dry("wf.yaml", "--set", "header=true")
    assert plan["a"][1] == ["input changed: data.txt"]
    assert any(r.startswith("params changed") for r in plan["b"][1]), plan["b"]
    assert to_run(dry("wf.yaml", "--set", "header=true", "--rerun-triggers", "code")) == set()
    assert dry("wf.yaml", "--set", "header=true", "--rerun-triggers", "params")["b"][0] == "run"
    assert to_run(dry("wf.yaml", "--rerun-triggers", "input")) == {"a", "b"}


def test_a_missing_output_reruns_whatever_the_triggers(triggers_wf: Path) -> None:
    (triggers_wf / "out" / "b.txt").unlink()
    plan = dry("wf.yaml", "--rerun-triggers", "code")
    assert plan["b"] == ("run", ["output missing: out/b.txt"])


def test_an_existing_output_is_never_called_missing(triggers_wf: Path) -> None:
    (triggers_wf / "elsewhere.txt").write_text("made by hand\n")
    write_spec(triggers_wf, CODE_AND_PARAMS.replace("out/b.txt", "elsewhere.txt"))
    action, reasons = dry("wf.yaml")["b"]
    assert action == "run"
    assert reasons == ["output changed: elsewhere.txt (not written by the last run)"]


def test_unknown_trigger_is_a_usage_error(triggers_wf: Path) -> None:
    code, _, err = cli("wf.yaml", "--dry-run", "--rerun-triggers", "input,mtime")
    assert code == 2
    assert "unknown rerun trigger 'mtime'" in err and "input, params, code" in err


def test_parse_triggers_forms() -> None:
    assert parse_triggers(None) == ALL_TRIGGERS
    assert parse_triggers(["input,params"]) == {Trigger.INPUT, Trigger.PARAMS}
    assert parse_triggers("code") == {Trigger.CODE}
    with pytest.raises(UsageError):
        parse_triggers([","])


def test_python_api_takes_rerun_triggers(triggers_wf: Path) -> None:
    write_spec(triggers_wf, CODE_AND_PARAMS.replace("cat {{ inputs.src }}", "cat  {{ inputs.src }}"))
    result = engine.run("wf.yaml", jobs=2, backend="threads", rerun_triggers=["input", "params"])
    assert ran(triggers_wf) == []
    assert all(s.value == "up to date" for s in result.statuses.values()), result.statuses


# -- --touch -----------------------------------------------------------------------------------

CHAIN = """
name: touchwf
steps:
  - name: a
    run: "cat {{ inputs.src }} > {{ outputs.o }}; echo a >> ran.log"
    inputs: {src: data.txt}
    outputs: {o: out/a.txt}
  - name: b
    run: "tr a-z A-Z < {{ inputs.a }} > {{ outputs.o }}; echo b >> ran.log"
    inputs: {a: "{{ steps.a.outputs.o }}"}
    outputs: {o: out/b.txt}
"""


@pytest.fixture
def chain(work: Path) -> Path:
    write_spec(work, CHAIN)
    (work / "data.txt").write_text("data\n")
    assert cli("wf.yaml", "-j", "1")[0] == 0
    ran(work)
    return work


def test_touch_accepts_a_cosmetic_command_edit(chain: Path) -> None:
    write_spec(chain, CHAIN.replace("echo a >> ran.log", "echo a >> ran.log  # a comment"))
    plan = dry("wf.yaml", "--touch")
    assert plan["a"] == ("touch", ["code changed: command changed"])
    assert plan["b"][0] == "touch"  # its upstream would rerun: accepted with it
    code, out, _ = cli("wf.yaml", "--touch", "--dry-run")
    assert code == 0 and "2 to accept as up to date (--touch)" in out
    code, _, err = cli("wf.yaml", "--touch")
    assert code == 0, err
    assert "accepted 2 instance(s) as up to date; nothing was run" in err
    assert ran(chain) == []
    assert to_run(dry("wf.yaml")) == set()
    assert cli("wf.yaml")[0] == 0
    assert ran(chain) == []


def test_touch_accepts_outputs_made_outside_mi_run(work: Path) -> None:
    write_spec(work, CHAIN)
    (work / "data.txt").write_text("data\n")
    (work / "out").mkdir()
    (work / "out" / "a.txt").write_text("data\n")  # made by hand; b's output is not there
    code, _, err = cli("wf.yaml", "--touch")
    assert code == 1
    assert "cannot accept b: output missing: out/b.txt (run it instead)" in err
    assert "accepted 1 instance(s)" in err
    assert ran(work) == []
    assert dry("wf.yaml") == {"a": ("skip", ["up to date"]), "b": ("run", ["never run"])}


def test_touch_of_one_step_leaves_the_others(chain: Path) -> None:
    (chain / "data.txt").write_text("new data\n")
    write_spec(chain, CHAIN.replace("tr a-z A-Z", "tr a-z A-Z "))
    assert to_run(dry("wf.yaml")) == {"a", "b"}
    assert cli("wf.yaml", "--touch", "b")[0] == 0
    plan = dry("wf.yaml")
    assert plan["a"] == ("run", ["input changed: data.txt"])
    # b was accepted as it is on disk; it reruns now only because a will
    assert plan["b"] == ("run", ["upstream reran: a"])


def test_touch_unknown_step_is_a_usage_error(chain: Path) -> None:
    code, _, err = cli("wf.yaml", "--touch", "bb")
    assert code == 2 and "--touch names unknown step 'bb'" in err and "did you mean 'b'" in err


def test_engine_run_refuses_touch(chain: Path) -> None:
    with pytest.raises(UsageError, match="accepts outputs without running"):
        engine.run("wf.yaml", touch=[])


def test_touch_dry_run_graph_shows_what_is_accepted(chain: Path) -> None:
    write_spec(chain, CHAIN.replace("echo a >> ran.log", "echo a >> ran.log  # a comment"))
    code, out, _ = cli("wf.yaml", "--touch", "--graph", "mermaid")
    assert code == 0
    assert '  n0["a"]:::touch' in out.splitlines() and "  classDef touch" in out
    code, out, _ = cli("wf.yaml", "--graph", "mermaid")
    assert '  n0["a"]:::run' in out.splitlines() and "classDef touch" not in out


# -- target files ------------------------------------------------------------------------------

TARGETS = CHAIN + """
  - name: c
    run: "echo c > {{ outputs.o }}; echo c >> ran.log"
    outputs: {o: out/c.txt}
  - name: d
    run: "cat {{ inputs.b }} > {{ outputs.o }}; echo d >> ran.log"
    inputs: {b: "{{ steps.b.outputs.o }}"}
    outputs: {o: out/d.txt}
"""


@pytest.fixture
def targets_wf(work: Path) -> Path:
    write_spec(work, TARGETS)
    (work / "data.txt").write_text("data\n")
    return work


def test_a_target_path_builds_only_what_it_needs(targets_wf: Path) -> None:
    plan = dry("wf.yaml", "out/b.txt")
    assert to_run(plan) == {"a", "b"}
    assert plan["c"] == plan["d"] == ("skip", ["not selected"])
    code, _, err = cli("wf.yaml", "-j", "2", "out/b.txt")  # a target after the options too
    assert code == 0, err
    assert ran(targets_wf) == ["a", "b"]
    assert not (targets_wf / "out" / "c.txt").exists()
    code, _, err = cli("wf.yaml", str(targets_wf / "out" / "c.txt"), "out/d.txt")  # absolute too
    assert code == 0, err
    assert ran(targets_wf) == ["c", "d"]


def test_a_path_no_step_writes_is_a_usage_error(targets_wf: Path) -> None:
    code, _, err = cli("wf.yaml", "--dry-run", "out/bb.txt")
    assert code == 2
    assert "error: no step writes 'out/bb.txt'" in err
    assert "did you mean 'out/b.txt'" in err
    code, _, err = cli("wf.yaml", "--dry-run", "data.txt")  # an input, not an output
    assert code == 2 and "no step writes 'data.txt'" in err
