"""Signals and streams of a real ``mi-run`` process: what its steps inherit, SIGHUP, a closed
stdout/stderr, and what ``status`` / ``--dry-run`` show while a run is live."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.executors.shell import kill_group
from tests.helpers.executors import group_alive, signals_of, wait_gone
from tests.helpers.running import cli, dry, env, logs_of, mi, mi_popen, wait_for, write_spec

STATUS = """
name: sigs
steps:
  - name: probe
    run: |
      grep -E '^Sig(Blk|Ign)' /proc/self/status > {{ outputs.o }}
      st=0; yes | head -1 > /dev/null || st=$?; echo "pipeline $st" >> {{ outputs.o }}
    outputs: {o: out/probe.txt}
"""


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
    assert signals_of(fields["SigIgn"]) & usable == set()
    assert signals_of(fields["SigBlk"]) & usable == set()
    assert fields["pipeline"] == "141"  # yes killed by SIGPIPE, as from a shell
    [log] = logs_of(work, "probe")
    assert "Broken pipe" not in log.read_text()


HANGUP = """
name: hup
steps:
  - name: long
    run: |
      echo $$ > long.pid; echo partial > {{ outputs.o }}
      if [ ! -f fast.flag ]; then sleep 600; fi; echo whole > {{ outputs.o }}
    outputs: {o: out/long.txt}
"""


def test_sighup_stops_the_run_like_sigterm(work: Path) -> None:
    """An ssh session closed without tmux: the steps die with the engine, their partial
    outputs go, the run exits 130 and the next run redoes them."""
    write_spec(work, HANGUP)
    engine = mi_popen(work, "wf.yaml")
    try:
        wait_for(work / "long.pid", engine)
        pgid = int((work / "long.pid").read_text())
        assert group_alive(pgid) != []
        engine.send_signal(signal.SIGHUP)
        engine.send_signal(signal.SIGHUP)  # a hangup often comes twice: kernel, then shell
        _, err = engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert wait_gone(pgid) == []  # bash and its sleep, in the step's own session
    assert not (work / "out/long.txt").exists()
    assert dry()["long"] == ("run", ["incomplete (interrupted)"])
    (work / "fast.flag").write_text("")
    assert mi(work, "wf.yaml").returncode == 0
    assert (work / "out/long.txt").read_text() == "whole\n"


def test_sighup_ignored_at_start_stays_ignored(work: Path) -> None:
    """``nohup mi-run ...``: the run goes on through a hangup."""
    write_spec(work, HANGUP.replace("sleep 600", "while [ ! -f go.flag ]; do sleep 0.05; done"))
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what nohup does; inherited
    try:
        engine = mi_popen(work, "wf.yaml")
    finally:
        signal.signal(signal.SIGHUP, previous)
    try:
        wait_for(work / "long.pid", engine)
        engine.send_signal(signal.SIGHUP)
        (work / "go.flag").write_text("")
        _, err = engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 0, err
    assert (work / "out/long.txt").read_text() == "whole\n"


CHATTY = """
name: chatty
steps:
  - name: tick
    foreach: [1, 2, 3, 4, 5, 6]
    run: "sleep 0.1; test {{ item }} != BAD; echo {{ item }} > {{ outputs.o }}"
    outputs: {o: "out/{{ item }}.txt"}
"""


@pytest.mark.parametrize(("bad", "code"), [(0, 0), (4, 1)])
def test_a_closed_console_does_not_stop_the_run(work: Path, bad: int, code: int) -> None:
    """``mi-run SPEC |& head -1``: the run goes on, what it would have printed goes to
    .mi/logs/mi-run.log, and the exit status is the run's own (never 0 after a failure)."""
    write_spec(work, CHATTY.replace("BAD", str(bad)))
    engine = mi_popen(work, "wf.yaml", "-j", "1", stderr=subprocess.STDOUT)
    try:
        assert engine.stdout is not None
        first = engine.stdout.readline()
        engine.stdout.close()  # the reader goes away while steps still report progress
        assert engine.wait(timeout=120) == code
    finally:
        if engine.poll() is None:
            engine.kill()
    assert first[9:].startswith("start       tick[1]")  # after the time stamp
    done = [i for i in range(1, 7) if i != bad and (bad == 0 or i < bad)]
    assert sorted(p.name for p in (work / "out").iterdir()) == [f"{i}.txt" for i in done]
    assert all((work / f"out/{i}.txt").read_text() == f"{i}\n" for i in done)
    diverted = (work / ".mi/logs/mi-run.log").read_text()
    assert "stderr was closed" in diverted and "Traceback" not in diverted
    assert "done        tick[3]" in diverted  # progress lines after the first
    if bad:
        assert f"FAILED      tick[{bad}]" in diverted
    else:
        assert "6 completed" in diverted  # the summary
    plan = dry()
    assert all(plan[f"tick[{i}]"] == ("skip", ["up to date"]) for i in done)
    if bad:
        assert plan[f"tick[{bad}]"][0] == "run"


