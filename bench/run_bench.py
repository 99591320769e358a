"""Run benchmark: whole-process timings of ``mi-run`` (``python -m engine.cli``) runs.

1. throughput: N trivial shell steps (``echo {{ item }} > {{ outputs.txt }}``, a fan-out over
   a table) plus a gather, ``-j 2``; the same shape with GNU make (``make -j2``) and with
   ``xargs -P 2`` for reference; and N Python-function steps (``core.concat`` of one small file);
2. no-op rerun of the same workflow (everything up to date);
3. parallel efficiency: ``-j 2`` DAGs of 0.2 s ``sleep`` steps with a known optimal makespan
   (computed with the Coffman-Graham algorithm, optimal for unit tasks on two machines);
   achieved makespan = first start to last end recorded in the state store;
4. peak memory: ``ru_maxrss`` of the engine process (``os.wait4``; Linux folds in the largest
   reaped child, i.e. a loky worker) during the N-step run.

Medians of ``--repeat`` runs, each in a fresh temporary directory (the no-op rerun reuses the
finished run's directory). Usage::

    python bench/run_bench.py [--sizes 1000,10000] [--repeat 3] [--skip make,xargs,python,dag]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MI_RUN = [sys.executable, "-m", "engine.cli"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("MI_STATE_DIR", None)
    return env


def timed(argv: Sequence[str], cwd: Path,
          env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall seconds, ru_maxrss MB, exit code) of one process run to completion; ``env``:
    variables set for it on top of the usual ones."""
    clock = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env={**_env(), **(env or {})},
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # drain (the run prints progress) before wait4
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - clock
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return elapsed, usage.ru_maxrss / 1024.0, code


# -- workflows ---------------------------------------------------------------------------------

def write_throughput(folder: Path, n: int) -> Path:
    (folder / "samples.tsv").write_text("sample\n" + "".join(f"s{i}\n" for i in range(n)))
    spec = folder / "wf.yaml"
    # The gather does not list its N inputs on the command line: one bash -c argument may not
    # exceed 128 KiB (MAX_ARG_STRLEN), which 10,000 paths do.
    spec.write_text("""name: throughput
steps:
  - name: make
    foreach: {table: samples.tsv, column: sample}
    run: "echo {{ item }} > {{ outputs.txt }}"
    outputs: {txt: "out/{{ item }}.txt"}
  - name: gather
    run: "find out -name '*.txt' | sort | xargs cat > {{ outputs.all }}"
    inputs: {parts: "{{ steps.make.outputs.txt }}"}
    outputs: {all: all.txt}
""")
    return spec


def write_python_steps(folder: Path, n: int) -> Path:
    (folder / "samples.tsv").write_text("sample\n" + "".join(f"s{i}\n" for i in range(n)))
    (folder / "small.txt").write_text("a small file\n")
    spec = folder / "wf.yaml"
    spec.write_text("""name: pysteps
steps:
  - name: copy
    foreach: {table: samples.tsv, column: sample}
    uses: core.concat
    inputs: {parts: [small.txt]}
    outputs: {out: "out/{{ item }}.txt"}
""")
    return spec


def write_makefile(folder: Path, n: int, bash: bool = False) -> Path:
    names = " ".join(f"out/s{i}.txt" for i in range(n))
    makefile = folder / "Makefile"
    # bash=True: the recipes run under the same shell as mi-run's steps (bash -euo pipefail);
    # make's default /bin/sh is dash, which starts about twice as fast as bash.
    shell = "SHELL := /bin/bash\n.SHELLFLAGS := -euo pipefail -c\n" if bash else ""
    makefile.write_text(shell + f"""FILES := {names}
all.txt: $(FILES)
\tfind out -name '*.txt' | sort | xargs cat > $@
out/%.txt: | out
\techo $* > $@
out:
\tmkdir -p out
""")
    return makefile


