"""Planning benchmark: ``mi-run SPEC --dry-run --json > /dev/null`` as a whole process.

Shapes (N step instances):
- ``wide``:  one step fanned out over N samples (a table), plus a gather of all N outputs;
- ``chain``: 10 chained steps per sample over N/10 samples, plus a gather.
Each (shape, N) runs ``--repeat`` times; we report the median wall time and the peak RSS of
the process (``wait4`` rusage). Usage: ``python bench/plan_bench.py [--sizes 1000,10000,100000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MI_RUN = [sys.executable, "-m", "engine.cli"]


def write_wide(folder: Path, n: int) -> Path:
    (folder / "samples.tsv").write_text("sample\n" + "".join(f"s{i}\n" for i in range(n)))
    spec = folder / "wide.yaml"
    spec.write_text("""name: wide
config:
  work_dir: out
steps:
  - name: make
    foreach: {table: "{{ spec_dir }}/samples.tsv", column: sample}
    run: "echo {{ item }} > {{ outputs.txt }}"
    outputs: {txt: "{{ work_dir }}/make/{{ item }}.txt"}
  - name: gather
    run: "cat {{ inputs.parts }} > {{ outputs.all }}"
    inputs: {parts: "{{ steps.make.outputs.txt }}"}
    outputs: {all: "{{ work_dir }}/all.txt"}
""")
    return spec


def write_chain(folder: Path, n: int) -> Path:
    samples = n // 10
    (folder / "samples.tsv").write_text("sample\n" + "".join(f"s{i}\n" for i in range(samples)))
    steps = []
    for k in range(10):
        inputs = f'\n    inputs: {{prev: "{{{{ work_dir }}}}/c{k - 1}/{{{{ item }}}}.txt"}}' if k else ""
        steps.append(f"""  - name: c{k}
    foreach: {{table: "{{{{ spec_dir }}}}/samples.tsv", column: sample}}
    run: "echo {{{{ item }}}} > {{{{ outputs.txt }}}}"{inputs}
    outputs: {{txt: "{{{{ work_dir }}}}/c{k}/{{{{ item }}}}.txt"}}""")
    steps.append("""  - name: gather
    run: "cat {{ inputs.parts }} > {{ outputs.all }}"
    inputs: {parts: "{{ steps.c9.outputs.txt }}"}
    outputs: {all: "{{ work_dir }}/all.txt"}""")
    spec = folder / "chain.yaml"
    spec.write_text("name: chain\nconfig:\n  work_dir: out\nsteps:\n" + "\n".join(steps) + "\n")
    return spec


def measure(spec: Path, cwd: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen([*MI_RUN, str(spec), "--dry-run", "--json"], cwd=cwd, env=env,
                                stdout=devnull)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"mi-run failed on {spec} (status {status})")
    return wall, usage.ru_maxrss / 1024.0


def calibration() -> float:
    """Seconds for a fixed pure-Python loop: shared VMs vary by 2x over a day, so every figure
    is reported beside this."""
    start = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shapes", default="wide,chain")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"calibration: {calibration():.2f} s for sum(range(10**8)) (CPU speed of this run)")
    print(f"{'shape':<6} {'N':>7} {'median s':>9} {'min s':>7} {'peak MB':>8}")
    for shape in args.shapes.split(","):
        for n in [int(s) for s in args.sizes.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                spec = (write_wide if shape == "wide" else write_chain)(folder, n)
                runs = [measure(spec, folder) for _ in range(args.repeat)]
            walls = [w for w, _ in runs]
            peak = max(m for _, m in runs)
            print(f"{shape:<6} {n:>7} {statistics.median(walls):>9.3f} {min(walls):>7.3f} {peak:>8.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
