"""Peer comparison: the same DAGs for ``mi-run``, GNU make and doit, timed in one run.

Each DAG is rendered the way a user of each engine would write it: a ``foreach`` table fan-out
for mi-run, pattern rules for make, ``yield``-ed sub-tasks for doit. Measured as whole
processes (wall time, median of ``--repeat`` rounds, the engines alternating within a round so
that the machine's drift hits all of them):

- dry-run (plan, decide, print; nothing runs) of a fan-out (N items + a gather) and a chain
  (10 steps per item over N/10 items + a gather) at 1k and 10k, 100k with ``--big``:
  ``mi-run SPEC --dry-run --json``, ``make -n``, ``doit list --all --status``;
- running the N-item fan-out as trivial shell jobs (``echo ITEM > out/ITEM.txt``) with two jobs
  at a time at 1k and 10k, then a no-op rerun of it (everything up to date);
- 0.2 s ``sleep`` DAGs at ``-j 2`` (20 independent, 3 diamonds, a chain of 8 beside 8) with
  their optimal makespan, and mi-run's no-op run of the same spec (its start-up).

doit 0.37 is installed at run time into a benchmark venv (``--doit-venv``, default
``/tmp/mi-peers-venv``) from the package index; it is not a project dependency. Usage::

    python bench/peers.py [--repeat 3] [--sizes 1000,10000] [--big] [--only dry,run,sleep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import (  # bench scripts run as files, not as a package
    MI_RUN,
    chain_beside_leaves,
    diamonds,
    independent,
    optimal_units,
    timed,
    write_dag,
)

BASELINE = "mi-run@base"  # --baseline: another checkout of mi-run, measured in the same rounds

ENGINES: tuple[str, ...] = ("mi-run", "doit", "make")
SLEEP = 0.2


# -- rendering: one DAG, three idioms ----------------------------------------------------------

def _samples(folder: Path, n: int) -> list[str]:
    names = [f"s{i}" for i in range(n)]
    (folder / "samples.tsv").write_text("sample\n" + "".join(f"{s}\n" for s in names))
    (folder / "samples.txt").write_text("".join(f"{s}\n" for s in names))
    return names


GATHER = "find out/{last} -name '*.txt' | sort | xargs cat > all.txt"


def render_mi_run(folder: Path, n: int, chain: bool) -> list[str]:
    """A table fan-out; the gather lists its inputs but finds them on disk (one bash argument
    may not exceed 128 KiB, which 10,000 paths do)."""
    items = n // 10 if chain else n
    _samples(folder, items)
    names = [f"c{k}" for k in range(10)] if chain else ["make"]
    lines = ["name: peers", "steps:"]
    for k, name in enumerate(names):
        lines += [f"  - name: {name}",
                  "    foreach: {table: samples.tsv, column: sample}",
                  '    run: "echo {{ item }} > {{ outputs.txt }}"',
                  f'    outputs: {{txt: "out/{name}/{{{{ item }}}}.txt"}}']
        if k:
            lines.append(f'    inputs: {{prev: "out/{names[k - 1]}/{{{{ item }}}}.txt"}}')
    lines += ["  - name: gather",
              f'    run: "{GATHER.format(last=names[-1])}"',
              f'    inputs: {{parts: "{{{{ steps.{names[-1]}.outputs.txt }}}}"}}',
              "    outputs: {all: all.txt}"]
    (folder / "wf.yaml").write_text("\n".join(lines) + "\n")
    return ["wf.yaml"]


def render_make(folder: Path, n: int, chain: bool, logs: bool = False) -> list[str]:
    """``logs``: each recipe writes its output to a log file of its own, as mi-run's steps do
    (one log per attempt)."""
    items = _samples(folder, n // 10 if chain else n)
    names = [f"c{k}" for k in range(10)] if chain else ["make"]
    last = names[-1]
    text = [f"ITEMS := {' '.join(items)}",
            f"all.txt: $(patsubst %,out/{last}/%.txt,$(ITEMS))",
            "\t" + GATHER.format(last=last)]
    for k, name in enumerate(names):
        prev = f" out/{names[k - 1]}/%.txt" if k else ""
        recipe = f"exec > logs/{name}.$*.log 2>&1; echo $* > $@" if logs else "echo $* > $@"
        text += [f"out/{name}/%.txt:{prev} | out/{name}" + (" logs" if logs else ""),
                 "\t" + recipe, f"out/{name}:", "\tmkdir -p $@"]
    if logs:
        text += ["logs:", "\tmkdir -p $@"]
    (folder / "Makefile").write_text("\n".join(text) + "\n")
    return ["all.txt"]


def render_doit(folder: Path, n: int, chain: bool) -> list[str]:
    _samples(folder, n // 10 if chain else n)
    names = [f"c{k}" for k in range(10)] if chain else ["make"]
    body = ["import os", "ITEMS = open('samples.txt').read().split()",
            "DOIT_CONFIG = {'verbosity': 0}"]
    for k, name in enumerate(names):
        dep = f"'file_dep': [f'out/{names[k - 1]}/{{s}}.txt']," if k else "'uptodate': [True],"
        body += [f"os.makedirs('out/{name}', exist_ok=True)",
                 f"def task_{name}():",
                 "    for s in ITEMS:",
                 f"        yield {{'name': s, 'actions': [f'echo {{s}} > out/{name}/{{s}}.txt'],",
                 f"               'targets': [f'out/{name}/{{s}}.txt'], {dep}}}"]
    body += ["def task_gather():",
             f"    return {{'actions': [{GATHER.format(last=names[-1])!r}],",
             f"            'file_dep': [f'out/{names[-1]}/{{s}}.txt' for s in ITEMS],",
             "            'targets': ['all.txt']}"]
    (folder / "dodo.py").write_text("\n".join(body) + "\n")
    return []


def render_sleep_make(folder: Path, parents: dict[str, list[str]]) -> None:
    text = ["all: " + " ".join(f"out/{n}.txt" for n in parents), "out:", "\tmkdir -p $@"]
    for name, deps in parents.items():
        text += [f"out/{name}.txt: {' '.join(f'out/{d}.txt' for d in deps)} | out",
                 f"\tsleep {SLEEP}; echo {name} > $@"]
    (folder / "Makefile").write_text("\n".join(text) + "\n")


def render_sleep_doit(folder: Path, parents: dict[str, list[str]]) -> None:
    body = ["import os", "os.makedirs('out', exist_ok=True)",
            "DOIT_CONFIG = {'verbosity': 0}", f"PARENTS = {parents!r}", "def task_node():",
            "    for name, deps in PARENTS.items():",
            f"        yield {{'name': name, 'actions': [f'sleep {SLEEP}; echo {{name}} > out/{{name}}.txt'],",
            "               'targets': [f'out/{name}.txt'], 'uptodate': [True],",
            "               'file_dep': [f'out/{d}.txt' for d in deps]}"]
    (folder / "dodo.py").write_text("\n".join(body) + "\n")


# -- commands ----------------------------------------------------------------------------------

def ensure_doit(venv: Path) -> list[str]:
    doit = venv / "bin" / "doit"
    if not doit.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "doit==0.37.0"], check=True)
    return [str(doit)]


def commands(doit: list[str], baseline: Path | None) -> dict[str, dict[str, list[str]]]:
    # The baseline runs the same interpreter with its own tree first on sys.path.
    base = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(baseline)!r}); "
            "sys.argv[0] = 'mi-run'; from engine.cli.main import entry; entry()"]
    return {
        BASELINE: {"dry": [*base, "wf.yaml", "--dry-run", "--json"],
                   "run": [*base, "wf.yaml", "-j", "2"]},
        "mi-run": {"dry": [*MI_RUN, "wf.yaml", "--dry-run", "--json"],
                   "run": [*MI_RUN, "wf.yaml", "-j", "2"]},
        "make": {"dry": ["make", "-n", "all.txt"], "run": ["make", "-s", "-j2", "all.txt"],
                 "sleep": ["make", "-s", "-j2", "all"]},
        "doit": {"dry": [*doit, "list", "--all", "--status"], "run": [*doit, "-n", "2"]},
    }


RENDER: dict[str, Callable[[Path, int, bool], list[str]]] = {
    "mi-run": render_mi_run, BASELINE: render_mi_run, "make": render_make, "doit": render_doit}


def run_ok(argv: Sequence[str], cwd: Path,
           env: dict[str, str] | None = None) -> tuple[float, float]:
    wall, rss, code = timed(argv, cwd, env)
    if code != 0:
        raise SystemExit(f"{argv[0]} failed (exit {code}) in {cwd}")
    return wall, rss


def fresh(engine: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"mi-peers-{engine}-"))


# -- measurements ------------------------------------------------------------------------------

Row = dict[str, tuple[float, float]]  # engine -> (median wall s, peak RSS MB)


def median_rows(rounds: list[dict[str, tuple[float, float]]]) -> Row:
    return {e: (statistics.median(r[e][0] for r in rounds), max(r[e][1] for r in rounds))
            for e in rounds[0]}


# mi-run keeps parsed specs and "valid" verdicts in $XDG_CACHE_HOME/mi-run: the rows are of a
# spec run before (as doit keeps its .doit.db); COLD is mi-run with an empty cache each time,
# the first run after the spec was edited.
COLD = "mi-run(cold)"


def bench_dry(cmds: dict[str, dict[str, list[str]]], n: int, chain: bool, repeat: int) -> Row:
    folders = {}
    for engine in ENGINES:
        folders[engine] = fresh(engine)
        RENDER[engine](folders[engine], n, chain)
    rounds = []
    for _ in range(repeat):
        walls = {e: run_ok(cmds[e]["dry"], folders[e]) for e in ENGINES}
        with tempfile.TemporaryDirectory(prefix="mi-peers-cache-") as empty:
            walls[COLD] = run_ok(cmds["mi-run"]["dry"], folders["mi-run"],
                                 {"XDG_CACHE_HOME": empty})
        rounds.append(walls)
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
    return median_rows(rounds)


# make running its recipes with the shell mi-run gives every ``run:`` step: bash starts about
# twice as slowly as make's default /bin/sh (dash), which bounds mi-run's per-job cost.
MAKE_BASH = "make(bash)"
MAKE_LOGS = "make(bash, logs)"  # and a log file per job, as mi-run writes


def bench_run(cmds: dict[str, dict[str, list[str]]], n: int, repeat: int) -> tuple[Row, Row]:
    """Run the fan-out from nothing, then rerun it with everything up to date."""
    runs, noops = [], []
    cmds[MAKE_BASH] = {"run": [*cmds["make"]["run"], "SHELL=/bin/bash",
                               ".SHELLFLAGS=-euo pipefail -c"]}
    RENDER[MAKE_BASH] = render_make
    cmds[MAKE_LOGS] = cmds[MAKE_BASH]
    RENDER[MAKE_LOGS] = lambda folder, n, chain: render_make(folder, n, chain, logs=True)
    for _ in range(repeat):
        run, noop = {}, {}
        for engine in (*ENGINES, MAKE_BASH, MAKE_LOGS):
            folder = fresh(engine)
            RENDER[engine](folder, n, False)
            run[engine] = run_ok(cmds[engine]["run"], folder)
            if len((folder / "all.txt").read_text().splitlines()) != n:
                raise SystemExit(f"{engine} did not produce {n} lines in {folder}/all.txt")
            noop[engine] = run_ok(cmds[engine]["run"], folder)
            shutil.rmtree(folder, ignore_errors=True)
        runs.append(run)
        noops.append(noop)
    return median_rows(runs), median_rows(noops)


def bench_sleep(cmds: dict[str, dict[str, list[str]]], parents: dict[str, list[str]],
                repeat: int) -> tuple[Row, float]:
    """Wall time of each engine on a sleep DAG; and mi-run's no-op rerun of it."""
    rounds, noop = [], []
    for _ in range(repeat):
        walls = {}
        for engine in ENGINES:
            folder = fresh(engine)
            if engine.startswith("mi-run"):
                write_dag(folder, parents, SLEEP)
                walls[engine] = run_ok(cmds[engine]["run"], folder)
                if engine == "mi-run":
                    noop.append(run_ok(cmds[engine]["run"], folder)[0])
            elif engine == "make":
                render_sleep_make(folder, parents)
                walls[engine] = run_ok(cmds[engine]["sleep"], folder)
            else:
                render_sleep_doit(folder, parents)
                walls[engine] = run_ok(cmds[engine]["run"], folder)
            if len(list((folder / "out").glob("*.txt"))) != len(parents):
                raise SystemExit(f"{engine} did not run every step in {folder}")
            shutil.rmtree(folder, ignore_errors=True)
        rounds.append(walls)
    return median_rows(rounds), statistics.median(noop)


