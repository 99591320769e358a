"""Regression tests for the bugs the engine-structure redesign (issue #9) fixed.

- a step killed by a real-time signal (no name in Python's ``signal.Signals``) is a failed
  step, on every backend, not a crash of the scheduling loop;
- the engine's own environment variables (``MI_RUN_TOKEN``, ``MI_DASK_CONNECT_TIMEOUT``, ...)
  never become config values;
- ``engine.run`` called from Python leaves the caller's garbage collector as it was;
- a step asking for more threads than ``-j`` allows is told the number it is charged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine import envvars
from engine.model import Status
from tests.helpers.running import env, mi, write_spec

SIGNAL_SPEC = """
    name: rt
    steps:
      - name: victim
        run: "kill -40 $$"
        outputs: {done: out/victim.txt}
      - name: bystander
        run: "echo ok > {{ outputs.done }}"
        outputs: {done: out/bystander.txt}
"""


@pytest.mark.parametrize("backend", ["processes", "loky", "threads", "serial"])
def test_a_step_killed_by_a_realtime_signal_is_a_failed_step(tmp_path: Path, backend: str) -> None:
    write_spec(tmp_path, SIGNAL_SPEC)
    proc = mi(tmp_path, "wf.yaml", "-j", "2", "-k", "--backend", backend)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output  # a step failed; 70 or a traceback would be a crash
    assert "Traceback" not in output, output
    assert "killed by signal 40" in output, output
    assert (tmp_path / "out" / "bystander.txt").read_text() == "ok\n"


@pytest.mark.parametrize("name", sorted(envvars.RESERVED))
def test_the_engines_own_variables_never_reach_the_config(tmp_path: Path, name: str) -> None:
    spec = write_spec(tmp_path, """
        name: env
        config: {min_score: 1}
        steps:
          - name: a
            run: "echo {{ min_score }} > {{ outputs.x }}"
            outputs: {x: out/a.txt}
    """)
    value = "tcp://127.0.0.1:1" if name == envvars.DASK_SCHEDULER else "5"
    workflow = engine.load(spec, environ={name: value, "MI_MIN_SCORE": "3"})
    config_key = name.removeprefix(envvars.PREFIX).lower()
    assert config_key not in workflow.config.values
    assert workflow.config.values["min_score"] == 3  # other MI_* variables still set config


def test_run_token_and_connect_timeout_are_reserved() -> None:
    assert {"MI_RUN_TOKEN", "MI_DASK_CONNECT_TIMEOUT"} <= envvars.RESERVED


GC_SCRIPT = """
import gc, json, sys
import engine
if sys.argv[1] == "disabled":
    gc.disable()
gc.freeze()
before = [gc.isenabled(), gc.get_freeze_count()]
result = engine.run(sys.argv[2], jobs=2, backend="threads")
after = [gc.isenabled(), gc.get_freeze_count()]
print(json.dumps([before, after, sorted(s.value for s in result.statuses.values())]))
"""


@pytest.mark.parametrize("gc_state", ["enabled", "disabled"])
def test_engine_run_from_python_leaves_the_callers_gc_alone(tmp_path: Path, gc_state: str) -> None:
    spec = write_spec(tmp_path, """
        name: gcwf
        steps:
          - name: a
            run: "echo a > {{ outputs.x }}"
            outputs: {x: out/a.txt}
    """)
    proc = subprocess.run([sys.executable, "-c", GC_SCRIPT, gc_state, str(spec)], cwd=tmp_path,
                          env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (enabled_before, frozen_before), (enabled_after, frozen_after), statuses = json.loads(
        proc.stdout.strip().splitlines()[-1])
    assert statuses == ["completed"]
    assert enabled_before is (gc_state == "enabled")
    assert enabled_after is enabled_before
    # The caller's frozen objects stay frozen (some may be freed meanwhile), and the run
    # froze nothing of its own: a gc.freeze() inside it would add the whole heap (>10,000).
    assert 0 < frozen_after <= frozen_before


@engine.step("regress.report_threads", params={"properties": {}})
def _report_threads(config, *, inputs, outputs, context):  # type: ignore[no-untyped-def]
    outputs["told"].write_text(f"{context.threads}\n")


def test_a_step_is_told_the_threads_it_is_charged(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, """
        name: threads
        steps:
          - name: shell
            threads: 8
            run: "echo {{ threads }} > {{ outputs.told }}"
            outputs: {told: out/shell.txt}
          - name: python
            threads: 8
            uses: regress.report_threads
            outputs: {told: out/python.txt}
    """)
    result = engine.run("wf.yaml", jobs=2, backend="threads")
    assert set(result.statuses.values()) == {Status.COMPLETED}, result
    assert (tmp_path / "out" / "shell.txt").read_text() == "2\n"
    assert (tmp_path / "out" / "python.txt").read_text() == "2\n"
    plan = engine.load("wf.yaml").plan()  # without a run's -j, the spec's number stands
    assert {i.threads for i in plan.instances.values()} == {8}
