"""The executor contract: every backend (processes, loky, threads, serial, dask) must pass it.

``ExecutorContract`` holds the tests; it is subclassed once per backend as ``Test<Name>Contract``
(tests/engine_exec/test_exec_contract.py, tests/dask/test_dask_contract.py). A subclass gets a
``backend`` fixture, a started executor shared by the class's tests: tests/engine_exec's
conftest starts the backend named by the class's ``backend_name``; a subclass may instead
define its own ``backend`` fixture (dask does). A new backend adds one subclass; nothing else
changes here.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import ClassVar

import pytest

from engine.executors import Executor, Outcome
from engine.model import Status
from tests.helpers.executors import (
    RUN_ID,
    make_instance,
    run_all,
    signals_of,
    wait_file,
    wait_gone,
)

# The second line of every attempt's log (engine.executors.attemptlog).
STARTED = re.compile(rf"\[mi-run\] run {RUN_ID}, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d "
                     r"[+-]\d{4} on \S+$")


def log_lines(outcome: Outcome) -> list[str]:
    return Path(outcome.log_path).read_text().splitlines()


class ExecutorContract:
    """The tests every executor must pass; not collected itself (its name lacks ``Test``)."""

    backend_name: ClassVar[str]

    def test_python_step_completes_with_outputs(self, backend: Executor, tmp_path: Path) -> None:
        inst = make_instance(
            tmp_path, "w", uses="testexec.write", params={"text": "hi"}, outputs={"out": "d/o.txt"}
        )
        out = run_all(backend, [inst], tmp_path / "logs")["w"]
        assert out.status is Status.COMPLETED, out.error
        assert (tmp_path / "d/o.txt").read_text() == "hi\n"
        assert out.output["pid"] > 0
        assert out.warnings == ("just a warning",)
        assert out.metadata["execution_time"] >= 0
        assert out.peak_mem_mb is not None and out.peak_mem_mb > 1
        assert set(out.output_fps) == {"d/o.txt"}
        log = Path(out.log_path).read_text()
        assert "writing" in log and "just a warning" in log

    def test_shell_step(self, backend: Executor, tmp_path: Path) -> None:
        inst = make_instance(
            tmp_path,
            "sh",
            command="echo to-out > res/a.txt; echo to-err >&2; echo $TMPDIR > tmpdir.txt;"
            " touch $TMPDIR/scratch",
            outputs={"a": "res/a.txt"},
        )
        out = run_all(backend, [inst], tmp_path / "logs")["sh"]
        assert out.status is Status.COMPLETED, out.error
        assert (tmp_path / "res/a.txt").read_text() == "to-out\n"
        assert "to-err" in Path(out.log_path).read_text()
        private_tmp = Path((tmp_path / "tmpdir.txt").read_text().strip())
        # nothing is left behind: the private dir is removed (or emptied and reused)
        assert private_tmp.name and not (private_tmp.exists() and any(private_tmp.iterdir())), \
            "private tmp dir left with files"

    def test_shell_step_starts_with_default_signals(self, backend: Executor,
                                                    tmp_path: Path) -> None:
        """Not Python's SIG_IGN of SIGPIPE/SIGXFSZ nor the submitting thread's blocked mask:
        ``yes | head -1`` ends ``yes`` by SIGPIPE (status 141), as it does from a shell."""
        inst = make_instance(
            tmp_path, "sig",
            command="grep -E '^Sig(Blk|Ign)' /proc/self/status > sig.txt; st=0;"
                    " yes | head -1 > /dev/null || st=$?; echo \"pipeline $st\" >> sig.txt",
            outputs={"o": "sig.txt"},
        )
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGWINCH})
        try:
            out = run_all(backend, [inst], tmp_path / "logs")["sig"]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        assert out.status is Status.COMPLETED, out.error
        fields = dict(line.split(":\t") if ":\t" in line else line.split(" ")
                      for line in (tmp_path / "sig.txt").read_text().splitlines())
        # Signals 32 and 33 are glibc's own (no program can catch, ignore or block them; glibc's
        # posix_spawn marks them ignored): the ones a program can use must be at their default.
        usable = {int(s) for s in signal.valid_signals()}
        assert signals_of(fields["SigIgn"]) & usable == set()
        assert signals_of(fields["SigBlk"]) & usable == set()
        assert fields["pipeline"] == "141"
        assert "Broken pipe" not in Path(out.log_path).read_text()

    @pytest.mark.parametrize(
        ("fields", "error", "hint"),
        [
            ({"command": "echo partial; exit 3"}, "exit status 3", None),
            ({"uses": "testexec.raise"}, "ValueError: boom from the step", None),
            ({"uses": "testexec.steperror"}, "has no 'run' column", "add a 'run' column"),
            ({"uses": "testexec.report_failure"}, "first problem; second problem", None),
            ({"uses": "testexec.nothing", "outputs": {"o": "never.txt"}}, "never.txt", "outputs"),
            ({"command": "true", "outputs": {"o": "x/never.txt"}}, "was not created", "outputs"),
        ],
    )
    def test_failures_become_failed_outcomes(
        self, backend: Executor, tmp_path: Path, fields: dict, error: str, hint: str | None
    ) -> None:
        out = run_all(backend, [make_instance(tmp_path, "f", **fields)], tmp_path / "logs")["f"]
        assert out.status is Status.FAILED
        assert out.error is not None and error in out.error
        if hint is None:
            assert out.hint is None
        else:
            assert out.hint is not None and hint in out.hint
        log = Path(out.log_path).read_text()
        assert "failed" in log
        if fields.get("uses") == "testexec.raise":
            assert "Traceback" in log
        if fields.get("uses") == "testexec.steperror":
            assert "Traceback" not in log and "add a 'run' column" in log

    def test_exit_code_and_cpu_time(self, backend: Executor, tmp_path: Path) -> None:
        busy = make_instance(tmp_path, "busy", command="i=0; while [ $i -lt 20000 ]; do "
                             "i=$((i+1)); done; kill -USR1 $$")
        py = make_instance(tmp_path, "py", uses="testexec.write", outputs={"out": "p.txt"})
        out = run_all(backend, [busy, py], tmp_path / "logs")
        assert out["busy"].status is Status.FAILED
        assert out["busy"].exit_code == -signal.SIGUSR1  # negative: the signal that killed it
        assert out["busy"].error is not None and "SIGUSR1" in out["busy"].error
        assert out["busy"].cpu_time is not None and out["busy"].cpu_time > 0
        assert out["py"].exit_code is None
        assert out["py"].cpu_time is not None and out["py"].cpu_time >= 0

    def test_shell_timeout_kills_the_process_group(self, backend: Executor, tmp_path: Path) -> None:
        inst = make_instance(
            tmp_path,
            "slow",
            command="echo $$ > bash.pid; sleep 1000 & sleep 1000 & bash -c 'sleep 1000' & wait",
            timeout=0.5,
        )
        out = run_all(backend, [inst], tmp_path / "logs")["slow"]
        assert out.status is Status.FAILED
        assert out.error is not None and "timed out after 0.5 s" in out.error
        pgid = int((tmp_path / "bash.pid").read_text())
        assert wait_gone(pgid) == []

    def test_two_steps_run_concurrently(self, backend: Executor, tmp_path: Path) -> None:
        if backend.name == "serial":
            pytest.skip("serial runs one step at a time by design")
        steps = [
            make_instance(tmp_path, "a", command="sleep 0.5"),
            make_instance(tmp_path, "b", uses="testexec.sleep", params={"seconds": 0.5}),
        ]
        got = run_all(backend, steps, tmp_path / "logs")
        a, b = got["a"], got["b"]
        assert a.status is Status.COMPLETED and b.status is Status.COMPLETED
        assert max(a.started, b.started) < min(a.ended, b.ended), "the two steps did not overlap"

    def test_python_timeout(self, backend: Executor, tmp_path: Path) -> None:
        seconds = 0.6 if backend.name == "threads" else 1000  # threads can only report it
        inst = make_instance(tmp_path, "t", uses="testexec.sleep", params={"seconds": seconds}, timeout=0.2)
        out = run_all(backend, [inst], tmp_path / "logs")["t"]
        assert out.status is Status.FAILED
        assert out.error is not None and "timed out" in out.error

    def test_cancel_all_kills_running_work(self, backend: Executor, tmp_path: Path) -> None:
        if backend.name == "serial":
            inst = make_instance(tmp_path, "q", command="true")
            backend.submit(inst, 1, str(tmp_path / "q.log"))
            backend.cancel_all()
            assert backend.running() == 0 and backend.wait(0.1) == []
            return
        for name in ("c1", "c2"):
            inst = make_instance(tmp_path, name, command=f"echo $$ > {name}.pid; sleep 1000")
            backend.submit(inst, 1, str(tmp_path / f"{name}.log"))
        pgids = [int(wait_file(tmp_path / f"{n}.pid")) for n in ("c1", "c2")]
        backend.cancel_all()
        assert backend.running() == 0
        for pgid in pgids:
            assert wait_gone(pgid) == []
        # still usable afterwards
        after = make_instance(tmp_path, "after", command="echo ok > after.txt")
        assert run_all(backend, [after], tmp_path / "logs")["after"].status is Status.COMPLETED

    # -- the attempt's log: header, the step's own output, one outcome line -----------------

    def test_failed_shell_step_log_says_the_failure_once(self, backend: Executor,
                                                         tmp_path: Path) -> None:
        inst = make_instance(tmp_path, "f[x]", command="echo oops >&2; exit 2", retries=1)
        out = run_all(backend, [inst], tmp_path / "logs")["f[x]"]
        assert out.status is Status.FAILED and out.error == "command failed (exit status 2)"
        lines = log_lines(out)
        assert lines[0] == "[mi-run] instance f[x], attempt 1 of 2"
        assert STARTED.match(lines[1]), lines[1]
        assert len(lines) == 5
        assert lines[2:4] == ["[mi-run] $ echo oops >&2; exit 2", "oops"]
        assert re.fullmatch(r"\[mi-run\] failed after \d+\.\d s: command failed \(exit status 2\)",
                            lines[4])

    def test_python_step_log_names_the_function_and_its_params(self, backend: Executor,
                                                                tmp_path: Path) -> None:
        inst = make_instance(tmp_path, "w", uses="testexec.write", params={"text": "hi"},
                             outputs={"out": "o.txt"})
        out = run_all(backend, [inst], tmp_path / "logs")["w"]
        assert out.status is Status.COMPLETED, out.error
        lines = log_lines(out)
        assert lines[0] == "[mi-run] instance w, attempt 1 of 1"
        assert STARTED.match(lines[1]), lines[1]
        assert lines[2:4] == ["[mi-run] uses testexec.write", '[mi-run] params {"text": "hi"}']
        assert "writing" in lines[4] and "just a warning" in lines[5]
        assert re.fullmatch(r"\[mi-run\] completed in \d+\.\d s", lines[-1]) and len(lines) == 7

    @pytest.mark.parametrize(("uses", "text", "hint"), [
        ("testexec.raise", "ValueError: boom from the step", None),
        ("testexec.steperror", "sample sheet has no 'run' column", "add a 'run' column"),
        ("testexec.report_failure", "first problem; second problem", None),
    ])
    def test_python_failure_text_is_in_the_log_once(self, backend: Executor, tmp_path: Path,
                                                    uses: str, text: str,
                                                    hint: str | None) -> None:
        out = run_all(backend, [make_instance(tmp_path, "p", uses=uses)], tmp_path / "logs")["p"]
        log = Path(out.log_path).read_text()
        assert log.count(text) == 1, log
        assert re.search(rf"^\[mi-run\] failed after \d+\.\d s: {re.escape(text)}$", log, re.M)
        assert (f"[mi-run] hint: {hint}" in log) is (hint is not None)
        assert ("Traceback" in log) is (uses == "testexec.raise")

    def test_a_failed_tool_output_is_not_repeated_by_the_outcome(self, backend: Executor,
                                                                  tmp_path: Path) -> None:
        """``context.run``'s error quotes the tool's last lines (for callers without a log);
        the log holds them already, so its outcome line leaves them out."""
        out = run_all(backend, [make_instance(tmp_path, "t", uses="testexec.tool")],
                      tmp_path / "logs")["t"]
        assert out.error is not None and out.error.endswith("tool-said")
        lines = log_lines(out)
        assert lines.count("tool-said") == 1
        assert lines[-1].startswith("[mi-run] hint: see the full log")
        assert lines[-2].startswith("[mi-run] failed after ")
        assert "command failed with exit status 4" in lines[-2]

    def test_each_attempt_has_its_own_log_never_appended(self, backend: Executor,
                                                         tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        inst = make_instance(tmp_path, "again", command="echo said-once", retries=2)
        first = run_all(backend, [inst], logs)["again"]
        second = run_all(backend, [inst], logs)["again"]  # the same path: written afresh
        third = run_all(backend, [inst], logs / "2", attempt=2)["again"]
        assert first.log_path == second.log_path != third.log_path
        for out, attempt in ((second, 1), (third, 2)):
            lines = log_lines(out)
            assert lines[0] == f"[mi-run] instance again, attempt {attempt} of 3"
            assert lines[3] == "said-once" and len(lines) == 5
            assert lines[4].startswith("[mi-run] completed in ")