def write_dag(folder: Path, parents: dict[str, list[str]], seconds: float) -> Path:
    lines = ["name: dag", "steps:"]
    for name, deps in parents.items():
        lines += [f"  - name: {name}",
                  f'    run: "sleep {seconds}; echo {name} > {{{{ outputs.o }}}}"',
                  f"    outputs: {{o: out/{name}.txt}}"]
        if deps:
            lines.append(f"    after: [{', '.join(deps)}]")
    spec = folder / "wf.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


# -- DAG shapes and their optimum -------------------------------------------------------------

def independent(n: int) -> dict[str, list[str]]:
    return {f"t{i}": [] for i in range(n)}


def diamonds(count: int, width: int) -> dict[str, list[str]]:
    """``count`` independent diamonds: a start, ``width`` parallel steps, an end."""
    parents: dict[str, list[str]] = {}
    for d in range(count):
        parents[f"d{d}_start"] = []
        middle = [f"d{d}_m{k}" for k in range(width)]
        for name in middle:
            parents[name] = [f"d{d}_start"]
        parents[f"d{d}_end"] = middle
    return parents


def chain_beside_leaves(length: int, leaves: int) -> dict[str, list[str]]:
    parents: dict[str, list[str]] = {f"leaf{i}": [] for i in range(leaves)}
    for i in range(length):
        parents[f"c{i}"] = [f"c{i - 1}"] if i else []
    return parents


def optimal_units(parents: dict[str, list[str]], machines: int = 2) -> int:
    """Optimal makespan in unit steps: Coffman-Graham (exact for unit tasks, two machines)."""
    children: dict[str, list[str]] = {n: [] for n in parents}
    for node, deps in parents.items():
        for dep in deps:
            children[dep].append(node)
    label: dict[str, int] = {}
    while len(label) < len(parents):
        candidates = [n for n in parents if n not in label and all(c in label for c in children[n])]
        best = min(candidates, key=lambda n: sorted((label[c] for c in children[n]), reverse=True))
        label[best] = len(label) + 1
    done: set[str] = set()
    units = 0
    while len(done) < len(parents):
        ready = [n for n in parents if n not in done and all(p in done for p in parents[n])]
        ready.sort(key=lambda n: -label[n])
        done.update(ready[:machines])
        units += 1
    return units


def makespan(folder: Path) -> float:
    """First start to last end of the last run, from the state store."""
    db = sqlite3.connect(folder / ".mi" / "state.db")
    try:
        first, last = db.execute("SELECT min(started), max(ended) FROM instances").fetchone()
    finally:
        db.close()
    return float(last - first)


# -- measurements ------------------------------------------------------------------------------

def median_of(repeat: int, one: Callable[[], tuple[float, ...]]) -> tuple[float, ...]:
    runs = [one() for _ in range(repeat)]
    return tuple(statistics.median(values) for values in zip(*runs, strict=True))


