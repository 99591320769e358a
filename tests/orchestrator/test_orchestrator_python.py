"""``engine.BaseWorkflowOrchestrator``: MetaInformAnt's Python orchestrator, run by the engine.

What ran is seen from ``calls.log`` (each helper function notes its call); expected results
are worked out here by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

import engine
from engine import BaseWorkflowOrchestrator
from tests.helpers import orchestrated as fns
from tests.helpers.orchestrated import calls_since

H = "tests.helpers.orchestrated"
SEED_KEYS = {"success", "results", "errors", "execution_order", "total_duration"}


def check_shape(result: Mapping[str, Any]) -> None:
    """MetaInformAnt's run_workflow() result: these five keys and their types, nothing else."""
    assert set(result) == SEED_KEYS
    assert isinstance(result["success"], bool)
    assert isinstance(result["results"], dict)
    assert isinstance(result["errors"], list) and all(isinstance(e, str)
                                                      for e in result["errors"])
    assert isinstance(result["execution_order"], list)
    assert isinstance(result["total_duration"], float) and result["total_duration"] >= 0


def numbers_workflow(work: Path, **settings: Any) -> BaseWorkflowOrchestrator:
    wf = BaseWorkflowOrchestrator({"name": "numbers"}, working_dir=work, **settings)
    return (wf.add_step("make", fns.make_numbers, {"count": 4})
              .add_step("total", f"{H}:total", {"scale": 2}, depends_on=["make"])
              .add_step("describe", fns.describe, depends_on=["total", "make"]))


def test_add_step_chain_passes_results_through_worker_processes(work: Path) -> None:
    wf = numbers_workflow(work)  # importable functions: the default processes backend
    assert wf.get_step_status() == dict.fromkeys(["make", "total", "describe"], "pending")
    result = wf.run_workflow()
    check_shape(result)
    assert result["success"] and result["errors"] == []
    assert result["execution_order"] == ["make", "total", "describe"]
    assert result["results"] == {"make": [1, 2, 3, 4], "total": 20,
                                 "describe": {"label": "sum", "n": 4, "total": 20, "mean": 5.0}}
    assert calls_since(work) == ["make_numbers", "total", "describe"]
    assert wf.get_step_status() == dict.fromkeys(["make", "total", "describe"], "completed")
    assert wf.last_run is not None and wf.last_run.ok
    assert (work / ".mi/state.db").exists()  # the engine's own state store


def test_rerun_runs_nothing_and_keeps_the_results_then_a_changed_param_reruns_dependents(
        work: Path) -> None:
    numbers_workflow(work, backend="threads").run_workflow()
    calls_since(work)
    again = numbers_workflow(work, backend="threads").run_workflow()
    assert calls_since(work) == []
    assert again["success"] and again["results"]["describe"]["total"] == 20

    changed = numbers_workflow(work, backend="threads")
    changed.add_step("total", f"{H}:total", {"scale": 10}, depends_on=["make"])
    third = changed.run_workflow()
    assert calls_since(work) == ["total", "describe"]
    assert third["results"]["total"] == 100 and third["results"]["describe"]["mean"] == 25.0


def test_lambdas_and_local_functions_run_in_this_process(work: Path) -> None:
    offset = 7

    def shift(total: int) -> int:
        return total + offset

    wf = BaseWorkflowOrchestrator({"name": "local"}, working_dir=work)
    wf.add_step("make", lambda count: list(range(count)), {"count": 5})
    wf.add_step("total", fns.total, depends_on=["make"])
    wf.add_step("shift", shift, depends_on=["total"])
    result = wf.run_workflow()  # a lambda: the threads backend by default
    assert result["success"], result["errors"]
    assert result["results"] == {"make": [0, 1, 2, 3, 4], "total": 10, "shift": 17}


def test_a_process_backend_refuses_callables_workers_cannot_import(work: Path) -> None:
    wf = BaseWorkflowOrchestrator({"name": "refused"}, working_dir=work, backend="processes")
    wf.add_step("make", fns.make_numbers, {"count": 2}).add_step("l", lambda make: make)
    result = wf.run_workflow()
    check_shape(result)
    assert not result["success"] and result["execution_order"] == []
    [error] = result["errors"]
    assert error.startswith("step 'l': the 'processes' backend runs steps in worker processes")
    assert "backend='threads' or 'serial'" in error
    assert calls_since(work) == [] and not (work / ".mi").exists()


def test_failed_step_skips_transitive_dependents_and_independent_branches_run(
        work: Path) -> None:
    wf = BaseWorkflowOrchestrator({"name": "failing"}, working_dir=work, backend="threads")
    wf.add_step("make", fns.make_numbers, {"count": 3})
    wf.add_step("bad", fns.explode, {"message": "no disk"}, depends_on=["make"])
    wf.add_step("child", fns.after_explode, depends_on=["bad"])
    wf.add_step("grandchild", fns.after_explode, depends_on=["child"])
    wf.add_step("alone", fns.independent, {"word": "fine"})
    wf.add_step("sibling", fns.total, depends_on=["make"])
    result = wf.run_workflow()
    check_shape(result)
    assert result["success"] is False
    assert result["execution_order"] == ["make", "alone", "bad", "sibling", "child",
                                         "grandchild"]
    assert result["errors"] == ["Step 'bad' failed: ValueError: no disk",
                                "Step 'child' skipped due to failed dependency",
                                "Step 'grandchild' skipped due to failed dependency"]
    assert result["results"] == {"make": [1, 2, 3], "alone": "FINE", "sibling": 6}
    assert wf.get_step_status() == {"make": "completed", "bad": "failed", "child": "skipped",
                                    "grandchild": "skipped", "alone": "completed",
                                    "sibling": "completed"}
    assert "after_explode" not in calls_since(work)


