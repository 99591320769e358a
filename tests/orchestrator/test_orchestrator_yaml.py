"""MetaInformAnt's orchestrator form run by ``mi-run FILE``: result passing, reruns, failures
and its errors (unknown dependencies, cycles, imports), located in the file.

The step functions live in tests/helpers/orchestrated.py; each notes its call in
``calls.log``, so what really ran is seen from outside the engine. Expected values are worked
out here by hand, not taken from an earlier run.
"""

from __future__ import annotations

from pathlib import Path

from engine.callables import read_result
from engine.model import Status
from tests.helpers.orchestrated import calls_since
from tests.helpers.running import cli, mi, run, write_spec

H = "tests.helpers.orchestrated"

NUMBERS = f"""
name: Number crunching
steps:
  make:
    function: "{H}:make_numbers"
    params: {{count: 4}}
  total:
    function: "{H}:total"
    depends_on: [make]
    params: {{scale: 2}}
  describe:
    function: "{H}:describe"
    depends_on: [total, make]
    params: {{label: doubled}}
"""


def results(folder: Path, workflow: str = "Number-crunching") -> dict[str, object]:
    kept = folder / ".mi" / "results" / workflow
    return {p.name.removesuffix(".result"): read_result(p) for p in kept.glob("*.result")}


def test_cli_runs_the_orchestrator_form_passing_results_in_worker_processes(work: Path) -> None:
    write_spec(work, NUMBERS)
    proc = mi(work, "wf.yaml", extra_env={"MI_TEST_CALLS": str(work / "calls.log")})
    assert proc.returncode == 0, proc.stderr
    assert calls_since(work) == ["make_numbers", "total", "describe"]
    numbers = [1, 2, 3, 4]
    doubled = 2 * (1 + 2 + 3 + 4)
    assert results(work) == {
        "make": numbers, "total": doubled,
        "describe": {"label": "doubled", "n": 4, "total": doubled, "mean": doubled / 4}}
    # the kept results are plain JSON, readable without mi-run
    assert (work / ".mi/results/Number-crunching/total.result").read_text() == "20\n"


def test_rerun_does_nothing_and_a_changed_param_reruns_the_step_and_its_dependents(
        work: Path) -> None:
    spec = write_spec(work, NUMBERS)
    first = run(spec)
    assert set(first.statuses.values()) == {Status.COMPLETED}
    assert calls_since(work) == ["make_numbers", "total", "describe"]

    again = run(spec)
    assert set(again.statuses.values()) == {Status.UP_TO_DATE}
    assert calls_since(work) == []

    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    third = run(spec)
    assert third.statuses == {"make": Status.UP_TO_DATE, "total": Status.COMPLETED,
                              "describe": Status.COMPLETED}
    # describe got make's result from the kept file: make did not run again
    assert calls_since(work) == ["total", "describe"]
    assert results(work)["describe"] == {"label": "doubled", "n": 4, "total": 30,
                                         "mean": 7.5}


FAILING = f"""
name: failing
steps:
  make: {{function: "{H}:make_numbers", params: {{count: 2}}}}
  bad: {{function: "{H}:explode", depends_on: [make], params: {{message: no disk}}}}
  child: {{function: "{H}:after_explode", depends_on: [bad]}}
  grandchild: {{function: "{H}:after_explode", depends_on: [child, make]}}
  refuses: {{function: "{H}:seed_failure", depends_on: [make]}}
  refused_child: {{function: "{H}:after_explode", depends_on: [refuses]}}
  alone: {{function: "{H}:independent"}}
  after_alone: {{function: "{H}:total", depends_on: [make]}}
"""


def test_a_failed_step_skips_its_transitive_dependents_and_other_branches_run(
        work: Path) -> None:
    spec = write_spec(work, FAILING)
    result = run(spec, keep_going=True)
    assert result.statuses == {
        "make": Status.COMPLETED, "bad": Status.FAILED, "child": Status.NOT_STARTED,
        "grandchild": Status.NOT_STARTED, "refuses": Status.FAILED,
        "refused_child": Status.NOT_STARTED, "alone": Status.COMPLETED,
        "after_alone": Status.COMPLETED}
    errors = {f.id: f.error for f in result.failed}
    assert errors == {"bad": "ValueError: no disk", "refuses": "the input was empty"}
    assert sorted(calls_since(work)) == sorted(["make_numbers", "explode", "seed_failure",
                                                "independent", "total"])
    assert results(work, "failing") == {"make": [1, 2], "alone": "ALONE", "after_alone": 3}


def test_cli_failure_exits_1_and_names_the_step(work: Path) -> None:
    write_spec(work, FAILING)
    proc = mi(work, "wf.yaml", "-k", "-j", "1")
    assert proc.returncode == 1
    assert "bad: ValueError: no disk" in proc.stdout + proc.stderr


def test_unknown_dependency_is_located_and_worded_as_metainformant_does(work: Path) -> None:
    write_spec(work, NUMBERS.replace("depends_on: [total, make]", "depends_on: [total, mkae]"))
    proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    assert ("wf.yaml:12:25: error: Step 'describe' depends on unknown step 'mkae'\n"
            "        depends_on: [total, mkae]\n"
            "                            ^\n"
            "  hint: did you mean 'make'?") in proc.stderr
    assert not (work / ".mi").exists()


def test_a_cycle_is_located_and_named_as_metainformant_does(work: Path) -> None:
    write_spec(work, NUMBERS.replace('function: "tests.helpers.orchestrated:make_numbers"',
                                     'function: "tests.helpers.orchestrated:make_numbers"\n'
                                     "    depends_on: [describe]"))
    proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    # MetaInformAnt names every step left waiting, sorted; the hint shows the cycle itself
    assert ("wf.yaml:5:17: error: Cycle detected in workflow DAG involving steps: "
            "['describe', 'make', 'total']") in proc.stderr
    assert "hint: make -> total -> describe -> make" in proc.stderr