def fresh(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def bench_throughput(n: int, repeat: int) -> dict[str, float]:
    keep: list[Path] = []

    def one() -> tuple[float, float]:
        folder = fresh("mi-run-bench-")
        write_throughput(folder, n)
        wall, rss, code = timed([*MI_RUN, "wf.yaml", "-j", "2"], folder)
        assert code == 0, f"run failed in {folder}"
        assert len((folder / "all.txt").read_text().splitlines()) == n
        keep.append(folder)
        return wall, rss

    wall, rss = median_of(repeat, one)
    noop = [timed([*MI_RUN, "wf.yaml", "-j", "2"], keep[-1]) for _ in range(repeat)]
    assert all(code == 0 for *_, code in noop)
    for folder in keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {"run": wall, "rss": rss, "noop": statistics.median(w for w, _, _ in noop)}


def bench_make(n: int, repeat: int, bash: bool = False) -> float | None:
    if shutil.which("make") is None:
        return None

    def one() -> tuple[float]:
        folder = fresh("mi-run-make-")
        write_makefile(folder, n, bash)
        wall, _, code = timed(["make", "-s", "-j2", "all.txt"], folder)
        assert code == 0
        shutil.rmtree(folder, ignore_errors=True)
        return (wall,)

    return median_of(repeat, one)[0]


def bench_xargs(n: int, repeat: int) -> float:
    def one() -> tuple[float]:
        folder = fresh("mi-run-xargs-")
        (folder / "out").mkdir()
        script = (f"seq 0 {n - 1} | xargs -P 2 -I{{}} sh -c 'echo s{{}} > out/s{{}}.txt' && "
                  "find out -name '*.txt' | sort | xargs cat > all.txt")
        wall, _, code = timed(["bash", "-c", script], folder)
        assert code == 0
        shutil.rmtree(folder, ignore_errors=True)
        return (wall,)

    return median_of(repeat, one)[0]


def bench_python_steps(n: int, repeat: int) -> float:
    def one() -> tuple[float]:
        folder = fresh("mi-run-py-")
        write_python_steps(folder, n)
        wall, _, code = timed([*MI_RUN, "wf.yaml", "-j", "2"], folder)
        assert code == 0
        shutil.rmtree(folder, ignore_errors=True)
        return (wall,)

    return median_of(repeat, one)[0]


def bench_dag(parents: dict[str, list[str]], seconds: float, repeat: int) -> tuple[float, float]:
    def one() -> tuple[float, float]:
        folder = fresh("mi-run-dag-")
        write_dag(folder, parents, seconds)
        wall, _, code = timed([*MI_RUN, "wf.yaml", "-j", "2"], folder)
        assert code == 0
        span = makespan(folder)
        shutil.rmtree(folder, ignore_errors=True)
        return span, wall

    return median_of(repeat, one)  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-n", type=int, default=1000,
                        help="number of Python-function steps (core.concat) to time")
    parser.add_argument("--skip", default="", help="comma list of: make,xargs,python,dag")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"median of {args.repeat}")
    print(f"\n{'N':>7} {'mi-run':>9} {'steps/s':>8} {'make(sh)':>9} {'make(bash)':>11} "
          f"{'xargs -P2':>10} {'vs make(bash)':>14} {'no-op':>7} {'peak RSS':>9}")
    nan = float("nan")
    for n in sizes:
        found = bench_throughput(n, args.repeat)
        make = None if "make" in skip else bench_make(n, args.repeat)
        make_bash = None if "make" in skip else bench_make(n, args.repeat, bash=True)
        xargs = None if "xargs" in skip else bench_xargs(n, args.repeat)
        ratio = f"{found['run'] / make_bash:.2f}x" if make_bash else "-"
        print(f"{n:>7} {found['run']:>7.2f} s {n / found['run']:>8.0f} "
              f"{make if make is not None else nan:>7.2f} s "
              f"{make_bash if make_bash is not None else nan:>9.2f} s "
              f"{xargs if xargs is not None else nan:>8.2f} s {ratio:>14} "
              f"{found['noop']:>5.2f} s {found['rss']:>6.0f} MB", flush=True)
    if "python" not in skip:
        n = args.python_n
        python = bench_python_steps(n, args.repeat)
        print(f"\nPython-function steps (core.concat of one small file), -j 2: {n} in "
              f"{python:.2f} s = {n / python:.0f} steps/s", flush=True)
    if "dag" in skip:
        return 0
    step = 0.2
    shapes = {
        "20 independent": independent(20),
        "3 diamonds (1 -> 4 -> 1)": diamonds(3, 4),
        "chain of 8 beside 8": chain_beside_leaves(8, 8),
    }
    print(f"\n{'DAG (-j 2, 0.2 s steps)':<28} {'optimal':>8} {'makespan':>9} {'over':>7} {'wall':>7}")
    for label, parents in shapes.items():
        best = optimal_units(parents) * step
        span, wall = bench_dag(parents, step, args.repeat)
        print(f"{label:<28} {best:>6.2f} s {span:>7.2f} s {100 * (span / best - 1):>6.1f}% "
              f"{wall:>5.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