def test_a_closed_stdout_ends_status_and_dry_run_quietly(work: Path) -> None:
    """Output past the pipe's buffer (64 KiB), so the reader goes away mid-write."""
    write_spec(work, CHATTY.replace("[1, 2, 3, 4, 5, 6]", '"{{ range(4000) | list }}"'))
    for args in (("status", "wf.yaml"), ("wf.yaml", "--dry-run", "--verbose")):
        engine = mi_popen(work, *args)
        assert engine.stdout is not None and engine.stderr is not None
        assert engine.stdout.readline()
        engine.stdout.close()
        assert engine.wait(timeout=60) == 0
        assert engine.stderr.read() == ""  # no traceback, no "Exception ignored"
        engine.stderr.close()


def test_sighup_with_the_terminal_gone(work: Path) -> None:
    """The ssh case in full: the engine's terminal is hung up (writes fail with EIO) and it
    gets SIGHUP: it still stops the steps, cleans up and exits 130."""
    write_spec(work, HANGUP)
    master, slave = os.openpty()
    engine = subprocess.Popen([sys.executable, "-m", "engine.cli", "wf.yaml"], cwd=work,
                              env=env(), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                              start_new_session=True)
    os.close(slave)
    try:
        wait_for(work / "long.pid", engine)
        pgid = int((work / "long.pid").read_text())
        os.close(master)  # the terminal goes away: the engine's writes now fail
        engine.send_signal(signal.SIGHUP)
        assert engine.wait(timeout=60) == 130
    finally:
        if engine.poll() is None:
            engine.kill()
    assert wait_gone(pgid) == []
    assert not (work / "out/long.txt").exists()
    assert "interrupted" in (work / ".mi/logs/mi-run.log").read_text()
    assert dry()["long"] == ("run", ["incomplete (interrupted)"])


LIVE = """
name: live
steps:
  - name: quick
    run: "echo q > {{ outputs.o }}"
    outputs: {o: out/quick.txt}
  - name: long
    run: "echo $$ > long.pid; sleep 600; cat {{ inputs.q }} > {{ outputs.o }}"
    inputs: {q: "{{ steps.quick.outputs.o }}"}
    outputs: {o: out/long.txt}
"""


def _states() -> dict[str, str]:
    code, out, err = cli("status", "wf.yaml", "--json")
    assert code == 0, err
    return {row["id"]: row["state"] for row in json.loads(out)["instances"]}


def test_status_and_dry_run_show_what_a_live_run_runs_now(work: Path) -> None:
    write_spec(work, LIVE)
    engine = mi_popen(work, "wf.yaml")
    pgid = 0
    try:
        wait_for(work / "long.pid", engine)
        pgid = int((work / "long.pid").read_text())
        deadline = time.monotonic() + 60  # the run commits its 'running' marks in batches
        while _states()["long"] != f"running: pid {engine.pid}":
            assert time.monotonic() < deadline, _states()
            assert engine.poll() is None
            time.sleep(0.1)
        assert _states()["quick"] == "up to date"
        assert dry()["long"] == ("run", [f"running: pid {engine.pid}"])
        text = cli("wf.yaml", "--dry-run")[1]
        assert f"running: pid {engine.pid}" in text and "interrupted" not in text
        engine.kill()  # SIGKILL: the lock file still names it, but it is gone
        engine.communicate(timeout=30)
    finally:
        if engine.poll() is None:
            engine.kill()
        if pgid:
            kill_group(pgid)  # the orphaned step (own session) a SIGKILLed engine leaves
    assert (work / ".mi/lock").read_text().startswith(f"{engine.pid} ")
    assert _states()["long"] == "stale: incomplete (interrupted)"
    assert dry()["long"] == ("run", ["incomplete (interrupted)"])
