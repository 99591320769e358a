"""--until / --only, and ``mi-run status``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.model import Status
from tests.helpers.flows import shell, spec_yaml, write_flow
from tests.helpers.running import cli, completed, dry, ran, run, to_run

SPEC = spec_yaml(
    "sel",
    shell("a", "cat {{ inputs.src }} > {{ outputs.o }}; echo a >> ran.log",
          inputs={"src": "data.txt"}, outputs={"o": "a.txt"}),
    shell("b", "cp {{ inputs.i }} {{ outputs.o }}; echo b >> ran.log",
          inputs={"i": "{{ steps.a.outputs.o }}"}, outputs={"o": "b.txt"}),
    shell("c", "cp {{ inputs.i }} {{ outputs.o }}; echo c >> ran.log",
          inputs={"i": "{{ steps.b.outputs.o }}"}, outputs={"o": "c.txt"}),
    shell("x", "echo x > {{ outputs.o }}; echo x >> ran.log", outputs={"o": "x.txt"}))


@pytest.fixture
def flow(work: Path) -> Path:
    return write_flow(work, SPEC, {"data.txt": "v1\n"})


def test_until_runs_the_step_and_its_ancestors_only(flow: Path) -> None:
    result = run(until=["b"])
    assert ran(flow) == ["a", "b"]
    assert completed(result) == {"a", "b"}
    assert not (flow / "c.txt").exists() and not (flow / "x.txt").exists()
    # the rest is still to do
    assert to_run(dry()) == {"c", "x"}


def test_only_runs_just_that_step(flow: Path) -> None:
    run(until=["b"])
    ran(flow)
    (flow / "data.txt").write_text("v2\n")  # a is stale now, but --only c ignores it
    result = run(only=["c"])
    assert ran(flow) == ["c"]
    assert completed(result) == {"c"}
    assert (flow / "c.txt").read_text() == "v1\n"


def test_only_a_fanout_step_runs_all_its_instances(work: Path) -> None:
    write_flow(work, spec_yaml(
        "fan",
        shell("per", "echo {{ item }} > {{ outputs.o }}", foreach=["p", "q"],
              outputs={"o": "{{ item }}.txt"}),
        shell("other", "echo o > {{ outputs.o }}", outputs={"o": "other.txt"})))
    assert completed(run(only=["per"])) == {"per[p]", "per[q]"}
    assert not (work / "other.txt").exists()


def test_until_unknown_step_is_a_usage_error(flow: Path) -> None:
    code, _, err = cli("wf.yaml", "--until", "bb", "--backend", "threads")
    assert code == 2 and "unknown step 'bb'" in err
    assert not (flow / "a.txt").exists()


def test_unselected_steps_are_not_reported_up_to_date(flow: Path) -> None:
    result = run(until=["b"])
    assert result.statuses["x"] is not Status.UP_TO_DATE
    assert result.statuses["c"] is not Status.UP_TO_DATE


def test_dry_run_honours_until(flow: Path) -> None:
    assert to_run(dry("wf.yaml", "--until", "b")) == {"a", "b"}


STATUS = spec_yaml(
    "st",
    shell("ok", "cat {{ inputs.src }} > {{ outputs.o }}", inputs={"src": "data.txt"},
          outputs={"o": "ok.txt"}),
    shell("fine", "echo fine > {{ outputs.o }}", outputs={"o": "fine.txt"}),
    shell("bad", "echo 'cannot open reads.fq' >&2; exit 3", outputs={"o": "bad.txt"}),
    shell("blocked", "cp {{ inputs.b }} {{ outputs.o }}",
          inputs={"b": "{{ steps.bad.outputs.o }}"}, outputs={"o": "blocked.txt"}))


def test_status_shows_each_state(work: Path) -> None:
    write_flow(work, STATUS, {"data.txt": "v1\n"})
    code, out, _ = cli("status", "wf.yaml")
    assert code == 0
    assert all(line.endswith("never run") for line in out.splitlines()[1:5])
    assert not (work / ".mi").exists()  # status creates nothing
    run(keep_going=True)
    (work / "data.txt").write_text("v2\n")
    code, out, _ = cli("status", "wf.yaml", "--json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)["instances"]}
    assert rows["fine"]["state"] == "up to date"
    assert rows["ok"]["state"] == "stale: input changed: data.txt"
    assert rows["bad"]["state"].startswith("failed: command failed (exit status 3)")
    assert rows["blocked"]["state"] == "never run"
    assert rows["bad"]["log"] and Path(rows["bad"]["log"]).is_file()
    assert rows["fine"]["duration"] is not None and rows["fine"]["last_run"] is not None
    code, text, _ = cli("status", "wf.yaml")
    lines = {line.split()[0]: line for line in text.splitlines()[1:] if line.strip()}
    assert lines["ok"].endswith("stale: input changed: data.txt")
    assert lines["blocked"].endswith("never run")
    assert "failed: command failed (exit status 3)" in lines["bad"]
    assert "summary:" in text
