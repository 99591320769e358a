"""Stage 4, expand: fan-outs (lists, templates, tables with column/key/where), pending dynamic
fan-outs, disabled steps, settings and params of each instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from tests.helpers.planning import write

TABLE = "sample\tcondition\treads\nS1\tcontrol\t10\nS2\ttreated\t20\nS3\tcontrol\t30\n"


def ids(plan) -> list[str]:
    return list(plan.instances)


def test_list_fan_out(plan_of) -> None:
    plan = plan_of("""\
    name: f
    steps:
      - name: count
        foreach: [a, b, 3]
        run: echo {{ item }} {{ index }} > {{ outputs.x }}
        outputs: {x: "out/{{ item }}.txt"}
    """)
    assert ids(plan) == ["count[a]", "count[b]", "count[3]"]
    instance = plan.instances["count[b]"]
    assert (instance.item, instance.index, instance.label) == ("b", 1, "b")
    assert instance.outputs == {"x": "out/b.txt"}
    assert instance.command == "echo b 1 > out/b.txt"
    assert plan.fanned_out == {"count"}


def test_fan_out_over_mappings_names_instances_by_their_values(plan_of) -> None:
    # Issue #10: ids come from values, never positions, so reordering a list renames nothing.
    spec = """\
    name: f
    steps:
      - name: count
        foreach: [{id: x, n: 1}, {id: y, n: 2}]
        run: echo {{ item.id }} {{ item.n }}
    """
    plan = plan_of(spec)
    assert ids(plan) == ["count[x,1]", "count[y,2]"]
    assert plan.instances["count[y,2]"].command == "echo y 2"
    reordered = plan_of(spec.replace("[{id: x, n: 1}, {id: y, n: 2}]", "[{id: y, n: 2}, {id: x, n: 1}]"))
    assert ids(reordered) == ["count[y,2]", "count[x,1]"]
    assert reordered.instances["count[y,2]"].command == "echo y 2"


@pytest.mark.parametrize("foreach", ['"{{ samples }}"', '"{{ samples[1:] + [\'S9\'] }}"',
                                     '"[S2, S3, S9]"', '"{{ config.samples[1:] + [\'S9\'] }}"'])
def test_template_fan_out(plan_of, foreach: str) -> None:
    plan = plan_of(f"""\
    name: f
    config:
      samples: [S1, S2, S3]
    steps:
      - name: count
        foreach: {foreach}
        run: echo {{{{ item }}}}
    """)
    expected = ["S1", "S2", "S3"] if foreach == '"{{ samples }}"' else ["S2", "S3", "S9"]
    assert [i.item for i in plan.instances.values()] == expected


def test_fan_out_from_a_set_override(plan_of) -> None:
    plan = plan_of("""\
    name: f
    config: {samples: [S1]}
    steps:
      - name: count
        foreach: "{{ samples }}"
        run: echo {{ item }}
    """, overrides=["samples=[A, B]"])
    assert ids(plan) == ["count[A]", "count[B]"]


def test_empty_fan_out_has_no_instances(plan_of, cli, spec_file) -> None:
    text = """\
    name: f
    config: {samples: []}
    steps:
      - name: count
        foreach: "{{ samples }}"
        run: echo {{ item }}
    """
    assert ids(plan_of(text)) == []
    code, out, _ = cli(str(spec_file(text)), "--dry-run")
    assert code == 0 and "fan-out has no items" in out


def test_table_column_fan_out(plan_of, workdir: Path) -> None:
    write(workdir / "data" / "samples.tsv", TABLE)
    plan = plan_of("""\
    name: f
    steps:
      - name: count
        foreach: {table: "{{ spec_dir }}/data/samples.tsv", column: sample}
        run: echo {{ item }}
    """)
    assert ids(plan) == ["count[S1]", "count[S2]", "count[S3]"]
    assert plan.instances["count[S2]"].item == "S2"


def test_table_where_filters_rows(plan_of, workdir: Path) -> None:
    write(workdir / "samples.tsv", TABLE)
    plan = plan_of("""\
    name: f
    steps:
      - name: count
        foreach: {table: samples.tsv, column: sample, where: {condition: control}}
        run: echo {{ item }}
      - name: any
        foreach: {table: samples.tsv, column: sample, where: {reads: [10, 30], condition: control}}
        run: echo {{ item }}
    """)
    assert [i for i in ids(plan) if i.startswith("count")] == ["count[S1]", "count[S3]"]
    assert [i for i in ids(plan) if i.startswith("any")] == ["any[S1]", "any[S3]"]


def test_table_key_makes_rows_the_items(plan_of, workdir: Path) -> None:
    write(workdir / "samples.csv", TABLE.replace("\t", ","))
    plan = plan_of("""\
    name: f
    steps:
      - name: quant
        foreach: {table: samples.csv, key: sample}
        run: echo {{ item.sample }} {{ item.condition }} {{ item.reads }}
        outputs: {x: "q/{{ item.sample }}_{{ item.condition }}.txt"}
    """)
    assert ids(plan) == ["quant[S1]", "quant[S2]", "quant[S3]"]
    instance = plan.instances["quant[S2]"]
    assert instance.item == {"sample": "S2", "condition": "treated", "reads": "20"}
    assert instance.command == "echo S2 treated 20"
    assert instance.outputs == {"x": "q/S2_treated.txt"}


def test_table_comment_lines_are_skipped(plan_of, workdir: Path) -> None:
    write(workdir / "t.tsv", "## produced by a tool\nsample\nA\nB\n")
    plan = plan_of("""\
    name: f
    steps:
      - {name: c, foreach: {table: t.tsv, column: sample}, run: "echo {{ item }}"}
    """)
    assert ids(plan) == ["c[A]", "c[B]"]


def test_duplicate_table_keys_are_errors(plan_of, workdir: Path) -> None:
    write(workdir / "t.tsv", "sample\nA\nA\n")
    with pytest.raises(SpecError, match="instance label 'A' twice"):
        plan_of("""\
        name: f
        steps:
          - {name: c, foreach: {table: t.tsv, key: sample}, run: "echo"}
        """)


# pending (dynamic) fan-outs ----------------------------------------------------------------

DYNAMIC = """\
name: dyn
steps:
  - name: list
    run: printf 'sample\\nA\\nB\\n' > {{ outputs.table }}
    outputs: {table: samples.tsv}
  - name: quant
    foreach: {table: "{{ steps.list.outputs.table }}", column: sample}
    run: echo {{ item }} > {{ outputs.x }}
    outputs: {x: "q/{{ item }}.txt"}
  - name: merge
    run: cat {{ inputs.parts }} > {{ outputs.all }}
    inputs: {parts: "{{ steps.quant.outputs.x }}"}
    outputs: {all: all.txt}
  - name: report
    run: wc -l {{ inputs.all }}
    inputs: {all: "{{ steps.merge.outputs.all }}"}
  - name: side
    run: echo side
    after: [list]
