"""Property tests: random DAG specs plan into a correct DAG; random junk never crashes the CLI.

Hypothesis runs derandomized and without its example database, so runs are reproducible and
nothing is written into the checkout. Function-scoped fixtures don't mix with @given, so each
example makes its own temporary directory.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from engine.cli.main import main
from engine.plan.workflow import load

# Hypothesis keeps caches in ./.hypothesis even without an example database: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mi-run-tests-hypothesis")

ITEMS = ["a", "b", "c"]
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh temporary directory as the current directory, for one example."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="mi-prop-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


# random DAG specs --------------------------------------------------------------------------

@dataclass
class StepModel:
    name: str
    items: list[str] | None  # None: no fan-out
    ref_inputs: list[int] = field(default_factory=list)  # steps read via steps.X.outputs.out
    path_inputs: list[tuple[int, str | None]] = field(default_factory=list)  # literal paths
    after: list[int] = field(default_factory=list)
    run_refs: list[int] = field(default_factory=list)  # steps.X referenced in run:

    def instance_ids(self) -> list[str]:
        return [self.name] if self.items is None else [f"{self.name}[{i}]" for i in self.items]


def out_path(step: StepModel, item: str | None) -> str:
    return f"{step.name}/{item if item is not None else 'out'}.txt"


@st.composite
def dag_models(draw: st.DrawFn) -> list[StepModel]:
    count = draw(st.integers(min_value=1, max_value=7))
    steps: list[StepModel] = []
    for i in range(count):
        size = draw(st.integers(min_value=0, max_value=3))
        step = StepModel(name=f"s{i}", items=None if size == 0 else ITEMS[:size])
        earlier = list(range(i))
        if earlier:
            pick = st.lists(st.sampled_from(earlier), unique=True, max_size=3)
            step.ref_inputs = draw(pick)
            step.after = draw(pick)
            step.run_refs = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=1))
            for j in draw(pick):
                source = steps[j]
                item = None if source.items is None else draw(st.sampled_from(source.items))
                step.path_inputs.append((j, item))
        steps.append(step)
    return steps


def spec_of(steps: list[StepModel], order: list[int]) -> dict[str, Any]:
    written = []
    for i in order:
        step = steps[i]
        entry: dict[str, Any] = {"name": step.name}
        if step.items is not None:
            entry["foreach"] = list(step.items)
        item = "{{ item }}" if step.items is not None else "out"
        entry["outputs"] = {"out": f"{step.name}/{item}.txt"}
        inputs: dict[str, Any] = {}
        for j in step.ref_inputs:
            inputs[f"r{j}"] = f"{{{{ steps.s{j}.outputs.out }}}}"
        for n, (j, source_item) in enumerate(step.path_inputs):
            inputs[f"p{n}"] = out_path(steps[j], source_item)
        if inputs:
            entry["inputs"] = inputs
        if step.after:
            entry["after"] = [f"s{j}" for j in step.after]
        refs = " ".join(f"{{{{ steps.s{j}.outputs.out }}}}" for j in step.run_refs)
        entry["run"] = f"echo {refs} > {{{{ outputs.out }}}}"
        written.append(entry)
    return {"name": "random-dag", "steps": written}


def expected_deps(steps: list[StepModel], step: StepModel, item: str | None) -> set[str]:
    deps: set[str] = set()
    for j in [*step.ref_inputs, *step.after, *step.run_refs]:
        deps |= set(steps[j].instance_ids())
    for j, source_item in step.path_inputs:
        source = steps[j]
        deps.add(source.name if source_item is None else f"{source.name}[{source_item}]")
    return deps


@FAST
@given(steps=dag_models(), data=st.data())
def test_random_dags_plan_correctly(steps: list[StepModel], data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(steps))), label="order in the file")
    with scratch_dir() as tmp:
        spec = tmp / "spec.yaml"
        spec.write_text(yaml.safe_dump(spec_of(steps, order), sort_keys=False))
        plan = load(spec, environ={}).plan()
        assert sorted(p.name for p in tmp.iterdir()) == ["spec.yaml"]  # planning writes nothing

    ids = list(plan.instances)
    assert len(ids) == len(set(ids))
    assert len(ids) == sum(1 if s.items is None else len(s.items) for s in steps)
    assert set(ids) == {i for s in steps for i in s.instance_ids()}
    assert not plan.pending and not plan.disabled
    assert plan.graph.topological_order() is not None and plan.graph.find_cycle() is None

    position = {node: n for n, node in enumerate(ids)}
    for step in steps:
        items: list[str | None] = list(step.items) if step.items is not None else [None]
        for item in items:
            node = step.name if item is None else f"{step.name}[{item}]"
            deps = set(plan.depends_on(node))
            assert deps == expected_deps(steps, step, item), node
            assert all(position[d] < position[node] for d in deps)
            instance = plan.instances[node]
            assert instance.outputs == {"out": out_path(step, item)}
            for j in step.ref_inputs:
                source = steps[j]
                want = (out_path(source, None) if source.items is None
                        else tuple(out_path(source, x) for x in source.items))
                assert instance.inputs[f"r{j}"] == want


@FAST
@given(steps=dag_models())
def test_a_back_reference_makes_a_cycle(steps: list[StepModel]) -> None:
    """Adding an input from the first step to a later step that depends on it is a cycle."""
    last = len(steps) - 1
    reaches_first = last > 0 and 0 in _ancestors(steps, last)
    last_items = steps[last].items
    steps[0].path_inputs.append((last, None if last_items is None else last_items[0]))
    from engine.errors import SpecError

    with scratch_dir() as tmp:
        spec = tmp / "spec.yaml"
        spec.write_text(yaml.safe_dump(spec_of(steps, list(range(len(steps)))), sort_keys=False))
        try:
            load(spec, environ={}).plan()
        except SpecError as exc:
            messages = " ".join(d.message for d in exc.diagnostics)
            assert reaches_first or last == 0, messages
            assert ("cycle" in messages) or ("reads its own output" in messages)
        else:
            assert not reaches_first and last != 0


def _ancestors(steps: list[StepModel], index: int) -> set[int]:
    step = steps[index]
    direct = {*step.ref_inputs, *step.after, *step.run_refs, *(j for j, _ in step.path_inputs)}
    found = set(direct)
    for j in direct:
        found |= _ancestors(steps, j)
    return found


# junk never crashes the CLI ----------------------------------------------------------------

def run_cli(text: str) -> int:
    """engine.cli.main on ``text`` as a spec file in a scratch directory; exit code."""
    with scratch_dir() as tmp:
        spec = tmp / "junk.yaml"
        spec.write_text(text, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(spec), "--dry-run"])
        assert code in (0, 2), err.getvalue()
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert "error" in err.getvalue()
        assert sorted(p.name for p in tmp.iterdir()) == ["junk.yaml"]
        return code


scalars = (st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False)
           | st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@FAST
@given(json_values)
def test_random_values_dumped_as_yaml_never_crash(value: Any) -> None:
    run_cli(yaml.safe_dump(value))


@FAST
@given(st.lists(st.sampled_from([*"abc:-[]{}'\"\t\n #&*!|>%@`,?", "steps", "name", "  ", "- ",
                                 "{{", "}}", "run: ", "\n  - name: a\n"]),
                max_size=40).map("".join) | st.text(max_size=80))
def test_random_text_never_crashes(text: str) -> None:
    run_cli(text)


# spec-shaped junk: right keys, random values, so the later stages are reached too
KEYS = ["name", "run", "uses", "foreach", "inputs", "outputs", "params", "enabled", "after",
        "threads", "resources", "retries", "timeout", "description"]
WORDS = ["a", "b", "s0", "s1", "core.concat", "core.nothing", "x.txt", "true", "no", "3", "",
         "{{ item }}", "{{ steps.s0.outputs.x }}", "{{ steps.s1.outputs }}", "{{ nope }}",
         "{{ item.x }}", "{{ index + 1 }}", "{{ out }}/{{ item }}", "{{ [1, 2] }}",
         "{{ {'a': 1} }}", "{{ spec_dir }}", "{% if true %}y{% endif %}"]
words = st.sampled_from(WORDS)
leaf = words | st.integers(-2, 4) | st.booleans() | st.none()
small = st.recursive(leaf, lambda c: st.lists(c, max_size=3)
                     | st.dictionaries(st.sampled_from(["x", "y", "header", "table", "column",
                                                        "key", "where"]), c, max_size=3),
                     max_leaves=8)
loose_steps = st.dictionaries(st.sampled_from(KEYS), small, max_size=6).map(
    lambda d: {"name": "s0", **d})
paths = st.dictionaries(st.sampled_from(["x", "y"]), words | st.lists(words, max_size=2),
                        max_size=2)
typed_steps = st.fixed_dictionaries(  # schema-valid, so expansion and planning are reached
    {"name": st.sampled_from(["s0", "s1", "s2"])},
    optional={"run": words, "foreach": st.lists(words | st.integers(0, 3), max_size=3) | words,
              "outputs": paths, "inputs": paths, "enabled": st.booleans() | words,
              "after": st.lists(st.sampled_from(["s0", "s1", "s2", "zz"]), max_size=2),
              "threads": st.integers(1, 3) | words, "params": st.dictionaries(
                  st.sampled_from(["header", "x"]), leaf, max_size=2)},
).map(lambda d: d if "run" in d else {**d, "uses": "core.concat"})
specs = st.fixed_dictionaries(
    {"name": st.just("w") | st.sampled_from(["", "bad name", "ok"]),
     "steps": st.lists(typed_steps, min_size=1, max_size=3)
     | st.lists(typed_steps | loose_steps, min_size=1, max_size=3)},
    optional={"config": st.dictionaries(st.sampled_from(["out", "a", "b", "steps"]), small,
                                        max_size=3)})


@settings(FAST, max_examples=150)
@given(specs)
def test_spec_shaped_junk_never_crashes(spec: dict[str, Any]) -> None:
    run_cli(yaml.safe_dump(spec, sort_keys=False))
