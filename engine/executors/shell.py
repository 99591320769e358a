"""Shell steps: how every backend starts, stops, logs and judges a ``run:`` command.

One copy of the rules, used by the worker body (:mod:`engine.executors.worker`: threads,
loky, serial and Dask backends) and by the pidfd spawner of the default backend
(:mod:`engine.executors.spawn`):

* a command runs as ``bash -euo pipefail -c COMMAND`` in a new session (its own process
  group); a command longer than :data:`MAX_ARG` goes through a script file, because Linux caps
  one argv string at 128 KiB;
* a timeout sends SIGTERM to the whole group, then SIGKILL after :data:`KILL_GRACE` seconds,
  so children such as ``sleep 1000 &`` die too;
* a command starts with default signal dispositions and no blocked signals, as it would from
  a shell: Python ignores SIGPIPE and SIGXFSZ (:data:`PYTHON_IGNORED`), which a child would
  otherwise inherit (``zcat f | head`` would print "Broken pipe" and exit 1, not 141), and a
  thread that blocks signals would pass its mask on (:func:`unblocked_signals`);
* the log: each attempt writes its own file as :mod:`engine.executors.attemptlog` says (a
  header, the command's stdout and stderr, one outcome line);
* the verdicts (:func:`exit_failure`, :func:`timeout_failure`, :func:`missing_outputs_failure`)
  are the error and hint texts the user reads.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from engine.fingerprint import Fingerprint, fingerprint
from engine.model import StepInstance

if TYPE_CHECKING:
    import threading

KILL_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL for the process group of a timed-out shell step."""

MAX_ARG = 100_000
"""Longest command passed as one argv string: below Linux's MAX_ARG_STRLEN (131072 bytes),
leaving room for multi-byte text."""

PYTHON_IGNORED = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ", "SIGXFZ")
                       if hasattr(signal, name))
"""The signals the Python interpreter sets to SIG_IGN at start-up (what ``subprocess``'s
``restore_signals`` resets): a step must get them at SIG_DFL (``posix_spawn(setsigdef=...)``)."""


@contextlib.contextmanager
def unblocked_signals() -> Iterator[None]:
    """No signal blocked in the calling thread while a child is forked from it (``Popen``
    gives the child the forking thread's mask; ``posix_spawn`` takes ``setsigmask=()``)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    if not blocked:
        yield
        return
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def bash_argv(command: str, script_path: str) -> tuple[list[str], str | None]:
    """The argv that runs ``command``, and the script written for it (None when it fits)."""
    if len(command) <= MAX_ARG:
        return ["bash", "-euo", "pipefail", "-c", command], None
    with open(script_path, "w", encoding="utf-8") as handle:
        handle.write(command + "\n")
    return ["bash", "-euo", "pipefail", script_path], script_path


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9; the bare number for signals Python has no name for (real-time ones)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def exit_failure(code: int) -> tuple[str, None]:
    """Error (and no hint) for a command that ended with exit code ``code`` (negative: a
    signal). What the command said is in its log, which the error does not quote."""
    what = f"killed by signal {signal_name(-code)}" if code < 0 else f"exit status {code}"
    return f"command failed ({what})", None


def timeout_failure(instance: StepInstance, *, killed: bool = True) -> tuple[str, str]:
    """Error and hint for a step that ran past its ``timeout:``."""
    note = " (process group killed)" if killed else ""
    return (f"timed out after {instance.timeout:g} s{note}",
            f"raise 'timeout:' for step '{instance.step}' if it needs longer")


def missing_outputs_failure(missing: list[str]) -> tuple[str, str]:
    """Error and hint for a step that succeeded without writing all its declared outputs."""
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return (f"declared output {missing[0]} was not created{more}",
            "the step must write every path listed under 'outputs:'")


def output_fingerprints(instance: StepInstance, hash_limit: int | None
                        ) -> tuple[dict[str, Fingerprint], list[str]]:
    """Fingerprints of the declared outputs that exist, and the ones that are missing."""
    fps: dict[str, Fingerprint] = {}
    missing: list[str] = []
    for out in instance.output_paths():
        try:
            fps[out] = fingerprint(os.path.join(instance.work_dir, out), hash_limit)
        except FileNotFoundError:
            missing.append(out)
    return fps, missing


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a step's process group; a group that is already gone is not an error."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class ShellRun:
    """One shell command run to its end in the calling thread (the worker body's way).

    ``start`` spawns it with its output appended to the open ``log``; ``wait`` reaps it,
    enforcing ``timeout`` from a helper thread, and sets :attr:`code`, :attr:`timed_out`,
    :attr:`peak_mb` (``ru_maxrss`` of bash and the children it waited for) and
    :attr:`cpu_time` (their user + system seconds).
    """

    def __init__(self, command: str, work_dir: str, env: dict[str, str], script_path: str):
        self.argv, _ = bash_argv(command, script_path)
        self.work_dir = work_dir
        self.env = env
        self.pid = 0
        self.code = 0
        self.timed_out = False
        self.peak_mb = 0.0
        self.cpu_time = 0.0

    def start(self, log: BinaryIO) -> int:
        with unblocked_signals():
            import subprocess  # the worker body's way; the default backend posix_spawns

            proc = subprocess.Popen(self.argv, cwd=self.work_dir, env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    restore_signals=True)
        proc.returncode = 0  # reaped below with wait4; keep Popen.__del__ quiet
        self.pid = int(proc.pid)
        return self.pid

    def wait(self, timeout: float | None) -> None:
        import threading  # the worker body's way only; the default backend needs no thread

        exited = threading.Event()
        timed_out = threading.Event()
        killer = None
        if timeout:
            killer = threading.Thread(target=_kill_group_after,
                                      args=(self.pid, timeout, exited, timed_out), daemon=True)
            killer.start()
        try:
            _, wait_status, usage = os.wait4(self.pid, 0)
        except BaseException:  # KeyboardInterrupt in the serial executor: take the group down
            kill_group(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise
        exited.set()
        if killer is not None:
            killer.join()
        self.code = os.waitstatus_to_exitcode(wait_status)
        self.timed_out = timed_out.is_set()
        self.peak_mb = usage.ru_maxrss / 1024.0
        self.cpu_time = usage.ru_utime + usage.ru_stime


def _kill_group_after(pgid: int, timeout: float, exited: threading.Event,
                      timed_out: threading.Event) -> None:
    if exited.wait(timeout):
        return
    timed_out.set()
    kill_group(pgid, signal.SIGTERM)
    exited.wait(KILL_GRACE)
    kill_group(pgid, signal.SIGKILL)  # stragglers that ignored SIGTERM or outlived bash