def test_functions_that_do_not_import_are_located_errors(work: Path) -> None:
    write_spec(work, f"""
        name: imports
        steps:
          a: {{function: "{H}:make_number"}}
          b:
            function: "nosuch.module:run"
          c: {{function: "{H}"}}
          d: {{params: {{x: 1}}}}
          e: {{function: "{H}:NOT_CALLABLE", dependson: [a]}}
        """)
    proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    err = proc.stderr
    # the spec-shape problems come first (nothing is imported while the file is malformed)
    assert "wf.yaml:6:17: error: Function reference must be in 'module.path:function_name' " \
           f"format, got: '{H}'" in err
    assert "wf.yaml:7:3: error: Step 'd' missing 'function' field" in err
    assert "wf.yaml:8:60: error: Step 'e' has unknown key 'dependson'" in err
    assert "hint: did you mean 'depends_on'?" in err

    write_spec(work, f"""
        name: imports
        steps:
          a: {{function: "{H}:make_number"}}
          b:
            function: "nosuch.module:run"
          e: {{function: "{H}:NOT_CALLABLE"}}
        """)
    err = mi(work, "wf.yaml").stderr
    assert (f"wf.yaml:3:17: error: step 'a': module '{H}' has no attribute 'make_number'"
            in err)
    assert f"hint: did you mean '{H}:make_numbers'?" in err
    assert ("wf.yaml:5:15: error: step 'b': cannot import module 'nosuch.module' "
            "(No module named 'nosuch')") in err
    assert "PYTHONPATH" in err
    assert f"wf.yaml:6:17: error: step 'e': '{H}:NOT_CALLABLE' resolved to a non-callable" in err
    assert "3 errors found; nothing was run." in err


def test_the_list_form_with_function_and_a_pickled_result(work: Path) -> None:
    spec = write_spec(work, f"""
        name: listed
        steps:
          - name: make
            function: "{H}:make_numbers"
            params: {{count: 3, start: 5}}
          - name: as_tuple
            function: "{H}:as_tuple"
            depends_on: [make]
          - name: total
            function: "{H}:total"
            depends_on: [make]
            after: [as_tuple]
        """)
    result = run(spec)
    assert result.ok
    assert calls_since(work) == ["make_numbers", "as_tuple", "total"]
    kept = work / ".mi/results/listed/as_tuple.result"
    assert kept.read_bytes()[:1] == b"\x80"  # a tuple does not survive JSON: a pickle
    assert read_result(kept) == (5, 6, 7)
    assert results(work, "listed")["total"] == 18


def test_dry_run_lists_the_steps_with_their_functions(work: Path) -> None:
    write_spec(work, NUMBERS)
    proc = mi(work, "wf.yaml", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    rows = {r["id"]: r for r in json.loads(proc.stdout)["steps"]}
    assert rows["total"]["uses"] == f"{H}:total"
    assert rows["describe"]["depends_on"] == ["make", "total"] or \
        sorted(rows["describe"]["depends_on"]) == ["make", "total"]
    assert not (work / "calls.log").exists()


def test_results_live_in_the_state_directory_given(work: Path) -> None:
    write_spec(work, NUMBERS)
    proc = mi(work, "wf.yaml", "--state-dir", "elsewhere/state")
    assert proc.returncode == 0, proc.stderr
    kept = work / "elsewhere/state/results/Number-crunching"
    assert read_result(kept / "total.result") == 20
    assert not (work / ".mi").exists()
    # engine.run with a state_dir reads them there too: nothing to redo
    again = run("wf.yaml", state_dir="elsewhere/state")
    assert set(again.statuses.values()) == {Status.UP_TO_DATE}
    project = work / "project"
    project.mkdir()
    write_spec(project, NUMBERS)
    outside = work / "state"  # beside the directory mi-run runs in, not under it
    proc = mi(project, "wf.yaml", "--state-dir", str(outside))
    assert proc.returncode == 0, proc.stderr  # an absolute state dir is an allowed output root
    assert read_result(outside / "results/Number-crunching/describe.result")["total"] == 20


def test_a_rerun_step_whose_result_is_unchanged_does_not_rerun_its_dependents(
        work: Path) -> None:
    spec = write_spec(work, NUMBERS)
    run(spec)
    calls_since(work)
    # start: 1 is the default: make's params changed, its result did not
    spec.write_text(spec.read_text().replace("{count: 4}", "{count: 4, start: 1}"))
    result = run(spec)
    assert calls_since(work) == ["make_numbers"]
    assert result.statuses == {"make": Status.COMPLETED, "total": Status.UP_TO_DATE,
                               "describe": Status.UP_TO_DATE}


def test_logs_status_and_report_work_as_for_any_spec(work: Path) -> None:
    write_spec(work, FAILING)
    code, _, _ = cli("wf.yaml", "--backend", "threads", "-k", "-q")
    assert code == 1
    code, log, _ = cli("log", "wf.yaml", "bad")
    assert code == 0
    assert f"[mi-run] uses {H}:explode" in log
    assert "raise ValueError(message)" in log  # the traceback is in the step's log
    code, status, _ = cli("status", "wf.yaml")
    assert code == 0 and "never run" in status.split("child")[1].splitlines()[0]
    code, _, err = cli("report", "wf.yaml", "-o", "report.html")
    assert code == 0, err
    assert "after_alone" in (work / "report.html").read_text()
