"""The planner's fast paths give exactly what the general paths give.

- compiled plain-lookup templates (``Template.direct``) against the interpreted parts and
  against Jinja2 itself;
- a plan made with them against the same plan with every template on the general path
  (instances, commands, paths, and the problems reported, word for word);
- ``read_column`` against ``read_rows``; ``path_key`` against ``normalize``;
- the positional ``StepInstance`` call against the dataclass's fields.
"""

from __future__ import annotations

import dataclasses
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import SpecError
from engine.model import StepInstance
from engine.plan.fanout import read_column, read_rows
from engine.plan.graph import Dag, EdgeKind
from engine.plan.instances import INSTANCE_FIELDS, normalize
from engine.plan.plan import path_key
from engine.plan.workflow import load
from engine.spec import templates
from engine.spec.templates import Template, TemplateError, Unquoted, _jinja, compile_template

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
NAMES = st.sampled_from(["a", "b", "item", "cfg", "obj", "missing"])
ATTRS = st.sampled_from(["x", "y", "name", "_hidden", "txt"])
LOOKUP = st.builds(lambda root, attrs: ".".join([root, *attrs]), NAMES,
                   st.lists(ATTRS, max_size=2))
LITERAL = st.text(alphabet=st.characters(blacklist_characters="{}%#"), max_size=6)
TEMPLATE = st.lists(st.one_of(LITERAL, LOOKUP.map(lambda d: "{{ " + d + " }}")),
                    max_size=4).map("".join)
SCALAR = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.booleans(),
                   st.floats(allow_nan=False), st.text(max_size=4).map(Unquoted))
VALUE = st.one_of(SCALAR, st.lists(st.text(max_size=5), max_size=3),
                  st.tuples(st.text(max_size=5)))


class Obj:
    """A non-mapping value whose attributes plain lookups read (``obj.name``)."""

    def __init__(self, name: Any) -> None:
        self.name = name
        self._hidden = "no"


@st.composite
def contexts(draw: Any) -> dict[str, Any]:
    nested = st.dictionaries(ATTRS, VALUE, max_size=3)
    ctx = {name: draw(VALUE) for name in ("a", "b", "item") if draw(st.booleans())}
    ctx["cfg"] = draw(st.one_of(nested, st.dictionaries(ATTRS, nested, max_size=2)))
    ctx["obj"] = Obj(draw(SCALAR))
    return ctx


def _outcome(render: Any, ctx: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", render(ctx)
    except TemplateError as exc:
        return "error", str(exc)


@SETTINGS
@given(TEMPLATE, st.booleans(), contexts())
def test_compiled_lookups_equal_the_interpreted_parts(source: str, shell: bool,
                                                      ctx: dict[str, Any]) -> None:
    template = Template(source, shell)
    assert template.direct is not None
    reference = _outcome(template._render, ctx)  # the parts, looked up one by one
    try:
        fast = template.direct(ctx)
    except Exception:  # render then gives the precise error, or the value
        assert _outcome(template.render, ctx) == reference
        return
    assert ("value", fast) == reference
    assert _outcome(template.render, ctx) == reference


JINJA_SAFE = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.booleans())


@SETTINGS
@given(st.lists(st.one_of(LITERAL, st.sampled_from(["{{ a }}", "{{ item }}", "{{ cfg.x }}"])),
                max_size=4).map("".join),
       st.booleans(), JINJA_SAFE, JINJA_SAFE, JINJA_SAFE)
def test_compiled_lookups_equal_jinja2(source: str, shell: bool, a: Any, item: Any,
                                       x: Any) -> None:
    """Where our semantics are Jinja2's (strings, numbers, booleans, None; lists differ on
    purpose: joined by spaces), the compiled lookups render what Jinja2 renders."""
    ctx = {"a": a, "item": item, "cfg": {"x": x}}
    template = Template(source, shell)
    assert template.direct is not None
    if not shell and source.strip().count("{{") == 1 and source.strip().startswith("{{") \
            and source.strip().endswith("}}"):
        return  # one expression alone: the native value, not text
    jinja = _jinja()
    env = jinja.SHELL_ENV if shell else jinja.VALUE_ENV
    assert template.direct(ctx) == env.from_string(source).render(ctx)


ITEM = st.one_of(st.text(alphabet=string.ascii_letters + string.digits + " '\"$;é-_./",
                         min_size=1, max_size=6),
                 st.integers(0, 50), st.fixed_dictionaries({"id": st.text(min_size=1, max_size=3)}))


@SETTINGS
@given(st.lists(ITEM, min_size=1, max_size=6),
       st.sampled_from(["out/{{ item }}.txt", "out/{{ item.id }}.txt", "{{ item }}",
                        "{{ nope }}/x", "out/{{ index }}-{{ item }}"]),
       st.sampled_from(["echo {{ item }} > {{ outputs.txt }}", "cat {{ inputs.src }} {{ item.id }}",
                        "echo {{ outputs.nope }}", "x {{ params.p }} {{ threads }}"]))
