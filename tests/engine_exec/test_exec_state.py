"""engine.state: round trip, interrupted runs, the lock, batching and durability."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.errors import LockError
from engine.fingerprint import Fingerprint
from engine.model import Outcome, Status
from engine.running import state as state_mod
from engine.running.state import StateStore
from tests.helpers.executors import ROOT, make_instance


def _outcome(iid: str, status: Status = Status.COMPLETED) -> Outcome:
    return Outcome(iid, 1, status, 100.0, 102.5, 12.5, f"/logs/{iid}.log",
                   error=None if status is Status.COMPLETED else "boom")  # fmt: skip


def _count(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM instances").fetchone()[0])


def test_round_trip(tmp_path: Path) -> None:
    inst = make_instance(tmp_path, "quant[S1]", step="quant")
    sig = {"uses": "rna.quant", "code": "v:1", "params": {"k": 31}}
    ins = {"in.fq": Fingerprint(10, 123, "abc")}
    outs = {"out.tsv": Fingerprint(20, 456, None)}
    with StateStore(tmp_path / "st") as store:
        run = store.begin_run(workflow="wf", argv=["mi-run", "x.yaml"], spec_path="x.yaml")
        store.record("wf", inst, _outcome(inst.id), sig, ins, outs, run_id=run)
        store.end_run(run, "completed")
    with StateStore(tmp_path / "st") as store:
        rec = store.records("wf")["quant[S1]"]
        assert rec.status == "completed" and not rec.interrupted
        assert rec.signature["params"] == {"k": 31} and rec.signature["uses"] == "rna.quant"
        assert rec.input_fps == ins and rec.outputs == outs
        assert rec.duration == 2.5 and rec.peak_mem_mb == 12.5 and rec.run_id == run
        assert store.records("other") == {}
        assert store.runs()[0].status == "completed"


def test_interrupted_run_is_detected_and_keeps_the_old_signature(tmp_path: Path) -> None:
    inst = make_instance(tmp_path, "a")
    with StateStore(tmp_path / "st") as store:
        store.record("wf", inst, _outcome("a"), {"command": "old"}, {}, {})
        store.mark_running("wf", inst, run_id="r2", attempt=1)
        store.flush()
    rec = StateStore(tmp_path / "st").records("wf")["a"]
    assert rec.interrupted and rec.run_id == "r2"
    assert rec.signature["command"] == "old"


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    holder = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from engine.running.state import StateStore
        with StateStore({str(tmp_path / "st")!r}).lock():
            print("locked", flush=True)
            time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        store = StateStore(tmp_path / "st")
        with pytest.raises(LockError) as info, store.lock():
            pass
        message = str(info.value)
        assert f"pid {proc.pid}" in message and str(tmp_path / "st") in message
        assert "another mi-run is running there" in message
    finally:
        proc.kill()
        proc.wait()
    with store.lock():  # released when the holder died
        pass


def test_writes_are_batched_until_flush(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_mod, "BATCH_SECONDS", 3600.0)
    store = StateStore(tmp_path / "st")
    for i in range(10):
        inst = make_instance(tmp_path, f"s[{i}]")
        store.record("wf", inst, _outcome(inst.id), {}, {}, {})
    assert _count(store.path) == 0
    store.flush()
    assert _count(store.path) == 10
    monkeypatch.setattr(state_mod, "BATCH_SECONDS", 0.0)
    store.record("wf", make_instance(tmp_path, "late"), _outcome("late"), {}, {}, {})
    assert _count(store.path) == 11, "a due batch is committed on the next write"


def test_committed_records_survive_kill_9(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.helpers.executors import make_instance, outcome_for_child as outcome
        from engine.running.state import StateStore
        store = StateStore({str(tmp_path / "st")!r})
        store.record("wf", make_instance("/x", "kept"), outcome("kept"), {{}}, {{}}, {{}})
        store.flush()
        store.mark_running("wf", make_instance("/x", "lost"), run_id="r")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    subprocess.run([sys.executable, "-c", script], check=False)
    assert set(StateStore(tmp_path / "st").records("wf")) == {"kept"}


def test_many_records(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "st")
    fps = {"in.txt": Fingerprint(1, time.time_ns(), "d" * 64)}
    for i in range(2000):
        inst = make_instance(tmp_path, f"s[{i}]", step="s")
        store.record("wf", inst, _outcome(inst.id), {"command": "echo"}, fps, fps)
    records = store.records("wf")
    assert len(records) == 2000 and records["s[1999]"].outputs == fps


def test_running_marks_of_the_live_lock_holder_read_as_running(tmp_path: Path) -> None:
    """read_records (status, --dry-run): 'running' rows of the run named in the lock file are
    running now while its process lives; a dead or different process leaves them interrupted."""
    from engine.running import lockfile
    from engine.running.state import read_records

    state = tmp_path / "st"
    with StateStore(state) as store, store.lock():
        run_id = store.begin_run(workflow="wf")
        store.mark_running("wf", make_instance(tmp_path, "now"), run_id=run_id)
        store.mark_running("wf", make_instance(tmp_path, "before"), run_id="an-old-run")
        store.flush()
        line = (state / "lock").read_text()
        assert line.split() == [str(os.getpid()), lockfile.process_start(os.getpid()), run_id]
        records = read_records(str(state), "wf")
        assert records["now"].running_pid == os.getpid() and not records["now"].interrupted
        assert records["before"].running_pid is None and records["before"].interrupted
    assert (state / "lock").read_text() == ""  # a run that ends says so
    assert read_records(str(state), "wf")["now"].interrupted
    for stale in (f"{os.getpid()} 1 {run_id}\n",  # this pid, but another process's start time
                  f"{_dead_pid()} {lockfile.process_start(os.getpid())} {run_id}\n"):
        (state / "lock").write_text(stale)
        assert lockfile.live_run(str(state)) is None
        assert read_records(str(state), "wf")["now"].interrupted


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
