"""The scheduling loop: dependency order, exactly-once, critical path first, threads and
resource accounting. Each step records its start and end (``date +%s%N``) in its own file."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.running import completed, run, write_spec

TIMED = ('s=$(date +%s%N); {work}echo "$s $(date +%s%N)" >> times/{name}; '
         'echo {name} >> order.log; echo {name} > {{{{ outputs.o }}}}')


def timed_step(name: str, parents: tuple[str, ...] | list[str] = (), work: str = "", extra: str = "") -> str:
    """A shell step writing out/NAME.txt, reading its parents' outputs (file inference)."""
    command = TIMED.format(name=name, work=f"{work}; " if work else "")
    lines = [f"  - name: {name}", f"    run: '{command}'", f"    outputs: {{o: out/{name}.txt}}"]
    if parents:
        listed = ", ".join(f"out/{p}.txt" for p in parents)
        lines.append(f"    inputs: {{deps: [{listed}]}}")
    if extra:
        lines.append(f"    {extra}")
    return "\n".join(lines)


def write_dag(folder: Path, steps: list[str], name: str = "dag") -> None:
    (folder / "times").mkdir(exist_ok=True)
    write_spec(folder, f"name: {name}\nsteps:\n" + "\n".join(steps) + "\n")


def intervals(folder: Path) -> dict[str, list[tuple[int, int]]]:
    found = {}
    for path in (folder / "times").iterdir():
        found[path.name] = [tuple(map(int, line.split())) for line in path.read_text().splitlines()]
    return found  # type: ignore[return-value]


@st.composite
def dags(draw: st.DrawFn) -> dict[int, list[int]]:
    n = draw(st.integers(min_value=1, max_value=7))
    parents = {}
    for node in range(n):
        earlier = list(range(node))
        parents[node] = sorted(draw(st.sets(st.sampled_from(earlier), max_size=3))) if earlier else []
    return parents


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dag=dags(), jobs=st.integers(min_value=1, max_value=3))
def test_every_step_starts_after_its_dependencies_and_runs_once(dag: dict[int, list[int]],
                                                                jobs: int) -> None:
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            names = {n: f"n{n}" for n in dag}
            write_dag(Path(folder), [timed_step(names[n], [names[p] for p in dag[n]])
                                     for n in reversed(list(dag))])  # declared in any order
            result = run(jobs=jobs)
            assert result.ok
            assert completed(result) == set(names.values())
            times = intervals(Path(folder))
            assert set(times) == set(names.values())
            for node, parents in dag.items():
                assert len(times[names[node]]) == 1  # exactly once
                start = times[names[node]][0][0]
                for parent in parents:
                    assert times[names[parent]][0][1] <= start
            if jobs == 1:  # never two at once
                spans = sorted(span for runs in times.values() for span in runs)
                assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
        finally:
            os.chdir(here)


def test_critical_path_head_runs_first(work: Path) -> None:
    # leaves are declared first, so plan order alone would start them first
    steps = [timed_step(f"leaf{i}") for i in range(3)]
    steps.append(timed_step("c1"))
    steps.append(timed_step("c2", ["c1"]))
    steps.append(timed_step("c3", ["c2"]))
    write_dag(work, steps)
    assert run(jobs=1).ok
    order = (work / "order.log").read_text().split()
    assert order[0] == "c1"
    assert sorted(order) == ["c1", "c2", "c3", "leaf0", "leaf1", "leaf2"]


def test_recorded_durations_weight_the_critical_path(work: Path) -> None:
    # after one run, 'slow' (a single 0.4 s step) outweighs a chain of three instant steps
    steps = [timed_step("a1"), timed_step("a2", ["a1"]), timed_step("a3", ["a2"]),
             timed_step("slow", work="sleep 0.4")]
    write_dag(work, steps)
    assert run(jobs=1).ok
    (work / "order.log").unlink()
    assert run(jobs=1, force_all=True).ok
    assert (work / "order.log").read_text().split()[0] == "slow"


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_step_with_two_threads_never_overlaps_another_on_two_jobs(work: Path) -> None:
    steps = [timed_step(f"small{i}", work="sleep 0.15") for i in range(4)]
    steps.insert(2, timed_step("wide", work="sleep 0.3", extra="threads: 2"))
    write_dag(work, steps)
    assert run(jobs=2).ok
    times = intervals(work)
    wide = times["wide"][0]
    smalls = [times[f"small{i}"][0] for i in range(4)]
    assert not any(overlaps(wide, other) for other in smalls)
    # and the small ones did share the two slots (else the test could not fail)
    assert any(overlaps(a, b) for i, a in enumerate(smalls) for b in smalls[i + 1:])


def test_threads_above_jobs_are_capped_not_deadlocked(work: Path) -> None:
    write_dag(work, [timed_step("greedy", extra="threads: 16")])
    assert completed(run(jobs=2)) == {"greedy"}


def test_resource_limit_serialises_steps_that_do_not_fit_together(work: Path) -> None:
    steps = [timed_step("m1", work="sleep 0.3", extra="resources: {mem_mb: 60}"),
             timed_step("m2", work="sleep 0.3", extra="resources: {mem_mb: 60}"),
             timed_step("m3", work="sleep 0.3", extra="resources: {mem_mb: 30}")]
    write_dag(work, steps)
    assert run(jobs=3, resources=["mem_mb=100"]).ok
    times = intervals(work)
    assert not overlaps(times["m1"][0], times["m2"][0])
    # m3 fits beside either: it ran next to one of them (backfill)
    assert overlaps(times["m3"][0], times["m1"][0]) or overlaps(times["m3"][0], times["m2"][0])


def test_resources_without_a_limit_are_not_enforced(work: Path) -> None:
    steps = [timed_step("m1", work="sleep 0.3", extra="resources: {mem_mb: 60}"),
             timed_step("m2", work="sleep 0.3", extra="resources: {mem_mb: 60}")]
    write_dag(work, steps)
    assert run(jobs=2).ok
    times = intervals(work)
    assert overlaps(times["m1"][0], times["m2"][0])