def test_a_plan_equals_the_plan_made_on_the_general_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, items: list[Any], output: str,
        command: str) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(json.dumps({"name": "eq", "config": {"items": items}, "steps": [
        {"name": "make", "foreach": "{{ items }}", "run": command, "params": {"p": 1},
         "outputs": {"txt": output}},
        {"name": "use", "foreach": "{{ items }}", "run": "cat {{ inputs.src }}",
         "inputs": {"src": output}, "outputs": {"o": "use/{{ index }}.o"}}]}))

    def plan() -> Any:
        try:
            made = load(spec, environ={}).plan()
        except SpecError as exc:
            return [d.render() for d in exc.diagnostics]
        return [dataclasses.astuple(i) for i in made.instances.values()], sorted(made.graph.edges())

    compile_template.cache_clear()
    fast = plan()
    with monkeypatch.context() as patched:  # no compiled lookups: every template interpreted
        patched.setattr(templates, "_generate", lambda parts, shell: None)
        compile_template.cache_clear()
        general = plan()
    compile_template.cache_clear()
    assert fast == general


@SETTINGS
@given(st.lists(st.text(alphabet="abc", min_size=1, max_size=2), min_size=1, max_size=4),
       st.lists(st.lists(st.text(alphabet="xy\"é ", max_size=3), max_size=5), max_size=6),
       st.booleans(), st.sampled_from(["tsv", "csv"]))
def test_read_column_equals_read_rows(tmp_path: Path, header: list[str], rows: list[list[str]],
                                      comments: bool, ext: str) -> None:
    sep = "," if ext == "csv" else "\t"
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    if comments:
        lines.insert(1, "## a comment line")
    table = tmp_path / f"t.{ext}"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = read_rows(table)
    for column in [*header, "zz"]:
        names, values = read_column(table, column)
        if expected:
            assert names == list(expected[0])
        assert values == [r.get(column, "") for r in expected]


def test_an_empty_table_has_no_columns_and_no_values(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("")
    assert read_column(tmp_path / "t.tsv", "a") == ([], []) and read_rows(tmp_path / "t.tsv") == []


def test_instances_are_built_in_the_order_of_the_dataclass_fields() -> None:
    assert tuple(f.name for f in dataclasses.fields(StepInstance)) == INSTANCE_FIELDS


PATH_PART = st.sampled_from(["a", "b", ".", "..", "", "w", "d", "x.txt"])
PATHS = st.builds(lambda absolute, parts: ("/" if absolute else "") + "/".join(parts),
                  st.booleans(), st.lists(PATH_PART, min_size=1, max_size=5))


@SETTINGS
@given(PATHS, PATHS, st.sampled_from(["/w/d", "/w", "/w/d/x.txt"]))
def test_path_keys_match_exactly_when_the_normalised_paths_do(first: str, second: str,
                                                              work_dir: str) -> None:
    """The plan compares outputs and inputs by path_key, which skips normalising plain
    relative paths; two paths share a key exactly when their normalised forms are equal."""
    same_key = path_key(first, work_dir) == path_key(second, work_dir)
    assert same_key == (normalize(first, work_dir) == normalize(second, work_dir))
    key = path_key(first, work_dir)
    assert (key if key.startswith("/") else f"{work_dir}/{key}") == normalize(first, work_dir)
    # a key is its own key: an input spelled like some output's key is looked up as it is
    assert path_key(key, work_dir) == key


EDGES = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh"),
                           st.sampled_from(["file", "ref", "after"])), max_size=60)


@SETTINGS
@given(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=4), EDGES)
def test_dag_edges_are_those_of_a_plain_reference(nodes: list[str],
                                                  edges: list[tuple[str, str, str]]) -> None:
    """add_edges against the obvious implementation: nodes in order of appearance, each
    edge once with its first kind, predecessors and successors in edge order (a target
    with many predecessors is checked through a set: 60 edges over 8 nodes reach it)."""
    dag = Dag()
    dag.add_nodes(nodes)
    dag.add_edges([(u, v, EdgeKind(k)) for u, v, k in edges])
    order = list(dict.fromkeys([*nodes, *(n for u, v, _ in edges for n in (u, v))]))
    first: dict[tuple[str, str], str] = {}
    for u, v, k in edges:
        first.setdefault((u, v), k)
    assert dag.nodes() == order
    sources = dict.fromkeys(u for u, _ in first)  # in order of their first edge
    assert dag.edges() == [(u, v, first[(u, v)]) for u in sources for v in
                           [v for (x, v) in first if x == u]]
    for node in order:
        assert dag.predecessors(node) == [u for (u, v) in first if v == node]
