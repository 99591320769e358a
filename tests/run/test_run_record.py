"""Run records: every run writes ``<state_dir>/runs/<run-id>.json`` (docs/report.md)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

import tests.helpers.exec_steps  # noqa: F401  (registers testexec.* in this process)
from engine import envvars
from engine.errors import UsageError
from engine.plan.workflow import load
from engine.render.summary import summary
from engine.running.runfiles import find_record, list_runs, load_record
from engine.version import __version__
from tests.helpers.flows import fake_tool, shell, spec_yaml, write_flow
from tests.helpers.running import cli, mi, mi_popen, run, wait_for

SPEC = spec_yaml(
    "rec",
    shell("make", "echo {{ greeting }} {{ item }} > {{ outputs.txt }}",
          foreach={"table": "s.tsv", "column": "sample"}, outputs={"txt": "out/{{ item }}.txt"}),
    shell("bad", "echo first line; echo the real problem >&2; exit 3",
          inputs={"a": "out/a.txt"}, outputs={"x": "bad.txt"}),
    shell("gather", "sleep 0.3; cat {{ inputs.parts }} > {{ outputs.all }}",  # the critical path's end
          inputs={"parts": "{{ steps.make.outputs.txt }}"}, outputs={"all": "all.txt"}),
    config={"greeting": "hello"})


@pytest.fixture
def flow(work: Path) -> Path:
    return write_flow(work, SPEC, {"s.tsv": "sample\na\nb\nc\n"})


def records(folder: Path) -> list[dict[str, Any]]:
    """Every run record of the state dir, oldest first."""
    return [load_record(r.path) for r in reversed(list_runs(str(folder / ".mi")))]


def by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in record["instances"]}


def test_a_failed_run_records_the_run_and_every_instance(flow: Path) -> None:
    result = run(keep_going=True, overrides=["greeting=hi"], argv=["mi-run", "wf.yaml", "-k"])
    assert not result.ok
    [record] = records(flow)
    assert record["run_id"] == result.run_id and record["workflow"] == "rec"
    assert record["status"] == "failed"
    spec = (flow / "wf.yaml").read_bytes()
    assert record["spec"] == {"path": "wf.yaml", "sha256": hashlib.sha256(spec).hexdigest()}
    assert record["argv"] == ["mi-run", "wf.yaml", "-k"]
    assert record["engine"]["version"] == __version__
    assert record["engine"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["host"]["name"] and record["host"]["cpus"] >= 1
    assert record["started"] <= record["ended"]
    assert record["counts"] == {"completed": 4, "failed": 1}
    [greeting] = record["config"]
    assert greeting["key"] == "greeting" and greeting["value"] == "hi"
    assert greeting["layer"] == "set" and "greeting=hi" in greeting["origin"]
    assert [s["name"] for s in record["steps"]] == ["make", "bad", "gather"]
    assert record["steps"][0]["instances"] == 3 and record["steps"][0]["fanned_out"]
    assert record["steps"][2]["needs"] == [["make", "file"]]
    entries = by_id(record)
    assert list(entries) == ["make[a]", "make[b]", "make[c]", "bad", "gather"]
    made = entries["make[b]"]
    assert made["status"] == "completed" and made["reasons"] == ["never run"]
    assert made["command"] == "echo hi b > out/b.txt" and made["exit_code"] == 0
    assert made["outputs"] == [{"name": "txt", "path": "out/b.txt", "size": 5}]
    assert made["attempts"] == 1 and made["duration"] >= 0 and made["cpu_time"] >= 0
    assert made["peak_mem_mb"] > 0 and made["started"] <= made["ended"]
    bad = entries["bad"]
    assert bad["status"] == "failed" and bad["exit_code"] == 3 and bad["signal"] is None
    assert bad["inputs"] == [{"name": "a", "path": "out/a.txt", "size": 5}]
    assert "exit status 3" in bad["error"]
    assert bad["log"].endswith(".log") and os.path.isabs(bad["log"])
    assert "the real problem" in bad["log_tail"]
    assert entries["gather"]["inputs"][2] == {"name": "parts", "path": "out/c.txt", "size": 5}
    assert record["critical_path"]["instances"][-1] == "gather"


def test_up_to_date_and_unselected_instances_are_listed_with_their_status(flow: Path) -> None:
    run(keep_going=True)
    (flow / "s.tsv").write_text("sample\na\nb\nc\nd\n")
    run(keep_going=True, until=["make"])
    entries = by_id(records(flow)[-1])
    assert entries["make[a]"]["status"] == "up to date"
    assert entries["make[a]"]["reasons"] == ["up to date"]
    assert entries["make[a]"]["outputs"][0]["size"] == 8  # known from the state store
    assert entries["make[d]"]["status"] == "completed"
    assert entries["gather"]["status"] == "not selected"
    assert entries["gather"]["command"].startswith("sleep 0.3; cat out/a.txt")
    assert "cpu_time" not in entries["gather"]


def test_nothing_to_do_writes_no_record(flow: Path) -> None:
    run(only=["make"])
    assert len(records(flow)) == 1
    run(only=["make"])
    assert len(records(flow)) == 1


def test_python_steps_record_what_they_returned_and_retries_every_attempt(work: Path) -> None:
    write_flow(work, spec_yaml(
        "py",
        {"name": "write", "uses": "testexec.write", "params": {"text": "hi"},
         "outputs": {"out": "w.txt"}},
        shell("flaky", "if [ -f tried ]; then echo ok > {{ outputs.o }}; else touch tried; exit 4; fi",
              retries=1, outputs={"o": "f.txt"})))
    assert run().ok
    entries = by_id(records(work)[0])
    write = entries["write"]
    assert write["uses"] == "testexec.write" and write["params"] == {"text": "hi"}
    assert write["output"] == {"pid": os.getpid()}
    assert write["warnings"] == ["just a warning"]
    assert write["metadata"]["peak_mem_mb"] > 0 and write["exit_code"] is None
    assert write["cpu_time"] is not None and "command" not in write
    flaky = entries["flaky"]
    assert flaky["status"] == "completed" and flaky["attempts"] == 2
    first, second = flaky["attempt_list"]
    assert (first["attempt"], first["status"], first["exit_code"]) == (1, "failed", 4)
    assert (second["attempt"], second["status"], second["exit_code"]) == (2, "completed", 0)
    assert first["ended"] <= second["submitted"]


def test_tool_versions_are_asked_once_per_run_and_never_fail_it(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(work, "bcftools", f'echo asked >> {work}/asked.log; echo "bcftools 9.9"; '
                                'echo "Using htslib 9.9"')
    fake_tool(work, "samtools", "exit 1")
    monkeypatch.setenv("PATH", f"{work / 'bin'}{os.pathsep}{os.environ['PATH']}")
    write_flow(work, spec_yaml(
        "tools",
        shell("a", "mkdir -p o && echo bcftools {{ item }} > {{ outputs.o }}", foreach=[1, 2, 3],
              outputs={"o": "o/a{{ item }}.txt"}),
        shell("b", "echo bcftools samtools plink2-is-not-a-word > {{ outputs.o }}",
              outputs={"o": "b.txt"})))
    assert run().ok
    tools = records(work)[0]["tools"]
    assert (work / "asked.log").read_text() == "asked\n"
    assert tools["bcftools"]["version"] == "bcftools 9.9"
    assert tools["bcftools"]["path"] == str(work / "bin" / "bcftools")
    assert tools["bcftools"]["steps"] == ["a", "b"]
    assert tools["samtools"]["version"] is None and "exit 1" in tools["samtools"]["error"]
    assert set(tools) == {"bcftools", "samtools"}


def test_registered_steps_declare_their_tools() -> None:
    from engine.registry import get_step

    assert get_step("rna.quant").tools == ("kallisto",)
    assert "fastp" in get_step("rna.getfastq").tools


def test_only_the_newest_runs_are_kept(flow: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        run(force_all=True, keep_going=True, keep_runs=2)
    assert len(records(flow)) == 2
    monkeypatch.setenv(envvars.KEEP_RUNS, "1")
    run(force_all=True, keep_going=True)
    [left] = records(flow)
    assert find_record(str(flow / ".mi"), "rec") == str(flow / ".mi/runs" / f"{left['run_id']}.json")
    monkeypatch.setenv(envvars.KEEP_RUNS, "0")
    with pytest.raises(UsageError, match="MI_KEEP_RUNS"):
        run()


def test_keep_runs_on_the_command_line(flow: Path) -> None:
    for _ in range(2):
        code, _, err = cli("wf.yaml", "-k", "--force-all", "--keep-runs", "1", "-j", "2")
        assert code == 1, err
    assert len(records(flow)) == 1
    code, _, err = cli("wf.yaml", "--keep-runs", "0")
    assert code == 2 and "--keep-runs" in err


def test_find_record_by_id_prefix_and_by_workflow(flow: Path) -> None:
    first = run(keep_going=True).run_id
    second = run(keep_going=True, force_all=True).run_id
    state = str(flow / ".mi")
    assert find_record(state, "rec").endswith(f"{second}.json")
    assert find_record(state, "rec", first).endswith(f"{first}.json")
    with pytest.raises(UsageError, match="no recorded run of workflow 'other'"):
        find_record(state, "other")
    with pytest.raises(UsageError, match="no run with id"):
        find_record(state, "rec", "nope")


@pytest.mark.slow
def test_an_interrupted_run_is_recorded(work: Path) -> None:
    write_flow(work, spec_yaml(
        "stop",
        shell("quick", "echo q > {{ outputs.o }}", outputs={"o": "q.txt"}),
        shell("slow", "touch slow.started; sleep 600; echo s > {{ outputs.o }}",
              inputs={"q": "q.txt"}, outputs={"o": "s.txt"}),
        shell("after", "cat {{ inputs.s }} > {{ outputs.o }}", inputs={"s": "s.txt"},
              outputs={"o": "a.txt"})))
    engine = mi_popen(work, "wf.yaml", "-j", "2", "--report", "r.html", "--trace", "t.tsv")
    try:
        wait_for(work / "slow.started", engine)
        engine.send_signal(signal.SIGINT)
        _, err = engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 130
    [record] = records(work)
    assert record["status"] == "interrupted"
    entries = by_id(record)
    assert entries["quick"]["status"] == "completed"
    assert entries["slow"]["status"] == "interrupted"
    assert entries["slow"]["attempt_list"][0]["status"] == "interrupted"
    assert entries["slow"]["ended"] >= entries["slow"]["started"]
    assert entries["after"]["status"] == "not started"
    assert not list((work / ".mi/runs").glob(".*"))  # no temporary file left
    assert "report written to r.html" in err and (work / "r.html").exists()
    rows = [line.split("\t") for line in (work / "t.tsv").read_text().splitlines()[1:]]
    assert [(row[1], row[3]) for row in rows] == [("quick", "completed"), ("slow", "interrupted")]


def test_a_record_is_one_json_document_written_whole(flow: Path) -> None:
    proc = mi(flow, "wf.yaml", "-k", "-j", "2")
    assert proc.returncode == 1, proc.stderr
    [path] = (flow / ".mi/runs").iterdir()
    text = path.read_text()
    assert text.startswith('{"format":1,"run_id":')
    assert json.loads(text)["argv"][1:] == ["wf.yaml", "-k", "-j", "2"]


def test_a_record_that_cannot_be_written_does_not_change_the_run(flow: Path) -> None:
    (flow / ".mi").mkdir()
    (flow / ".mi/runs").write_text("a file where the folder goes")
    code, _, err = cli("wf.yaml", "-k", "-j", "2", "--report", "r.html")
    assert code == 1  # the failed step's, as without a record
    assert "could not write the run record" in err
    assert "no report or trace: the run's record could not be written" in err
    assert not (flow / "r.html").exists()
    (flow / ".mi/runs").unlink()
    code, _, err = cli("wf.yaml", "-k", "-j", "2", "--only", "make", "--force", "make")
    assert code == 0, err
    assert [r["status"] for r in records(flow)] == ["completed"]


def test_a_tool_that_hangs_or_is_missing_gets_no_version(
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.running.toolversions import ask_versions

    tag = f"30.{uuid.uuid4().int % 10**6}"
    fake_tool(work, "salmon", f"sleep {tag}; echo late")
    monkeypatch.setenv("PATH", f"{work / 'bin'}{os.pathsep}/usr/bin:/bin")
    found = ask_versions({"salmon": ["quant"], "STAR": ["align"]}, timeout=0.5)
    assert found["salmon"]["version"] is None and "no answer in 0.5 s" in found["salmon"]["error"]
    left = [p for p in psutil.process_iter(["cmdline"]) if tag in (p.info["cmdline"] or [])]
    assert left == []  # the tool's children went with it
    assert found["STAR"] == {"path": None, "version": None, "error": "not found on PATH",
                             "steps": ["align"]}


def test_the_summary_and_the_record_name_one_critical_path_counting_failed_attempts(
        work: Path) -> None:
    """``slow`` fails once after 0.6 s and then passes at once; ``steady`` takes 0.3 s. What
    bounded the run was ``slow``'s two attempts, so both the end summary and the record name
    it (weighing only its last attempt would name ``steady``)."""
    write_flow(work, spec_yaml(
        "crit",
        shell("slow", "if [ ! -f tried ]; then touch tried; sleep 0.6; exit 1; fi; "
                      "echo ok > {{ outputs.o }}", outputs={"o": "slow.txt"}, retries=1),
        shell("steady", "sleep 0.3; echo ok > {{ outputs.o }}", outputs={"o": "steady.txt"})))
    result = run()
    assert result.ok and result.outcomes["slow"].attempt == 2
    [record] = records(work)
    assert result.critical_path == ("slow",) and result.time_spent["slow"] >= 0.6
    assert record["critical_path"]["instances"] == ["slow"]
    assert record["critical_path"]["seconds"] >= 0.6
    [line] = [t for t in summary(result, load("wf.yaml")).splitlines()
              if t.startswith("critical path")]
    assert line.startswith("critical path 0.6 s: slow 0.6 s")