# -- the table ---------------------------------------------------------------------------------

def verdict(row: Row, target: str) -> str:
    """``target`` is 'doit' (mi-run ≤ doit), 'make:X' (≤ X times make) or 'abs:S' (≤ S s)."""
    mine = row["mi-run"][0]
    if target == "doit":
        ok = mine <= row["doit"][0]
    elif target.startswith("make:"):
        ok = mine <= float(target[5:]) * row["make"][0]
    else:
        ok = mine <= float(target[4:])
    return "met" if ok else "NOT met"


def print_row(label: str, row: Row, targets: Sequence[str], extra: str = "") -> None:
    mi, doit, make = (row[e][0] for e in ("mi-run", "doit", "make"))
    checks = ", ".join(f"{t} {verdict(row, t)}" for t in targets)
    base = f" {row[BASELINE][0]:.3f} s ({row[BASELINE][1]:.0f} MB) |" if BASELINE in row else ""
    print(f"| {label} |{base} {mi:.3f} s ({row['mi-run'][1]:.0f} MB) | {doit:.3f} s | {make:.3f} s "
          f"| {mi / doit:.2f} | {mi / make:.2f} | {checks}{extra} |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000", help="dry-run and run sizes")
    parser.add_argument("--big", action="store_true", help="also dry-run 100,000 jobs")
    parser.add_argument("--only", default="dry,run,sleep", help="comma list of: dry,run,sleep")
    parser.add_argument("--doit-venv", type=Path, default=Path("/tmp/mi-peers-venv"))
    parser.add_argument("--baseline", type=Path, help="a checkout of mi-run to compare with "
                        "(e.g. an earlier commit, `git archive`d): an extra column")
    args = parser.parse_args(argv)
    global ENGINES
    if args.baseline:
        ENGINES = (BASELINE, *ENGINES)
    only = set(args.only.split(","))
    sizes = [int(s) for s in args.sizes.split(",")]
    cmds = commands(ensure_doit(args.doit_venv), args.baseline)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"median of {args.repeat}, whole processes; mi-run peak RSS in brackets\n")
    base = f" mi-run ({args.baseline}) |" if args.baseline else ""
    print(f"| measure |{base} mi-run | doit 0.37 | GNU make | mi-run/doit | mi-run/make | target |")
    print("|---|" + "---:|" * (5 + bool(args.baseline)) + "---|")
    if "dry" in only:
        for n in sizes + ([100_000] if args.big else []):
            for chain in (False, True):
                row = bench_dry(cmds, n, chain, args.repeat)
                targets = ["make:2.2", ] if n >= 100_000 else ["doit"]
                mem = f"; peak {'≤' if row['mi-run'][1] <= 600 else '>'} 600 MB" \
                    if n >= 100_000 else ""
                cold = f"; cold cache (first run after an edit) {row[COLD][0]:.3f} s"
                print_row(f"dry-run {n:,} {'chain' if chain else 'fan-out'}", row, targets,
                          mem + cold)
    if "run" in only:
        for n in sizes:
            run, noop = bench_run(cmds, n, args.repeat)
            mem = f"; peak {'≤' if run['mi-run'][1] <= 100 else '>'} 100 MB" if n >= 10_000 else ""
            bash, logged = run[MAKE_BASH][0], run[MAKE_LOGS][0]
            print_row(f"run {n:,} trivial shell jobs, -j 2", run, ["make:1.3"],
                      f"{mem}; make with bash recipes {bash:.3f} s (mi-run/that "
                      f"{run['mi-run'][0] / bash:.2f}), and a log file per job {logged:.3f} s "
                      f"({run['mi-run'][0] / logged:.2f})")
            noop_targets = ["doit", "abs:1.0"] if n >= 10_000 else ["doit"]
            print_row(f"no-op rerun, {n:,} up to date", noop, noop_targets)
    if "sleep" in only:
        shapes = {"20 independent": independent(20), "3 diamonds (1 → 4 → 1)": diamonds(3, 4),
                  "chain of 8 beside 8": chain_beside_leaves(8, 8)}
        for label, parents in shapes.items():
            best = optimal_units(parents) * SLEEP
            row, noop = bench_sleep(cmds, parents, args.repeat)
            net = best / (row["mi-run"][0] - noop)
            print_row(f"{label}, 0.2 s sleeps, -j 2 (optimal {best:.1f} s)", row, ["doit"],
                      f"; no-op alone {noop:.3f} s, net of start-up {net:.3f} of optimal "
                      f"({'met' if net >= 0.97 else 'NOT met'} ≥ 0.97)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
