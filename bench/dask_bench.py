"""Dask backend benchmark: ``--backend dask`` (LocalCluster, 2 workers) beside ``processes``.

1. throughput: N trivial shell steps (``echo {{ item }} > {{ outputs.txt }}``, a fan-out) plus
   a gather, ``-j 2``: steps/s of the scheduling loop and per-step overhead
   (``2 * loop_time / N - mean step duration``: what each worker slot spends per step outside
   the step itself);
2. sleep-DAG: 20 independent ``sleep 0.2`` steps on ``-j 2``; optimal makespan 2.0 s;
   efficiency = 2.0 / achieved makespan (first start to last end of the recorded outcomes).

Runs in this process through :func:`engine.run` so the loop time (``RunResult.elapsed``, which
excludes starting the executor) and the start-up + shutdown cost of the backend (the rest of
the call) are reported separately. Medians of ``--repeat`` runs, each in a fresh temporary
directory. Usage: ``python bench/dask_bench.py [--steps 1000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
)  # LocalCluster workers inherit it

import engine  # noqa: E402

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

SLEEPS = """name: sleeps
steps:
  - name: nap
    foreach: "{{ range(20) | list }}"
    run: "sleep 0.2; touch {{ outputs.done }}"
    outputs: {done: "naps/{{ item }}"}
"""


def one_run(spec_text: str, backend: str) -> dict[str, Any]:
    """Run a spec in a fresh directory; loop time, total call time, and the outcomes."""
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            Path("spec.yaml").write_text(spec_text)
            clock = time.perf_counter()
            result = engine.run("spec.yaml", jobs=2, backend=backend, state_dir=".mi")
            total = time.perf_counter() - clock
        finally:
            os.chdir(old)
    assert result.ok, result.failed[:3]
    outcomes = list(result.outcomes.values())
    return {
        "loop": result.elapsed,
        "startup": total - result.elapsed,
        "makespan": max(o.ended for o in outcomes) - min(o.started for o in outcomes),
        "mean_step": statistics.fmean(o.duration for o in outcomes),
        "n": len(outcomes),
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="processes,dask")
    args = parser.parse_args()
    backends = args.backends.split(",")
    print(f"# {os.cpu_count()} cores, Python {sys.version.split()[0]}, -j 2, "
          f"median of {args.repeat}\n")
    print(f"## throughput: {args.steps} trivial shell steps + gather\n")
    print("| backend | loop s | steps/s | per-step overhead ms | mean step ms | start+stop s |")
    print("|---|---|---|---|---|---|")
    for backend in backends:
        runs = [one_run(WIDE.format(n=args.steps), backend) for _ in range(args.repeat)]
        loop, n = median_of(runs, "loop"), runs[0]["n"]
        mean_step = median_of(runs, "mean_step")
        overhead = 2 * loop / n - mean_step
        print(f"| {backend} | {loop:.2f} | {n / loop:.0f} | {overhead * 1000:.1f} | "
              f"{mean_step * 1000:.1f} | {median_of(runs, 'startup'):.2f} |", flush=True)
    print("\n## sleep-DAG: 20 x sleep 0.2, independent, 2 workers (optimal 2.0 s)\n")
    print("| backend | makespan s | efficiency | loop s | start+stop s |")
    print("|---|---|---|---|---|")
    for backend in backends:
        runs = [one_run(SLEEPS, backend) for _ in range(args.repeat)]
        makespan = median_of(runs, "makespan")
        print(f"| {backend} | {makespan:.2f} | {2.0 / makespan:.1%} | "
              f"{median_of(runs, 'loop'):.2f} | {median_of(runs, 'startup'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
