"""The params of every instance of a fan-out are checked in the dry-run, before anything runs:
expanded fan-outs, disabled ones, and fan-outs over a table an upstream step writes (as far as
their params do not depend on the items). One error per problem, naming how many instances
share it (issue #11)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.refusing import located, refused
from tests.helpers.running import cli, write_spec

UPSTREAM = """
name: params
steps:
  - name: list
    run: "printf 'run\\na\\nb\\n' > {{ outputs.t }}; echo list >> ran.log"
    outputs: {t: runs.tsv}
"""


def test_bad_params_of_some_fanout_instances(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: join
    uses: core.concat
    foreach: [yes, maybe, perhaps, 3, no]
    params: {header: "{{ item }}"}
    inputs: {parts: "{{ steps.list.outputs.t }}"}
    outputs: {out: "joined_{{ index }}.txt"}
""")
    errors = located(refused(work, "wf.yaml"))
    assert errors == [(10, "step 'join' (core.concat): param 'header' must be true/false (in 3 "
                           "of 5 instances: join[maybe] (got a text 'maybe'), join[perhaps] (got "
                           "a text 'perhaps'), join[3] (got a number 3))")]


def test_many_instances_with_one_problem_make_one_error(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: join
    uses: core.concat
    foreach: "{{ range(1000) | list }}"
    params: {header: "{{ 'no' if item < 990 else true }}"}
    inputs: {parts: "{{ steps.list.outputs.t }}"}
    outputs: {out: "joined_{{ item }}.txt"}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [(10, "step 'join' (core.concat): param 'header' must be true/false, "
                                 "got a text 'no' (in 990 of 1000 instances: join[0], join[1], "
                                 "join[2], and 987 more)")]
    assert "1 error found; nothing was run." in err


def test_bad_params_of_a_disabled_fanout(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: join
    uses: core.concat
    enabled: false
    foreach: [1, 2]
    params: {header: "{{ item > 1 }}", hedr: 1}
    inputs: {parts: "{{ steps.list.outputs.t }}"}
    outputs: {out: "joined_{{ item }}.txt"}
""")
    errors = located(refused(work, "wf.yaml"))
    assert errors == [(11, "step 'join' (core.concat): unknown param 'hedr' (in all 2 instances: "
                           "join[1], join[2])")]


def test_a_fanout_over_an_upstream_table_is_checked_before_the_table_exists(
        work: Path) -> None:
    """Only its items are unknown: params that do not depend on them are checked now (the
    upstream step used to run first, and then the run failed)."""
    write_spec(work, UPSTREAM + """
  - name: join
    uses: core.concat
    foreach: {table: "{{ steps.list.outputs.t }}", key: run}
    params: {header: "yes", heder: "{{ item.run }}"}
    threads: many
    inputs: {parts: "{{ steps.list.outputs.t }}"}
    outputs: {out: "joined_{{ item.run }}.txt"}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [
        (10, "step 'join' (core.concat): unknown param 'heder'"),
        (10, "step 'join' (core.concat): param 'header' must be true/false, got a text 'yes'"),
        (11, "step 'join': 'threads' must be a number >= 1, got 'many'"),
    ]
    assert "hint: did you mean 'header'?" in err
    assert not (work / "runs.tsv").exists() and not (work / "ran.log").exists()


def test_params_that_need_the_items_wait_for_them(work: Path) -> None:
    """A pending fan-out whose params are templates of its items plans as before."""
    write_spec(work, UPSTREAM + """
  - name: join
    uses: core.concat
    foreach: {table: "{{ steps.list.outputs.t }}", key: run}
    params: {header: "{{ item.run == 'a' }}"}
    inputs: {parts: "{{ steps.list.outputs.t }}"}
    outputs: {out: "joined_{{ item.run }}.txt"}
""")
    code, _, err = cli("wf.yaml", "-j", "1")
    assert code == 0, err
    assert (work / "joined_a.txt").read_text() == "run\na\nb\n"
