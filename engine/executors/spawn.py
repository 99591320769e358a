"""Shell steps spawned straight from the engine's loop thread, reaped through pidfds.

This is how ``make`` runs jobs, and it is what the default backend uses for ``run:`` steps:
per step the engine only creates the attempt's log with its header (kept open: the child
writes to it, and the engine adds the outcome line through it), ``posix_spawn``s ``bash`` in a
new session (its own process group) and, when the child's pidfd becomes readable, reaps it
with ``wait4`` and fingerprints the declared outputs. No worker process, no thread, no pickling: the engine's
own cost is a fraction of a millisecond per step, well under bash's start-up.

Timeouts send SIGTERM to the step's process group, then SIGKILL after :data:`KILL_GRACE`
seconds. Every step's environment carries the run's token (``run_token``), and with
``orphan_dir`` each started step is noted in the run's file there: if the engine is killed
(``kill -9``), the next run stops the orphaned steps before starting again
(:mod:`engine.executors.orphans`), so two copies never write the same output.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from engine import envvars
from engine.executors.attemptlog import failed_attempt, header, host_name, outcome_line
from engine.executors.base import Executor
from engine.executors.direct import DirectCommand, direct_command, program_env, program_path, usable_env
from engine.executors.orphans import registry_path
from engine.executors.shell import (
    KILL_GRACE,
    PYTHON_IGNORED,
    bash_argv,
    exit_failure,
    kill_group,
    missing_outputs_failure,
    output_fingerprints,
    timeout_failure,
    unblocked_signals,
)
from engine.fingerprint import DEFAULT_HASH_LIMIT, Fingerprint
from engine.model import Outcome, Status, StepInstance


@dataclass(eq=False)
class _Child:
    instance: StepInstance
    attempt: int
    log_path: str
    pid: int
    pidfd: int
    started: float
    clock: float
    deadline: float | None
    tmp_dir: str
    log_fd: int
    killed_at: float | None = None
    script: str | None = None


class ShellSpawner(Executor):
    name = "spawn"

    def __init__(self, tmp_root: str | None = None, hash_limit: int | None = DEFAULT_HASH_LIMIT,
                 orphan_dir: str | None = None, run_token: str | None = None,
                 run_id: str | None = None):
        self._tmp_root = tmp_root
        self._hash_limit = hash_limit
        self._orphan_dir = orphan_dir
        self._children: dict[int, _Child] = {}  # pidfd -> child
        self._poll = select.poll()
        self._made_dirs: set[str] = set()
        self._tmp = ""
        self._env: dict[str, str] = {}
        self._cwd = os.getcwd()
        self._pending_failures: list[Outcome] = []  # spawn errors, reported by the next wait
        self._orphan_fd: int | None = None
        self._free_tmp: list[str] = []
        self._token = run_token or os.urandom(16).hex()
        self._bash = "/bin/bash"
        self._run_id = run_id
        # Commands that are one program (engine.executors.direct) run without bash, in the
        # environment bash would give them: forked (with redirections) or not.
        self._direct_env: dict[bool, dict[str, str]] | None = None
        self._programs: dict[str, str | None] = {}  # argv[0] -> where PATH has it

    def start(self, slots: int) -> None:
        self._tmp = tempfile.mkdtemp(prefix="mi-run-", dir=self._tmp_root)
        # Copied once per run (decoding os.environ per spawn costs more than the spawn); each
        # attempt gets its own TMPDIR below the run's temporary directory.
        self._env = dict(os.environ, **{envvars.RUN_TOKEN: self._token})
        # Resolved once: posix_spawnp would try every PATH entry (a failed execve each) per step.
        self._bash = shutil.which("bash", path=self._env.get("PATH")) or "/bin/bash"
        if usable_env(self._env) and not envvars.read_flag(envvars.ALWAYS_BASH, self._env):
            self._direct_env = {forked: program_env(self._env, "", self._cwd, forked)
                                for forked in (False, True)}
        self._seq = 0
        if self._orphan_dir:  # the run's file (orphans.registered), kept if the engine dies
            os.makedirs(self._orphan_dir, exist_ok=True)
            self._orphan_fd = os.open(registry_path(self._orphan_dir),
                                      os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    # submitting -------------------------------------------------------------------------
    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        started = time.time()
        try:
            child = self._spawn(instance, attempt, log_path, started)
        except OSError as exc:
            self._pending_failures.append(failed_attempt(
                instance, attempt, log_path, f"could not start the step: {exc}",
                started=started, ended=time.time(), run_id=self._run_id, host=host_name()))
            return
        self._children[child.pidfd] = child
        self._poll.register(child.pidfd, select.POLLIN)
        self._note_running(child)

    def _mkdir(self, folder: str) -> None:
        if folder and folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)

    def _spawn(self, instance: StepInstance, attempt: int, log_path: str, started: float) -> _Child:
        work_dir = instance.work_dir
        self._mkdir(os.path.dirname(log_path))
        for out in instance.output_paths():
            self._mkdir(os.path.dirname(os.path.join(work_dir, out)))
        command = instance.command or ""
        if self._free_tmp:  # an empty directory a finished step left behind
            tmp_dir = self._free_tmp.pop()
        else:
            self._seq += 1
            tmp_dir = os.path.join(self._tmp, f"step.{self._seq}")
            os.mkdir(tmp_dir)
        # The engine creates the log and writes its header; the child gets it as stdout and
        # stderr, and the outcome line goes through the same open file when it has ended.
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        script = None
        try:
            os.write(log_fd, header(instance, attempt, started, self._run_id,
                                    host_name()).encode())
            pid = self._start_direct(command, work_dir, tmp_dir, log_fd)
            if pid is None:
                argv, script = bash_argv(
                    command, os.path.join(self._tmp, f"command-{time.monotonic_ns()}.sh"))
                pid = self._start(argv, dict(self._env, TMPDIR=tmp_dir), work_dir, log_fd)
        except BaseException:
            os.close(log_fd)
            raise
        pidfd = os.pidfd_open(pid)
        deadline = time.monotonic() + instance.timeout if instance.timeout else None
        return _Child(instance, attempt, log_path, pid, pidfd, started, time.perf_counter(),
                      deadline, tmp_dir, log_fd, script=script)

    def _start_direct(self, command: str, work_dir: str, tmp_dir: str, log_fd: int) -> int | None:
        """Spawn ``command``'s program itself when it is all the command is; None when bash
        has to run it (or the spawn failed: bash then says why, as it would have)."""
        if self._direct_env is None or work_dir != self._cwd:
            return None
        direct = direct_command(command)
        if direct is None:
            return None
        path = self._program(direct)
        if path is None:
            return None
        env = dict(self._direct_env[bool(direct.redirects)], TMPDIR=tmp_dir, _=path)
        actions: list[tuple[Any, ...]] = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, log_fd, 1),
            (os.POSIX_SPAWN_DUP2, log_fd, 2),
        ]
        actions += [(os.POSIX_SPAWN_OPEN, r.fd, r.path, r.flags, 0o666) for r in direct.redirects]
        try:
            return os.posix_spawn(path, list(direct.argv), env, setsid=True,
                                  setsigdef=PYTHON_IGNORED, setsigmask=(), file_actions=actions)
        except OSError:  # a redirection's file or the program itself: bash reports it
            return None

    def _program(self, direct: DirectCommand) -> str | None:
        name = direct.argv[0]
        if name not in self._programs:
            self._programs[name] = program_path(name, self._env, self._cwd)
        return self._programs[name]

    def _start(self, argv: list[str], env: dict[str, str], work_dir: str, log_fd: int) -> int:
        if work_dir == self._cwd:
            # Default dispositions and an empty mask, as from a shell (see engine.executors.shell).
            return os.posix_spawn(self._bash, argv, env, setsid=True, setsigdef=PYTHON_IGNORED,
                                  setsigmask=(), file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ])
        # posix_spawn cannot change directory before Python 3.13
        import subprocess

        with unblocked_signals():
            proc = subprocess.Popen(argv, cwd=work_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log_fd, stderr=log_fd, start_new_session=True,
                                    restore_signals=True)
        proc.returncode = 0  # we reap it ourselves; keep Popen.__del__ quiet
        return int(proc.pid)

    # waiting ----------------------------------------------------------------------------
    def wait(self, timeout: float | None) -> list[Outcome]:
        if self._pending_failures:
            failures, self._pending_failures = self._pending_failures, []
            return failures
        if not self._children:
            return []
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            limits = [t - now for t in (end, self._next_deadline()) if t is not None]
            wait_ms = None if not limits else max(0, int(min(limits) * 1000) + 1)
            events = self._poll.poll(wait_ms)
            outcomes = [self._reap(self._children[fd]) for fd, _ in events]
            self._enforce_timeouts()
            if outcomes or (end is not None and time.monotonic() >= end):
                return outcomes

    def _next_deadline(self) -> float | None:
        times = [c.killed_at + KILL_GRACE if c.killed_at else c.deadline
                 for c in self._children.values() if c.deadline is not None]
        return min(times) if times else None

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for child in self._children.values():
            if child.deadline is None or now < child.deadline:
                continue
            if child.killed_at is None:
                child.killed_at = now
                kill_group(child.pid, signal.SIGTERM)
            elif now >= child.killed_at + KILL_GRACE:
                kill_group(child.pid, signal.SIGKILL)

    def _reap(self, child: _Child) -> Outcome:
        self._poll.unregister(child.pidfd)
        del self._children[child.pidfd]
        os.close(child.pidfd)
        _, wait_status, usage = os.wait4(child.pid, 0)
        if child.killed_at is not None:
            kill_group(child.pid, signal.SIGKILL)  # whatever of the group is left
        if child.script:
            _remove(child.script)
        # An attempt's TMPDIR is private while it runs; an empty one is handed to the next
        # attempt (mkdir + rmdir per step cost more than bash's start-up on some disks).
        with os.scandir(child.tmp_dir) as entries:
            empty = next(entries, None) is None
        if empty:
            self._free_tmp.append(child.tmp_dir)
        else:
            shutil.rmtree(child.tmp_dir, ignore_errors=True)
        code = os.waitstatus_to_exitcode(wait_status)
        elapsed = time.perf_counter() - child.clock
        peak = usage.ru_maxrss / 1024.0
        error = hint = None
        output_fps: dict[str, Fingerprint] = {}
        instance = child.instance
        if child.killed_at is not None:
            error, hint = timeout_failure(instance)
        elif code != 0:
            error, hint = exit_failure(code)
        else:
            output_fps, missing = output_fingerprints(instance, self._hash_limit)
            if missing:
                error, hint = missing_outputs_failure(missing)
        status = Status.FAILED if error else Status.COMPLETED
        try:
            os.write(child.log_fd, outcome_line(status, elapsed, error, hint).encode())
        except OSError:
            pass  # a full disk: the outcome still says it
        os.close(child.log_fd)
        return Outcome(
            instance_id=instance.id, attempt=child.attempt, status=status,
            started=child.started, ended=child.started + elapsed, peak_mem_mb=peak,
            log_path=child.log_path, error=error, hint=hint,
            metadata={"execution_time": elapsed, "peak_mem_mb": peak},
            output_fps=output_fps if error is None else {},
            cpu_time=usage.ru_utime + usage.ru_stime, exit_code=code,
        )

    # orphan bookkeeping -----------------------------------------------------------------
    def _note_running(self, child: _Child) -> None:
        # One append-only file per engine run: a line per started step (creating and deleting
        # a file per step would cost more than spawning it), so that the next run can name
        # what it stopped; it finds the processes themselves by the token in their environment.
        if self._orphan_fd is not None:
            os.write(self._orphan_fd, f"{child.pid} {self._token} {child.instance.id}\n".encode())

    # the rest of the interface ----------------------------------------------------------
    def running(self) -> int:
        return len(self._children) + len(self._pending_failures)

    def cancel_all(self) -> None:
        for child in list(self._children.values()):
            kill_group(child.pid, signal.SIGKILL)
        for child in list(self._children.values()):
            try:
                os.waitpid(child.pid, 0)
            except ChildProcessError:
                pass
            self._poll.unregister(child.pidfd)
            os.close(child.pidfd)
            os.close(child.log_fd)  # the recorder notes the interruption in the log
        self._children.clear()
        self._pending_failures.clear()

    def shutdown(self) -> None:
        if self._children:
            self.cancel_all()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = ""
        if self._orphan_fd is not None:  # the file itself goes when the run ends
            os.close(self._orphan_fd)
            self._orphan_fd = None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass



