"""Dask backend benchmark: ``--backend dask`` (LocalCluster, 2 workers) beside ``processes``.

1. sleep DAGs (the three shapes of bench/run_bench.py and bench/peers.py), ``-j 2``, 0.2 s
   ``sleep`` steps: 20 independent (optimal 2.0 s), 3 diamonds 1 -> 4 -> 1 (1.8 s), a chain of
   8 beside 8 independent (1.6 s). Efficiency = optimal / makespan, makespan = first step start
   to last step end of the recorded outcomes. *net wall* = the whole :func:`engine.run` call
   minus starting and stopping the executor (for dask: the LocalCluster).
   Where each round's time goes, medians over the steps of a run:

   * *dispatch*: ``executor.submit`` called -> the worker stamps the attempt's start
     (client -> scheduler -> worker, the worker's thread hand-off, the task's own set-up);
   * *step extra*: recorded step duration minus the 0.2 s sleep (log header, private tmp dir,
     starting ``bash``, ``sleep``'s own start-up, output check, log footer);
   * *report*: the worker stamps the end -> the loop gets the outcome from ``executor.wait``
     (worker -> scheduler -> client -> result fetched -> loop);
   * *loop*: the loop gets an outcome -> its next ``submit`` (the engine's own bookkeeping).

2. throughput (``--steps N``, off by default): N trivial shell steps plus a gather.

Runs in this process through :func:`engine.run`; backends alternate within each repeat so they
see the same machine load; medians of ``--repeat`` runs, each in a fresh temporary directory.
``--engine-root DIR`` measures the engine of another checkout (e.g. a worktree of the starting
commit) with this same script.

Usage: ``python bench/dask_bench.py [--repeat 5] [--steps 0] [--engine-root DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_bench import chain_beside_leaves, diamonds, independent, optimal_units, write_dag  # noqa: E402

SLEEP = 0.2
SHAPES: dict[str, dict[str, list[str]]] = {
    "20 independent": independent(20),
    "3 diamonds 1-4-1": diamonds(3, 4),
    "chain 8 beside 8": chain_beside_leaves(8, 8),
}

WIDE = """name: wide
config:
  n: {n}
steps:
  - name: make
    foreach: "{{{{ range(n) | list }}}}"
    run: "echo {{{{ item }}}} > {{{{ outputs.txt }}}}"
    outputs: {{txt: "out/{{{{ item }}}}.txt"}}
  - name: gather
    run: "cat {{{{ inputs.parts }}}} > {{{{ outputs.all }}}}"
    inputs: {{parts: "{{{{ steps.make.outputs.txt }}}}"}}
    outputs: {{all: out/all.txt}}
"""


class Probe:
    """Timestamps taken by wrapping the executor classes' methods (nothing else changes)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.submitted: dict[str, float] = {}
        self.collected: dict[str, float] = {}
        self.submits: list[float] = []
        self.start_s = self.stop_s = 0.0

    def install(self, cls: type) -> None:
        start, shutdown, submit, wait = cls.start, cls.shutdown, cls.submit, cls.wait
        probe = self

        def timed_start(ex: Any, slots: int) -> None:
            clock = time.perf_counter()
            try:
                start(ex, slots)
            finally:
                probe.start_s += time.perf_counter() - clock

        def timed_shutdown(ex: Any) -> None:
            clock = time.perf_counter()
            try:
                shutdown(ex)
            finally:
                probe.stop_s += time.perf_counter() - clock

        def stamped_submit(ex: Any, instance: Any, attempt: int, log_path: str) -> None:
            now = time.time()
            probe.submitted[instance.id] = now
            probe.submits.append(now)
            submit(ex, instance, attempt, log_path)

        def stamped_wait(ex: Any, timeout: float | None) -> list[Any]:
            outcomes = wait(ex, timeout)
            now = time.time()
            for outcome in outcomes:
                probe.collected[outcome.instance_id] = now
            return outcomes

        cls.start, cls.shutdown = timed_start, timed_shutdown
        cls.submit, cls.wait = stamped_submit, stamped_wait


PROBE = Probe()


def in_fresh_dir(write: Callable[[Path], Path], backend: str) -> tuple[Any, float]:
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            spec = write(Path(tmp))
            PROBE.reset()
            clock = time.perf_counter()
            result = run_engine(str(spec), jobs=2, backend=backend, state_dir=".mi")
            total = time.perf_counter() - clock
        finally:
            os.chdir(old)
    assert result.ok, result.failed[:3]
    return result, total


def sleep_run(parents: dict[str, list[str]], backend: str) -> dict[str, float]:
    result, total = in_fresh_dir(lambda folder: write_dag(folder, parents, SLEEP), backend)
    outcomes = list(result.outcomes.values())
    first = min(o.started for o in outcomes)
    span = max(o.ended for o in outcomes) - first
    dispatch = [o.started - PROBE.submitted[o.instance_id] for o in outcomes]
    report = [PROBE.collected[o.instance_id] - o.ended for o in outcomes]
    collected = sorted(PROBE.collected.values())
    # the loop's own time: from an outcome reaching it to the submit it makes possible
    loop = [s - max(c for c in collected if c <= s) for s in PROBE.submits
            if any(c <= s for c in collected)]
    return {
        "makespan": span,
        "wall": total,
        "net": total - PROBE.start_s - PROBE.stop_s,
        "start": PROBE.start_s,
        "dispatch": statistics.median(dispatch),
        "extra": statistics.median(o.ended - o.started - SLEEP for o in outcomes),
        "report": statistics.median(report),
        "loop": statistics.median(loop) if loop else 0.0,
    }


def throughput_run(n: int, backend: str) -> dict[str, float]:
    result, total = in_fresh_dir(lambda folder: _write(folder / "spec.yaml", WIDE.format(n=n)),
                                 backend)
    outcomes = list(result.outcomes.values())
    return {"loop": result.elapsed, "startup": total - result.elapsed, "n": len(outcomes),
            "mean_step": statistics.fmean(o.duration for o in outcomes)}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def med(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench_sleeps(backends: list[str], repeat: int) -> None:
    print("## sleep DAGs, -j 2, 0.2 s steps (ms columns: medians over steps, then runs)\n")
    print("| shape (optimal) | backend | makespan s | efficiency | net wall s | executor start s "
          "| dispatch ms | step extra ms | report ms | loop ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, parents in SHAPES.items():
        best = optimal_units(parents) * SLEEP
        runs: dict[str, list[dict[str, float]]] = {b: [] for b in backends}
        for _ in range(repeat):  # alternate: both backends see the same load
            for backend in backends:
                runs[backend].append(sleep_run(parents, backend))
        for backend in backends:
            r = runs[backend]
            span = med(r, "makespan")
            print(f"| {label} ({best:.1f} s) | {backend} | {span:.3f} | {best / span:.1%} | "
                  f"{med(r, 'net'):.2f} | {med(r, 'start'):.2f} | {med(r, 'dispatch') * 1e3:.1f} | "
                  f"{med(r, 'extra') * 1e3:.1f} | {med(r, 'report') * 1e3:.1f} | "
                  f"{med(r, 'loop') * 1e3:.1f} |", flush=True)


def bench_throughput(backends: list[str], steps: int, repeat: int) -> None:
    print(f"\n## throughput: {steps} trivial shell steps + gather\n")
    print("| backend | loop s | steps/s | per-step overhead ms | mean step ms | start+stop s |")
    print("|---|---|---|---|---|---|")
    for backend in backends:
        runs = [throughput_run(steps, backend) for _ in range(repeat)]
        loop, n = med(runs, "loop"), int(runs[0]["n"])
        mean_step = med(runs, "mean_step")
        overhead = 2 * loop / n - mean_step
        print(f"| {backend} | {loop:.2f} | {n / loop:.0f} | {overhead * 1000:.1f} | "
              f"{mean_step * 1000:.1f} | {med(runs, 'startup'):.2f} |", flush=True)


def run_engine(*args: Any, **kwargs: Any) -> Any:
    import engine

    return engine.run(*args, **kwargs)


def use_engine(root: Path) -> None:
    """Import the engine from ``root``; LocalCluster workers inherit PYTHONPATH."""
    sys.path.insert(0, str(root))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    from engine.executors.dask import DaskExecutor
    from engine.executors.processes import ProcessesExecutor

    for cls in (DaskExecutor, ProcessesExecutor):
        PROBE.install(cls)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=0, help="throughput steps (0: skip)")
    parser.add_argument("--backends", default="processes,dask")
    parser.add_argument("--engine-root", type=Path, default=HERE.parent)
    args = parser.parse_args()
    use_engine(args.engine_root.resolve())
    import distributed

    backends = args.backends.split(",")
    print(f"# engine {args.engine_root}, {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, distributed {distributed.__version__}, -j 2, median of "
          f"{args.repeat}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    bench_sleeps(backends, args.repeat)
    if args.steps:
        bench_throughput(backends, args.steps, args.repeat)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
