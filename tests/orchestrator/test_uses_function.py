"""``uses: package.module:function`` in an ordinary spec: a user's own Python function, called
with params, inputs and outputs as keyword arguments, without writing a step library."""

from __future__ import annotations

import json
from pathlib import Path

from engine.model import Status
from tests.helpers.orchestrated import calls_since
from tests.helpers.running import mi, run, write_spec

H = "tests.helpers.orchestrated"

COUNT = f"""
name: words
steps:
  - name: count
    uses: "{H}:count_words"
    inputs: {{text: data/text.txt}}
    outputs: {{counts: out/count.txt}}
    params: {{min_len: 4}}
  - name: numbers
    uses: "{H}:make_numbers"
    params: {{count: 3, start: 10}}
    outputs: {{result: out/numbers.json}}
  - name: total
    uses: "{H}:total"
    inputs: {{make: .mi/results/words/numbers.result}}
    outputs: {{result: .mi/results/words/total.result}}
    after: [numbers]
  - name: again
    uses: "{H}:make_numbers"
    params: {{count: 2}}
    outputs: {{result: .mi/results/words/numbers.result}}
"""

TEXT = "the quick brown fox jumps over the lazy dog again and again\n"


def test_a_plain_function_reads_inputs_writes_outputs_and_keeps_its_result(
        work: Path) -> None:
    (work / "data").mkdir()
    (work / "data/text.txt").write_text(TEXT)
    write_spec(work, COUNT)
    result = run("wf.yaml")
    assert result.ok, result.failed
    expected = sum(1 for w in TEXT.split() if len(w) >= 4)
    assert expected == 7
    assert (work / "out/count.txt").read_text() == f"{expected}\n"
    assert result.outcomes["count"].output == {"words": expected}  # the seed's result standard
    assert json.loads((work / "out/numbers.json").read_text()) == [10, 11, 12]
    # a '.result' input arrives as the value it holds: again's [1, 2], summed
    assert json.loads((work / ".mi/results/words/total.result").read_text()) == 3
    assert sorted(calls_since(work)) == ["count_words", "make_numbers", "make_numbers", "total"]

    assert set(run("wf.yaml").statuses.values()) == {Status.UP_TO_DATE}
    assert calls_since(work) == []


def test_the_same_spec_runs_in_worker_processes(work: Path) -> None:
    (work / "data").mkdir()
    (work / "data/text.txt").write_text(TEXT)
    write_spec(work, COUNT)
    proc = mi(work, "wf.yaml", extra_env={"MI_TEST_CALLS": str(work / "calls.log")})
    assert proc.returncode == 0, proc.stderr
    assert (work / "out/count.txt").read_text() == "7\n"
    assert json.loads((work / ".mi/results/words/total.result").read_text()) == 3


def test_a_changed_function_reruns_its_step(work: Path) -> None:
    (work / "mylab_steps.py").write_text("def double(x):\n    return 2 * x\n")
    write_spec(work, """
        name: mine
        steps:
          - name: d
            uses: "mylab_steps:double"
            params: {x: 21}
            outputs: {result: out/d.json}
        """)
    env = {"PYTHONPATH": str(work)}
    assert mi(work, "wf.yaml", extra_env=env).returncode == 0
    assert (work / "out/d.json").read_text() == "42\n"
    (work / "mylab_steps.py").write_text("def double(x):\n    return x + x + 1\n")
    proc = mi(work, "wf.yaml", "--dry-run", extra_env=env)
    assert "code changed" in proc.stdout, proc.stdout + proc.stderr


def test_bad_references_are_located(work: Path) -> None:
    write_spec(work, f"""
        name: bad
        steps:
          - name: a
            uses: "{H}:count_words:extra"
        """)
    proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    assert "wf.yaml:4:11: error: step 'a', key 'uses'" in proc.stderr
    assert "your own Python functions like 'mylab.stats:summarise'" in proc.stderr

    write_spec(work, f"""
        name: bad
        steps:
          - name: a
            uses: "{H}:no_such_function"
        """)
    proc = mi(work, "wf.yaml")
    assert proc.returncode == 2
    assert (f"wf.yaml:4:11: error: step 'a': module '{H}' has no attribute "
            "'no_such_function'") in proc.stderr


def test_a_result_that_json_cannot_keep_fails_the_step_clearly(work: Path) -> None:
    write_spec(work, f"""
        name: nojson
        steps:
          - name: t
            uses: "{H}:as_tuple"
            params: {{make: [1, 2]}}
            outputs: {{result: out/t.json}}
        """)
    result = run("wf.yaml")
    [failure] = result.failed
    assert failure.error == "the function's return value (tuple) cannot be kept as JSON in " \
        f"{work}/out/t.json"
    assert failure.hint is not None and ".pickle" in failure.hint
    assert not (work / "out/t.json").exists()
