"""The run state: one embedded SQLite database ``<state_dir>/state.db`` (no per-output files).

Tables: ``runs`` (one row per mi-run invocation), ``instances`` (the last thing that happened
to each step instance: status, signature, output fingerprints, timings), keyed by
``(workflow, instance_id)`` so two workflows sharing a state directory cannot clash, and
``earlier`` (the last completed record of each other configuration of an instance, i.e. other
output paths, so that switching ``--set label=run1`` -> ``run2`` -> ``run1`` reruns nothing).

Durability: WAL mode with ``synchronous=NORMAL`` -- a commit survives the engine being killed
(``kill -9``; only an OS crash/power loss can drop the last commits). Writes from
:meth:`StateStore.record` and :meth:`StateStore.mark_running` are batched and committed when
:data:`BATCH_SIZE` rows are queued or :data:`BATCH_SECONDS` have passed since the last commit
(checked on each call and by :meth:`flush_if_due`, which the scheduling loop calls after every
``wait()``), and by :meth:`flush`. Losing the last batch is safe: the record a decision would
read is then the previous one, whose signature/output fingerprints no longer match what is on
disk (or whose status is ``running``), so the instance reruns -- never a wrong "up to date".

``mark_running`` leaves ``status = 'running'`` until the outcome is recorded, so a run that was
interrupted or killed shows up as ``Record.interrupted`` -> "incomplete (interrupted)", while
for the run that holds the lock now (:mod:`engine.running.lockfile`) :func:`read_records`
marks them running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path
from typing import Any

from engine.errors import LockError
from engine.fingerprint import Fingerprint
from engine.model import Outcome, RunStatus, Status, StepInstance
from engine.running import lockfile
from engine.running.records import Record, Records

BATCH_SIZE = 1000
BATCH_SECONDS = 0.2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started REAL, ended REAL, status TEXT,
    argv TEXT, spec_path TEXT, workflow TEXT
);
CREATE TABLE IF NOT EXISTS instances (
    workflow TEXT NOT NULL, instance_id TEXT NOT NULL, step TEXT, run_id TEXT, status TEXT,
    signature TEXT, outputs TEXT, started REAL, ended REAL, duration REAL, peak_mem_mb REAL,
    log_path TEXT, attempts INTEGER, error TEXT,
    PRIMARY KEY (workflow, instance_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS earlier (
    workflow TEXT NOT NULL, instance_id TEXT NOT NULL, outputs_key TEXT NOT NULL, step TEXT,
    run_id TEXT, status TEXT, signature TEXT, outputs TEXT, started REAL, ended REAL,
    duration REAL, peak_mem_mb REAL, log_path TEXT, attempts INTEGER, error TEXT,
    PRIMARY KEY (workflow, instance_id, outputs_key)
) WITHOUT ROWID;
"""
_COLUMNS = ("step, run_id, status, signature, outputs, started, ended, duration, peak_mem_mb,"
            " log_path, attempts, error")
# A completed record about to be replaced by another configuration's (other outputs) is kept
# here, so that switching back finds it (records per configuration, not per instance id).
_KEEP_SQL = (f"INSERT OR REPLACE INTO earlier (workflow, instance_id, outputs_key, {_COLUMNS})"
             f" SELECT workflow, instance_id, ?, {_COLUMNS} FROM instances"
             " WHERE workflow = ? AND instance_id = ? AND status = 'completed'")

