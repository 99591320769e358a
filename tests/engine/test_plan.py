"""Stage 5, plan: the DAG of instances, dependency kinds, and every plan-time check."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.plan.graph import Dag, order_groups
from engine.plan.plan import MAX_REPEATS, group_ids
from engine.render.dryrun import plan_json
from tests.helpers.planning import write

CHAIN = """\
name: chain
steps:
  - name: make
    foreach: [a, b]
    run: echo {{ item }} > {{ outputs.x }}
    outputs: {x: "out/{{ item }}.txt"}
  - name: by_path
    run: cat out/a.txt
    inputs: {x: out/a.txt}
  - name: by_ref
    run: cat {{ steps.make.outputs.x }}
  - name: by_after
    run: echo
    after: [by_path]
  - name: via_dotdot
    run: cat ./out/../out/b.txt
    inputs: {x: ./out/../out/b.txt}
"""


def test_dependency_kinds(plan_of) -> None:
    plan = plan_of(CHAIN)
    edges = set(plan.graph.edges())
    assert ("make[a]", "by_path", "file") in edges
    assert ("make[b]", "by_path", "file") not in edges  # a file dependency is per instance
    assert {("make[a]", "by_ref", "ref"), ("make[b]", "by_ref", "ref")} <= edges
    assert ("by_path", "by_after", "after") in edges
    assert ("make[b]", "via_dotdot", "file") in edges  # paths are compared normalised


def test_instances_come_in_topological_order(plan_of) -> None:
    plan = plan_of(CHAIN)
    position = {node: i for i, node in enumerate(plan.instances)}
    for src, dst, _ in plan.graph.edges():
        assert position[src] < position[dst]


def test_absolute_and_relative_paths_match(plan_of, workdir: Path) -> None:
    plan = plan_of(f"""\
    name: abs
    steps:
      - {{name: a, run: "echo", outputs: {{x: data/a.txt}}}}
      - {{name: b, run: "echo", inputs: {{x: "{workdir}/data/a.txt"}}}}
    """)
    assert plan.depends_on("b") == ["a"]


def test_existing_inputs_need_no_producer(plan_of, workdir: Path) -> None:
    write(workdir / "raw" / "reads.fq", "@r\nACGT\n+\nIIII\n")
    plan = plan_of("""\
    name: raw
    steps:
      - {name: a, run: "wc -l raw/reads.fq", inputs: {x: raw/reads.fq}}
    """)
    assert plan.depends_on("a") == []


def test_missing_inputs_are_reported_per_instance_with_a_limit(plan_of) -> None:
    with pytest.raises(SpecError) as info:
        plan_of("""\
        name: many
        steps:
          - name: a
            foreach: [1, 2, 3, 4, 5, 6]
            run: cat {{ inputs.x }}
            inputs: {x: "missing/{{ item }}.txt"}
        """)
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == MAX_REPEATS + 1
    assert messages[0] == "input 'missing/1.txt' of 'a[1]' is not written by any step and does not exist"
    assert messages[-1] == "step 'a': 3 more problems like the above"


def test_duplicate_outputs_across_steps_and_instances(plan_of) -> None:
    with pytest.raises(SpecError) as info:
        plan_of("""\
        name: dup
        steps:
          - {name: a, run: "echo", outputs: {x: same.txt}}
          - {name: b, run: "echo", outputs: {y: ./same.txt}}
          - {name: c, foreach: [p, q], run: "echo", outputs: {z: "c.txt"}}
        """)
    messages = sorted(d.message for d in info.value.diagnostics)
    assert messages == ["instances 'c[p]' and 'c[q]' both write 'c.txt'",
                        "steps 'a' and 'b' both write './same.txt'"]


def test_one_instance_listing_a_path_twice_is_a_duplicate(plan_of) -> None:
    with pytest.raises(SpecError, match=r"both write 'x\.txt'"):
        plan_of("""\
        name: dup
        steps:
          - {name: a, run: "echo", outputs: {x: x.txt, y: [x.txt]}}
        """)


def test_reading_a_disabled_producers_missing_output(plan_of) -> None:
    with pytest.raises(SpecError) as info:
        plan_of("""\
        name: dis
        steps:
          - {name: make, enabled: false, run: "echo", outputs: {x: made.txt}}
          - {name: use, run: "cat made.txt", inputs: {x: made.txt}}
        """)
    (diag,) = info.value.diagnostics
    assert "step 'use' needs 'made.txt' from step 'make', which is disabled" in diag.message
    assert diag.hint == "enable it (--set steps.make.enabled=true) or create the file"


def test_a_disabled_consumer_of_a_missing_file_is_fine(plan_of) -> None:
    plan = plan_of("""\
    name: dis
    steps:
      - {name: use, enabled: false, run: "cat nowhere.txt", inputs: {x: nowhere.txt}}
    """)
    assert plan.disabled == {"use"}


@pytest.mark.parametrize(("steps", "cycle_words"), [
    ("""\
      - {name: a, run: "echo {{ steps.b.outputs.x }}", outputs: {x: a.txt}}
      - {name: b, run: "echo {{ steps.a.outputs.x }}", outputs: {x: b.txt}}
    """, "a -> b -> a"),
    ("""\
      - {name: a, run: "echo", after: [c]}
      - {name: b, run: "echo", after: [a]}
      - {name: c, run: "echo", after: [b]}
    """, "a -> b -> c -> a"),  # edges point from a step to what runs after it
    ("""\
      - {name: a, run: "echo", inputs: {x: b.txt}, outputs: {y: a.txt}}
      - {name: b, run: "echo", inputs: {x: a.txt}, outputs: {y: b.txt}}
    """, "(through files): a -> b -> a"),
    ("""\
      - {name: a, run: "echo", after: [a]}
    """, "a -> a"),
])
def test_cycles(plan_of, steps: str, cycle_words: str) -> None:
    with pytest.raises(SpecError) as info:
        plan_of("name: cyc\nsteps:\n" + steps.replace("      ", "  "))
    (diag,) = info.value.diagnostics
    assert "cycle" in diag.message and cycle_words in diag.message
    assert diag.line in (3, 4, 5)


def test_a_cycle_between_instances_of_different_fan_outs(plan_of) -> None:
    with pytest.raises(SpecError, match=r"cycle \(through files\)"):
        plan_of("""\
        name: cyc
        steps:
          - {name: a, foreach: [1, 2], run: "echo",
             inputs: {x: "b{{ item }}.txt"}, outputs: {y: "a{{ item }}.txt"}}
          - {name: b, foreach: [1, 2], run: "echo",
             inputs: {x: "a{{ item }}.txt"}, outputs: {y: "b{{ item }}.txt"}}
        """)


def test_plan_helpers(plan_of) -> None:
    plan = plan_of(CHAIN)
    assert plan.step_of("make[a]") == "make"
    assert group_ids(["make[a]", "make[b]", "by_ref"]) == {"make": ["make[a]", "make[b]"],
                                                            "by_ref": ["by_ref"]}
    assert plan_json(plan)["workflow"] == "chain"


# the Dag itself ----------------------------------------------------------------------------

def test_dag_topological_order_and_cycle() -> None:
    dag = Dag()
    dag.add_nodes(["a", "b", "c", "d"])
    dag.add_edges([("a", "b", "file"), ("a", "b", "ref"), ("b", "c", "after"), ("a", "c", "file")])
    assert dag.topological_order() == ["a", "d", "b", "c"]
    assert dag.kind("a", "b") == "file"  # the first kind given for an edge wins
    assert dag.kind("b", "c") == "after"
    assert dag.find_cycle() is None
    assert dag.remaining_path_lengths() == {"c": 1.0, "b": 2.0, "a": 3.0, "d": 1.0}
    counts, edges = dag.collapse(lambda n: "x" if n in "ab" else n)
    assert counts == {"x": 2, "c": 1, "d": 1}
    assert edges == {("x", "c", "after"), ("x", "c", "file")}
    dag.add_edges([("c", "a", "file")])
    assert dag.topological_order() is None
    cycle = dag.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_dag_longest_path_is_the_heaviest_chain() -> None:
    """The critical path of a run: instances weighted by their durations (0: did not run)."""
    dag = Dag()
    dag.add_nodes(["up", "fetch", "quant[a]", "quant[b]", "merge", "side"])
    dag.add_edges([("up", "fetch", "file"), ("fetch", "quant[a]", "file"),
                   ("fetch", "quant[b]", "file"), ("quant[a]", "merge", "file"),
                   ("quant[b]", "merge", "file")])
    seconds = {"fetch": 1.0, "quant[a]": 2.0, "quant[b]": 5.0, "merge": 0.5, "side": 6.0}
    assert dag.longest_path(lambda n: seconds.get(n, 0.0)) == [
        "fetch", "quant[b]", "merge"]  # 6.5 s, heavier than 'side' alone; 'up' adds nothing
    seconds["merge"] = 0.0  # not run: the chain stops at the last instance that did
    assert dag.longest_path(lambda n: seconds.get(n, 0.0)) == ["fetch", "quant[b]"]
    seconds["side"] = 9.0
    assert dag.longest_path(lambda n: seconds.get(n, 0.0)) == ["side"]
    assert dag.longest_path(lambda n: 0.0) == []


def test_order_groups_is_stable() -> None:
    assert order_groups(["c", "b", "a"], {"c": {"a"}}) == (["b", "a", "c"], None)
    order, cycle = order_groups(["a", "b"], {"a": {"b"}, "b": {"a"}})
    assert order == [] and cycle is not None and cycle[0] == cycle[-1]