def test_unknown_dependencies_and_cycles_come_back_as_metainformant_words_them(
        work: Path) -> None:
    unknown = BaseWorkflowOrchestrator({"name": "u"}, working_dir=work)
    unknown.add_step("a", fns.make_numbers, {"count": 1}, depends_on=["nothere"])
    result = unknown.run_workflow()
    check_shape(result)
    assert result["success"] is False and result["execution_order"] == []
    assert result["errors"] == ["Step 'a' depends on unknown step 'nothere'"]

    cyclic = BaseWorkflowOrchestrator({"name": "c"}, working_dir=work)
    cyclic.add_step("a", fns.total, depends_on=["c"]).add_step("b", fns.total, depends_on=["a"])
    cyclic.add_step("c", fns.total, depends_on=["b"]).add_step("d", fns.total, depends_on=["c"])
    cyclic.add_step("e", fns.independent)
    result = cyclic.run_workflow()
    assert result["errors"] == ["Cycle detected in workflow DAG involving steps: "
                                "['a', 'b', 'c', 'd']"]
    assert result["results"] == {} and calls_since(work) == []
    assert cyclic.get_step_status() == dict.fromkeys("abcde", "pending")


def test_a_function_that_does_not_import_is_an_error_in_the_result(work: Path) -> None:
    wf = BaseWorkflowOrchestrator({"name": "imp"}, working_dir=work)
    wf.add_step("a", "nosuch.module:run").add_step("b", "no_colon_here")
    result = wf.run_workflow()
    assert result["success"] is False
    assert result["errors"] == [
        "Function reference must be in 'module.path:function_name' format, got: "
        "'no_colon_here'"]
    wf.add_step("b", f"{H}:independent")
    assert wf.run_workflow()["errors"] == [
        "step 'a': cannot import module 'nosuch.module' (No module named 'nosuch')"]


def test_metainformant_config_steps_are_loaded_like_its_yaml(work: Path) -> None:
    config = yaml.safe_load(f"""
        name: from config
        steps:
          make: {{function: "{H}:make_numbers", params: {{count: 3}}}}
          total: {{function: "{H}:total", depends_on: [make], params: {{scale: 5}}}}
        """)
    wf = BaseWorkflowOrchestrator(config, working_dir=work, backend="serial")
    wf.add_step("make", fns.make_numbers, {"count": 2})  # added in code: wins, as in the seed
    result = wf.run_workflow()
    assert result["results"] == {"make": [1, 2], "total": 15}
    assert wf.name == "from config"


class Analysis(BaseWorkflowOrchestrator):
    """The guide's subclass pattern: steps listed in order, each run by execute_step."""

    def get_steps(self) -> list[str]:
        return ["validate", "process", "report"]

    def execute_step(self, step_name: str, step_config: Mapping[str, Any]) -> dict[str, Any]:
        fns._note(step_name)
        if step_name == "process" and step_config.get("fail"):
            return {"status": "failed", "errors": ["no input files"], "output": {}}
        return {"status": "completed", "output": {"step": step_name,
                                                  "files": step_config["files"]}}


def test_the_subclass_pattern_runs_its_steps_in_order_and_stops_at_a_failure(
        work: Path) -> None:
    good = Analysis("analysis", work, {"files": 3})  # the guide's (name, work_dir, config)
    result = good.run_workflow()
    check_shape(result)
    assert result["success"] and result["execution_order"] == ["validate", "process", "report"]
    assert result["results"]["report"] == {"status": "completed",
                                           "output": {"step": "report", "files": 3}}
    assert calls_since(work) == ["validate", "process", "report"]

    bad = Analysis("analysis", work, {"files": 3, "fail": True})
    result = bad.run_workflow()
    assert result["errors"] == ["Step 'process' failed: no input files",
                                "Step 'report' skipped due to failed dependency"]
    # the config changed, so validate reran (its step_config is the whole config)
    assert calls_since(work) == ["validate", "process"]
    assert bad.get_step_status() == {"validate": "completed", "process": "failed",
                                     "report": "skipped"}


def test_the_class_is_exported_by_the_engine_package() -> None:
    assert engine.BaseWorkflowOrchestrator is BaseWorkflowOrchestrator
    assert "BaseWorkflowOrchestrator" in engine.__all__


def test_a_config_step_without_function_and_a_single_dependency_name(work: Path) -> None:
    missing = BaseWorkflowOrchestrator({"name": "m", "steps": {"a": {"params": {"x": 1}}}},
                                       working_dir=work)
    assert missing.run_workflow()["errors"] == ["Step 'a' missing 'function' field"]
    single = BaseWorkflowOrchestrator({"name": "s"}, working_dir=work, backend="threads")
    single.add_step("make", fns.make_numbers, {"count": 2})
    single.add_step("total", fns.total, depends_on="make")  # one name, not four letters
    assert single.run_workflow()["results"]["total"] == 3