_RECORD_SQL = (
    "INSERT OR REPLACE INTO instances (workflow, instance_id, step, run_id, status, signature,"
    " outputs, started, ended, duration, peak_mem_mb, log_path, attempts, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Keep the previous signature/outputs: the decision layer needs them to explain what changed.
_RUNNING_SQL = (
    "INSERT INTO instances (workflow, instance_id, step, run_id, status, started, log_path,"
    " attempts) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)"
    " ON CONFLICT (workflow, instance_id) DO UPDATE SET status = 'running',"
    " run_id = excluded.run_id, started = excluded.started, log_path = excluded.log_path,"
    " attempts = excluded.attempts"
)


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started: float
    ended: float | None
    status: RunStatus
    argv: list[str]
    spec_path: str | None
    workflow: str | None


def _dumps(value: Any) -> str:
    """JSON text; json's cached default encoder is ~3x faster than one built per call."""
    try:
        return json.dumps(value)
    except TypeError:  # e.g. a Path or a set in params: store its text form
        return json.dumps(value, default=str)


def _signature_json(signature: Mapping[str, Any],
                    input_fps: Mapping[str, Fingerprint | None]) -> str:
    """The signature with the inputs' fingerprints (None: input missing, left out) as JSON."""
    sig = _dumps({k: v for k, v in signature.items() if k != "inputs"})
    inputs = _fps_json({p: fp for p, fp in input_fps.items() if fp is not None})
    return f'{sig[:-1]}{", " if len(sig) > 2 else ""}"inputs": {inputs}}}'


def _fps_json(fps: Mapping[str, Fingerprint]) -> str:
    """``{path: Fingerprint.to_json()}`` as JSON text, built directly (the hot path of record)."""
    parts = []
    for path, fp in fps.items():
        digest = "null" if fp.digest is None else _quote(fp.digest)
        if fp.is_dir:
            listing = "null" if fp.listing is None else _quote(fp.listing)
            parts.append(f"{_quote(path)}:[{fp.size},{fp.mtime_ns},{digest},1,{listing}]")
        else:
            parts.append(f"{_quote(path)}:[{fp.size},{fp.mtime_ns},{digest}]")
    return "{" + ",".join(parts) + "}"


class StateStore:
    """The state database of one state directory; use from a single thread (the loop)."""

    def __init__(self, state_dir: str | os.PathLike[str]):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / "state.db"
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._last_commit = time.monotonic()
        self._lock_fd: int | None = None

    # -- locking -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``<state_dir>/lock`` (flock, non-blocking) for the duration of a run."""
        lock_path = self.state_dir / lockfile.NAME
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found = lockfile.parse(os.pread(fd, 256, 0).decode(errors="replace"))
            holder = str(found.pid) if found is not None else "unknown"
            os.close(fd)
            raise LockError(
                f"the state directory {self.state_dir} is locked by another mi-run (pid {holder})"
                f"\n  hint: another mi-run is running there; wait for it to finish or stop it"
                f" (kill {holder}), or use a different state directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, lockfile.holder_line(), 0)
        self._lock_fd = fd
        try:
            yield
        finally:
            self.flush()
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._lock_fd = None

    # -- runs ----------------------------------------------------------------------------------

    def begin_run(
        self,
        *,
        workflow: str,
        argv: Sequence[str] = (),
        spec_path: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Insert a run row (status ``running``) and return its id."""
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
        if self._lock_fd is not None:  # say which run holds the lock (see running.lockfile)
            line = lockfile.holder_line(run_id)
            os.pwrite(self._lock_fd, line, 0)  # only grows: a reader sees the old or new line
            os.ftruncate(self._lock_fd, len(line))
        self.flush()
        self._db.execute(
            "INSERT INTO runs (run_id, started, status, argv, spec_path, workflow) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, time.time(), RunStatus.RUNNING.value, json.dumps(list(argv)), spec_path,
             workflow),
        )
        return run_id

    def end_run(self, run_id: str, status: RunStatus) -> None:
        """Flush pending records and close the run row with ``status``."""
        self.flush()
        self._db.execute(
            "UPDATE runs SET ended = ?, status = ? WHERE run_id = ?",
            (time.time(), RunStatus(status).value, run_id),
        )

    def runs(self, limit: int = 20) -> list[RunRow]:
        """The most recent runs, newest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT run_id, started, ended, status, argv, spec_path, workflow FROM runs"
            " ORDER BY started DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RunRow(r[0], r[1], r[2], RunStatus(r[3]), json.loads(r[4] or "[]"), r[5], r[6])
                for r in rows]

    # -- instances -----------------------------------------------------------------------------

    def records(self, workflow: str) -> Records:
        """Every recorded instance of ``workflow`` by instance id (pending writes included),
        with the kept records of its other configurations."""
        self.flush()
        cursor = self._db.execute(
            f"SELECT instance_id, workflow, {_COLUMNS} FROM instances WHERE workflow = ?",
            (workflow,))
        latest = [(row[0], _record(row)) for row in cursor]
        cursor = self._db.execute(
            f"SELECT instance_id, workflow, {_COLUMNS}, outputs_key FROM earlier"
            " WHERE workflow = ?", (workflow,))
        return Records(latest, {(row[0], row[-1]): _record(row[:-1]) for row in cursor})

    def drop_records(self, workflow: str, latest: Iterable[str],
                     earlier: Iterable[tuple[str, str]]) -> None:
        """Delete the latest records of ``latest`` ids and the kept ``(id, outputs key)`` ones."""
        self.flush()
        self._db.execute("BEGIN")
        self._db.executemany("DELETE FROM instances WHERE workflow = ? AND instance_id = ?",
                             [(workflow, i) for i in latest])
        self._db.executemany("DELETE FROM earlier WHERE workflow = ? AND instance_id = ?"
                             " AND outputs_key = ?", [(workflow, i, k) for i, k in earlier])
        self._db.execute("COMMIT")

    def refresh_inputs(self, workflow: str, instance_id: str, signature: Mapping[str, Any],
                       input_fps: Mapping[str, Fingerprint | None]) -> None:
        """Store new input fingerprints in a record that stays valid (same content, new
        mtimes), so that later runs need not hash those inputs again."""
        self._queue("UPDATE instances SET signature = ? WHERE workflow = ? AND instance_id = ?",
                    (_signature_json(signature, input_fps), workflow, instance_id))

    def keep_earlier(self, workflow: str, instance_id: str, outputs_key: str) -> None:
        """Keep the current completed record of ``instance_id`` as that of the configuration
        whose outputs are ``outputs_key`` (before another configuration's replaces it)."""
        self._queue(_KEEP_SQL, (outputs_key, workflow, instance_id))

    def mark_running(
        self,
        workflow: str,
        instance: StepInstance,
        *,
        run_id: str | None,
        attempt: int = 1,
        log_path: str | None = None,
        started: float | None = None,
    ) -> None:
        """Note that ``instance`` started (batched, like :meth:`record`)."""
        params = (
            workflow,
            instance.id,
            instance.step,
            run_id,
            time.time() if started is None else started,
            log_path,
            attempt,
        )
        self._queue(_RUNNING_SQL, params)

    def record(
        self,
        workflow: str,
        instance: StepInstance,
        outcome: Outcome,
        signature: Mapping[str, Any],
        input_fps: Mapping[str, Fingerprint | None],
        output_fps: Mapping[str, Fingerprint],
        *,
        run_id: str | None = None,
    ) -> None:
        """Store ``outcome`` with the signature it ran under (batched; see module docstring).

        ``input_fps`` entries that are None (input missing) are left out of the signature.
        """
        sig = _signature_json(signature, input_fps)
        params = (
            workflow,
            instance.id,
            instance.step,
            run_id,
            outcome.status.value,
            sig,
            _fps_json(output_fps),
            outcome.started,
            outcome.ended,
            outcome.ended - outcome.started,
            outcome.peak_mem_mb,
            outcome.log_path,
            outcome.attempt,
            outcome.error if outcome.reason is None else outcome.reason,  # a skip's reason
        )
        self._queue(_RECORD_SQL, params)

    # -- batching ------------------------------------------------------------------------------

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))
        if len(self._pending) >= BATCH_SIZE:
            self.flush()
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        """Commit queued writes if the last commit is older than :data:`BATCH_SECONDS`."""
        if self._pending and time.monotonic() - self._last_commit >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit every queued write now (in order, one transaction)."""
        self._last_commit = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._db.execute("BEGIN")
        try:
            start = 0
            while start < len(pending):  # group runs of the same statement for executemany
                sql = pending[start][0]
                end = start
                while end < len(pending) and pending[end][0] is sql:
                    end += 1
                self._db.executemany(sql, [p for _, p in pending[start:end]])
                start = end
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def data_version(self) -> int:
        """Changes whenever another connection commits to the database (SQLite's
        ``PRAGMA data_version``): whether records read earlier may be stale."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(state_dir: str, workflow: str) -> Records:
    """Records of earlier runs of ``workflow``, read without creating anything on disk and
    without the lock: the instances a live run is running now say so (``running_pid``)."""
    if not os.path.exists(os.path.join(state_dir, "state.db")):
        return Records()
    with StateStore(state_dir) as store:
        records = store.records(workflow)
    live = lockfile.live_run(state_dir)
    if live is not None and live.run_id is not None:
        for node, record in records.items():
            if record.status is Status.RUNNING and record.run_id == live.run_id:
                records[node] = dataclasses.replace(record, running_pid=live.pid)
    return records


def _record(row: tuple[Any, ...]) -> Record:
    """A row of ``records``'s SELECT, in the column order of :class:`Record`."""
    return Record(row[0], row[1], row[2], row[3], Status(row[4]), row[5], row[6], row[7], row[8],
                  row[9], row[10], row[11], row[12], row[13])
