"""Signals and streams of a real ``mi-run`` process: what its steps inherit, SIGHUP, a closed
stdout/stderr, and what ``status`` / ``--dry-run`` show while a run is live."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.helpers.running import mi, write_spec

STATUS = """
name: sigs
steps:
  - name: probe
    run: |
      grep -E '^Sig(Blk|Ign)' /proc/self/status > {{ outputs.o }}
      st=0; yes | head -1 > /dev/null || st=$?; echo "pipeline $st" >> {{ outputs.o }}
    outputs: {o: out/probe.txt}
"""


def _signals(mask: str) -> set[int]:
    bits = int(mask, 16)
    return {n for n in range(1, 65) if bits & (1 << (n - 1))}


def test_steps_start_with_default_signal_dispositions_and_mask(work: Path) -> None:
    """The default backend posix_spawns bash from the engine: Python's SIG_IGN of SIGPIPE and
    SIGXFSZ and a mask the engine was started with must not reach the step."""
    write_spec(work, STATUS)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})  # the engine inherits it
    try:
        proc = mi(work, "wf.yaml")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(":\t") if ":\t" in line else line.split(" ")
                  for line in (work / "out/probe.txt").read_text().splitlines())
    usable = {int(s) for s in signal.valid_signals()}  # not glibc's own 32 and 33
    assert _signals(fields["SigIgn"]) & usable == set()
    assert _signals(fields["SigBlk"]) & usable == set()
    assert fields["pipeline"] == "141"  # yes killed by SIGPIPE, as from a shell
    assert "Broken pipe" not in (work / ".mi/logs/probe/probe.log").read_text()