"""


def test_a_fan_out_over_an_upstream_table_is_pending(plan_of) -> None:
    plan = plan_of(DYNAMIC)
    assert set(plan.pending) == {"quant[*]", "merge", "report"}
    assert plan.pending["quant[*]"].reason == "expands after list"
    assert plan.pending["merge"].reason == "expands after list, quant"
    assert set(plan.pending["report"].waits_for) == {"list", "quant", "merge"}
    assert ids(plan) == ["list", "side"]
    assert plan.depends_on("quant[*]") == ["list"]
    assert sorted(plan.depends_on("merge")) == ["list", "quant[*]"]
    assert "merge" in plan.depends_on("report")


def test_a_pending_fan_out_expands_when_its_table_is_ready(plan_of, workdir: Path) -> None:
    write(workdir / "samples.tsv", "sample\nA\nB\n")
    plan = plan_of(DYNAMIC, table_ready=lambda step: step == "list")
    assert not plan.pending
    assert ids(plan)[:1] == ["list"]
    assert {"quant[A]", "quant[B]", "merge", "report"} <= set(plan.instances)
    assert plan.instances["merge"].inputs == {"parts": ("q/A.txt", "q/B.txt")}
    assert sorted(plan.depends_on("merge")) == ["quant[A]", "quant[B]"]
    assert plan.depends_on("quant[A]") == ["list"]


def test_the_table_exists_but_its_producer_has_not_run(plan_of, workdir: Path) -> None:
    """An existing (stale) table is not read while its producer is not ready."""
    write(workdir / "samples.tsv", "sample\nOLD\n")
    assert "quant[*]" in plan_of(DYNAMIC).pending


def test_pending_steps_in_the_dry_run(cli, spec_file) -> None:
    code, out, _ = cli(str(spec_file(DYNAMIC)), "--dry-run")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert "pending expansion" in lines["quant[*]"] and "expands after list" in lines["quant[*]"]
    assert "expands after list, quant" in lines["merge"]
    assert "summary: 2 to run, 0 up to date, 0 disabled, 3 pending expansion" in out


# disabled steps ----------------------------------------------------------------------------

DISABLED = """\
name: d
config: {skip_b: true}
steps:
  - name: a
    enabled: false
    run: echo a
  - name: b
    enabled: "{{ not skip_b }}"
    foreach: [x, y]
    run: echo {{ item }}
  - name: c
    enabled: "no"
    run: echo c
  - name: d
    enabled: "{{ skip_b }}"
    run: echo d
