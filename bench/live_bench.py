"""Live display overhead: N trivial shell steps, ``-j 2``, with stderr on a terminal.

Three modes, alternated round by round so that machine noise hits them alike:
- ``live``: a pseudo-terminal (``pty``) as stderr, so mi-run draws its rich live display;
- ``lines``: the same pseudo-terminal with ``TERM=dumb``, i.e. one timestamped line per event
  (or a progress line every few seconds for big runs), as in CI or a file;
- ``quiet``: ``-q``, nothing but the final line.
Whole-process wall time, medians of ``--repeat``; each run in a fresh directory. Reported: the
live display's cost as a ratio to ``lines`` and to ``quiet``. Usage::

    python bench/live_bench.py [--sizes 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_bench import write_throughput  # bench/ is on sys.path when this file runs

ROOT = Path(__file__).resolve().parents[1]


def timed_on_pty(argv: list[str], cwd: Path, term: str) -> tuple[float, int]:
    """Wall seconds of ``argv`` with stdout and stderr on a pseudo-terminal we keep reading
    (a terminal that is not read would block the writer)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERM=term, COLUMNS="120", LINES="40")
    env.pop("MI_STATE_DIR", None)
    main, child = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=child,
                            stderr=child, close_fds=True)
    os.close(child)
    received = 0
    while True:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += len(chunk)
        elif proc.poll() is not None:
            break
    code = proc.wait()
    elapsed = time.perf_counter() - start
    os.close(main)
    return elapsed, code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modes = {"live": ("xterm-256color", []), "lines": ("dumb", []), "quiet": ("xterm-256color", ["-q"])}
    for n in [int(s) for s in args.sizes.split(",")]:
        times: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(args.repeat):
            for mode, (term, extra) in modes.items():
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    spec = write_throughput(folder, n)  # the same N steps + gather
                    argv = [sys.executable, "-m", "engine.cli", str(spec), "-j", "2", *extra]
                    elapsed, code = timed_on_pty(argv, folder, term)
                    if code != 0:
                        raise SystemExit(f"{mode}: mi-run exited {code}")
                    times[mode].append(elapsed)
        med = {m: statistics.median(t) for m, t in times.items()}
        print(f"N={n}: " + ", ".join(f"{m} {med[m]:.2f} s ({', '.join(f'{x:.2f}' for x in t)})"
                                     for m, t in times.items()))
        print(f"  live / lines = {med['live'] / med['lines']:.3f}, "
              f"live / quiet = {med['live'] / med['quiet']:.3f}")


if __name__ == "__main__":
    main()
