"""A param that only a table's rows make invalid is found when the fan-out expands, after the
table's writer ran (issue #13, deferred checks): the run says so instead of "nothing was run",
and the writer's completion is kept (the next run does not redo it)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.running import cli, write_spec

SPEC = """
name: late
steps:
  - name: table
    run: "printf 'id\\\\theader\\\\na\\\\tyes\\\\nb\\\\tmaybe\\\\n' > {{ outputs.t }}; echo x >> ran.log"
    outputs: {t: rows.tsv}
  - name: join
    uses: core.concat
    foreach: {table: "{{ steps.table.outputs.t }}", key: id}
    params: {header: "{{ item.header }}"}
    inputs: {parts: "{{ steps.table.outputs.t }}"}
    outputs: {out: "joined_{{ item.id }}.txt"}
"""


def test_a_param_error_found_after_a_step_ran_says_so_and_keeps_that_step(work: Path) -> None:
    write_spec(work, SPEC)
    code, _, err = cli("wf.yaml", "--dry-run")
    assert code == 0, err  # the rows do not exist yet: nothing to check against
    code, _, err = cli("wf.yaml")
    assert code == 2
    assert "wf.yaml:9:22: error: step 'join' (core.concat): param 'header' must be true/false" \
        in err
    assert "1 error found; table ran first (what completed is kept), nothing after it was run." \
        in err
    assert "nothing was run" not in err.replace("nothing after it was run", "")
    assert (work / "ran.log").read_text() == "x\n"
    code, _, err = cli("wf.yaml")  # the table is up to date: the error comes before any run
    assert code == 2 and "1 error found; nothing was run." in err
    assert (work / "ran.log").read_text() == "x\n"
