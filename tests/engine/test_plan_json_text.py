"""The dry-run JSON writer for big plans (engine.render.planjson) writes exactly the text that
``json.dumps`` of ``plan_json`` (the general path) gives, whatever the plan holds."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model import Action, Reason, RerunReason, StepInstance
from engine.plan.graph import Dag, EdgeKind
from engine.plan.plan import PendingStep, Plan
from engine.render.dryrun import plan_json
from engine.render.planjson import plan_json_text
from engine.running.decide import NEVER_RUN, UP_TO_DATE, Decision

TEXT = st.text(max_size=12)  # any code point: quotes, controls, non-ASCII, surrogates
PATH_VALUE = st.one_of(TEXT, st.tuples(TEXT, TEXT), st.lists(TEXT, max_size=3).map(tuple))
ODD_VALUE = st.one_of(st.integers(), st.none(), st.floats(), st.lists(TEXT, max_size=2),
                      st.lists(st.integers(), min_size=1, max_size=2).map(tuple))
PATHS = st.one_of(
    st.dictionaries(TEXT, PATH_VALUE, max_size=3),
    st.dictionaries(TEXT, st.one_of(PATH_VALUE, ODD_VALUE), max_size=3),
    st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none()), TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=2).map(MappingProxyType),  # not a dict: default=str
)
DECISIONS = st.sampled_from([
    NEVER_RUN, UP_TO_DATE, None, Decision(Action.RUN, (RerunReason(Reason.OUTPUT_MISSING, "a\u00e9\"b"),
                                                       RerunReason(Reason.UPSTREAM_RERAN))),
    Decision(Action.TOUCH, ())])


@st.composite
def plans(draw: Any) -> tuple[Plan, dict[str, Decision] | None]:
    count = draw(st.integers(0, 8))
    ids = draw(st.lists(TEXT, min_size=count, max_size=count, unique=True))
    steps = draw(st.lists(st.sampled_from(["a", "b\u00fc", 'q"s']), min_size=count,
                          max_size=count))
    instances = {}
    for node, step in zip(ids, steps):
        instances[node] = StepInstance(
            id=node, step=step, uses=draw(st.one_of(st.none(), TEXT)),
            command=draw(st.one_of(st.none(), TEXT)), params={},
            inputs=draw(PATHS), outputs=draw(PATHS))
    pending_ids = draw(st.lists(TEXT.filter(lambda t: t not in instances), max_size=2,
                                unique=True))
    pending = {p: PendingStep(p, "late", ("a", "b")) for p in pending_ids}
    graph = Dag()
    nodes = [*instances, *pending]
    graph.add_nodes(nodes)
    if nodes:
        pairs = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)),
                              max_size=6))
        graph.add_edges((u, v, EdgeKind.FILE) for u, v in pairs if u != v)
    disabled = frozenset(draw(st.lists(st.sampled_from(ids), max_size=2)) if ids else [])
    plan = Plan(workflow=draw(TEXT), spec_path="wf.yaml", instances=instances,
                disabled=disabled, disabled_reasons={"a": "off in config"}, pending=pending,
                graph=graph, step_order=("a", "b\u00fc", 'q"s'), fanned_out=frozenset())
    if draw(st.booleans()):
        return plan, None
    chosen = {node: draw(DECISIONS) for node in instances}
    return plan, {node: d for node, d in chosen.items() if d is not None}


def _general(plan: Plan, decisions: dict[str, Decision] | None, accepted: list[Any]) -> str:
    document = plan_json(plan, decisions)
    document["accepted_unused"] = accepted
    return json.dumps(document, separators=(",", ":"), default=str)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(plans(), st.lists(st.fixed_dictionaries({"key": TEXT, "why": TEXT}), max_size=2))
def test_the_fast_writer_gives_what_json_dumps_gives(drawn: Any, accepted: list[Any]) -> None:
    plan, decisions = drawn
    assert plan_json_text(plan, decisions, accepted) == _general(plan, decisions, accepted)


def test_a_big_fan_out_on_the_command_line_is_the_general_text(cli, spec_file,
                                                                 workdir: Path) -> None:
    (workdir / "samples.tsv").write_text("sample\n" + "".join(f"s\u00e9{i}\n" for i in range(250)))
    spec = spec_file("""\
        name: big
        steps:
          - name: make
            foreach: {table: samples.tsv, column: sample}
            run: "echo {{ item }} > {{ outputs.txt }}"
            outputs: {txt: "out/{{ item }}.txt"}
          - name: gather
            uses: core.concat
            inputs: {parts: "{{ steps.make.outputs.txt }}"}
            outputs: {out: all.txt}
        """)
    code, out, err = cli(str(spec), "--dry-run", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert len(document["steps"]) == 251
    assert out == json.dumps(document, separators=(",", ":")) + "\n"  # compact, as before
    gather = document["steps"][-1]
    assert gather["depends_on"] == [f"make[s\u00e9{i}]" for i in range(250)]
    assert gather["inputs"]["parts"] == [f"out/s\u00e9{i}.txt" for i in range(250)]