"""


def test_disabled_steps_are_planned_with_a_reason(plan_of) -> None:
    plan = plan_of(DISABLED)
    assert plan.disabled == {"a", "b[x]", "b[y]", "c"}
    assert plan.disabled_reasons["a"] == "enabled: false in the spec"
    assert set(plan.disabled_reasons) == {"a", "b", "c"}
    assert [i.id for i in plan.runnable] == ["d"]


def test_disabled_by_set_names_the_argument(plan_of) -> None:
    plan = plan_of(DISABLED, overrides=["steps.d.enabled=false", "skip_b=false"])
    assert plan.disabled == {"a", "c", "d"}
    assert plan.disabled_reasons["d"] == "enabled: false (set --set steps.d.enabled=false)"


def test_disabled_rows_in_the_dry_run_json(cli, spec_file) -> None:
    from tests.helpers.planning import dry_run_json, rows_by_id

    rows = rows_by_id(dry_run_json(cli, spec_file(DISABLED)))
    assert rows["a"]["action"] == "disabled"
    assert rows["a"]["reasons"] == ["enabled: false in the spec"]
    assert rows["b[x]"]["action"] == "disabled" and rows["d"]["action"] == "run"


def test_a_disabled_producer_with_an_existing_file_is_fine(plan_of, workdir: Path) -> None:
    write(workdir / "a.txt", "made earlier\n")
    plan = plan_of("""\
    name: d
    steps:
      - {name: a, enabled: false, run: "echo > a.txt", outputs: {x: a.txt}}
      - {name: b, run: "cat a.txt", inputs: {x: "{{ steps.a.outputs.x }}"}}
    """)
    assert plan.disabled == {"a"} and plan.depends_on("b") == ["a"]


# settings, params and references -----------------------------------------------------------

def test_settings_may_be_templates_per_item(plan_of) -> None:
    plan = plan_of("""\
    name: s
    config: {base: 2}
    steps:
      - name: a
        foreach: [1, 3]
        threads: "{{ base * item }}"
        retries: 1
        timeout: 2.5
        resources: {mem_mb: "{{ 100 * item }}", gpu: 0}
        run: echo {{ threads }} {{ resources.mem_mb }}
    """)
    one, three = plan.instances["a[1]"], plan.instances["a[3]"]
    assert (one.threads, three.threads) == (2, 6)
    assert three.resources == {"mem_mb": 300, "gpu": 0}
    assert (one.retries, one.timeout) == (1, 2.5)
    assert three.command == "echo 6 300"


def test_params_are_rendered_per_item_and_checked(plan_of) -> None:
    plan = plan_of("""\
    name: p
    steps:
      - name: parts
        foreach: [a, b]
        run: echo {{ item }} > {{ outputs.x }}
        outputs: {x: "{{ item }}.txt"}
      - name: join
        uses: core.concat
        foreach: [true, false]
        params: {header: "{{ item }}"}
        inputs: {parts: "{{ steps.parts.outputs.x }}"}
        outputs: {out: "joined_{{ index }}.txt"}
    """)
    # booleans are not used as labels: the index is
    assert plan.instances["join[0]"].params == {"header": True}
    assert plan.instances["join[1]"].params == {"header": False}
    assert plan.instances["join[0]"].inputs == {"parts": ("a.txt", "b.txt")}
    assert plan.instances["join[0]"].uses == "core.concat"
    assert plan.instances["join[0]"].command is None


def test_references_to_fan_outs_are_lists_and_to_single_steps_strings(plan_of, workdir) -> None:
    write(workdir / "extra.txt", "")
    plan = plan_of("""\
    name: r
    steps:
      - name: one
        run: echo > {{ outputs.x }}
        outputs: {x: one.txt, both: [b1.txt, b2.txt]}
      - name: many
        foreach: [a, b]
        run: echo > {{ outputs.x }}
        outputs: {x: "{{ item }}.txt"}
        inputs: {first: "{{ steps.one.outputs.x }}"}
      - name: last
        run: "cat {{ inputs.all }} {{ inputs.both }} {{ steps.one.inputs | length }}"
        inputs:
          all: "{{ steps.many.outputs.x }}"
          both: "{{ steps.one.outputs.both }}"
          mixed: ["{{ steps.one.outputs.x }}", "{{ steps.many.outputs.x }}", extra.txt]
    """)
    last = plan.instances["last"]
    assert last.inputs["all"] == ("a.txt", "b.txt")
    assert last.inputs["both"] == ("b1.txt", "b2.txt")
    assert last.inputs["mixed"] == ("one.txt", "a.txt", "b.txt", "extra.txt")
    assert last.command == "cat a.txt b.txt b1.txt b2.txt 0"
    assert plan.instances["many[a]"].inputs == {"first": "one.txt"}


def test_spec_dir_and_relative_paths(plan_of, workdir: Path) -> None:
    plan = plan_of("""\
    name: r
    steps:
      - {name: a, run: "echo", outputs: {x: "{{ spec_dir }}/a.txt", y: rel/b.txt}}
    """)
    instance = plan.instances["a"]
    assert instance.outputs == {"x": f"{workdir}/a.txt", "y": "rel/b.txt"}
    assert instance.work_dir == str(workdir)


def test_steps_are_expanded_in_reference_order_not_file_order(plan_of) -> None:
    plan = plan_of("""\
    name: o
    steps:
      - name: late
        run: cat {{ inputs.x }}
        inputs: {x: "{{ steps.early.outputs.x }}"}
      - name: early
        run: echo > {{ outputs.x }}
        outputs: {x: early.txt}
    """)
    assert plan.step_order == ("early", "late")
    assert ids(plan) == ["early", "late"]


def test_workflow_plan_is_repeatable(workflow_of) -> None:
    workflow = workflow_of(DYNAMIC)
    first, second = workflow.plan(), workflow.plan()
    assert list(first.instances) == list(second.instances)
    assert set(first.pending) == set(second.pending)


def test_a_filtered_item_at_the_end_of_a_path(plan_of) -> None:
    plan = plan_of("""\
    name: f
    config: {out: results}
    steps:
      - name: count
        foreach: [A, B]
        run: echo {{ item }} > {{ outputs.x }}
        outputs: {x: "{{ out }}/{{ item | lower }}"}
    """)
    assert plan.instances["count[A]"].outputs == {"x": "results/a"}
