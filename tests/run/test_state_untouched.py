"""A run that fails validation writes nothing: the state directory (.mi/state.db, .mi/lock)
is created only once the plan is valid (issue #11)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import engine
from engine.running.options import make_run_options
from engine.running.orchestrate import RunSession
from engine.running.state import StateStore
from tests.helpers.refusing import located, refused
from tests.helpers.running import completed, mi, run, up_to_date, write_spec

BAD = """
name: bad
steps:
  - name: a
    run: "echo a > {{ outputs.o }}"
    outputs: {o: a.txt}
  - name: b
    run: "cat {{ steps.aa.outputs.o }} > {{ outputs.o }}"
    outputs: {o: b.txt}
"""

GOOD = """
name: good
steps:
  - name: a
    run: "echo a > {{ outputs.o }}; echo a >> ran.log"
    outputs: {o: a.txt}
"""


def test_a_bad_spec_in_an_empty_directory_leaves_it_empty(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    spec = write_spec(tmp_path, BAD)
    proc = mi(folder, str(spec))
    assert proc.returncode == 2, proc.stderr
    assert "refers to unknown step 'aa'" in proc.stderr and "Traceback" not in proc.stderr
    assert os.listdir(folder) == []


def test_dry_run_and_run_refuse_alike_without_a_state_dir(work: Path) -> None:
    write_spec(work, BAD)
    err = refused(work, "wf.yaml")
    assert (7, "step 'b': refers to unknown step 'aa'") in located(err), err
    assert not (work / ".mi").exists()


def test_an_unknown_only_step_creates_no_state_dir(work: Path) -> None:
    write_spec(work, GOOD)
    err = refused(work, "wf.yaml", "--only", "b")
    assert err.startswith("error: unknown step 'b'")


def test_a_refused_run_leaves_an_existing_state_dir_alone(work: Path) -> None:
    write_spec(work, GOOD)
    assert completed(run()) == {"a"}
    write_spec(work, BAD)  # the same folder, now a spec that does not plan
    state = sorted(p.name for p in (work / ".mi").iterdir())
    refused(work, "wf.yaml")
    assert sorted(p.name for p in (work / ".mi").iterdir()) == state


def test_records_written_while_planning_are_read_again(work: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning happens before the lock: a run that finished in between is not missed."""
    write_spec(work, GOOD)
    write_spec(work, GOOD.replace("name: good", "name: other"), "other.yaml")
    run("other.yaml")  # a state database exists, without records of 'good'
    (work / "ran.log").unlink()
    lock = StateStore.lock
    raced: list[bool] = []

    @contextlib.contextmanager
    def lock_after_another_run(store: StateStore) -> Iterator[None]:
        if not raced:
            raced.append(True)
            run()  # another mi-run of the same workflow gets there first
        with lock(store):
            yield

    monkeypatch.setattr(StateStore, "lock", lock_after_another_run)
    with RunSession(engine.load("wf.yaml"), make_run_options(backend="threads", jobs=1)) as session:
        result = session.execute()
    assert raced and up_to_date(result) == {"a"}
    assert (work / "ran.log").read_text() == "a\n"  # ran once, by the other run
