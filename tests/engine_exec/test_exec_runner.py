"""engine.runner.execute directly: the step-result contract, paths, memory figures."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.executors.markers import read_marker
from engine.executors.worker import execute
from engine.model import Status
from tests.helpers.executors import make_instance


def _run(tmp_path: Path, **fields: object):
    inst = make_instance(tmp_path, "x", **fields)
    return execute(inst, 1, str(tmp_path / "logs" / "x.log"), str(tmp_path / "tmp"))


def test_skipped_result_keeps_output_and_needs_no_outputs(tmp_path: Path) -> None:
    out = _run(tmp_path, uses="testexec.skip", outputs={"o": "not-made.txt"})
    assert out.status is Status.SKIPPED
    assert out.output == {"why": "nothing to do"}
    assert out.output_fps == {}


def test_relative_paths_are_resolved_against_work_dir(tmp_path: Path) -> None:
    out = _run(tmp_path, uses="testexec.write", outputs={"out": "sub/o.txt"})
    assert out.status is Status.COMPLETED, out.error
    assert (tmp_path / "sub/o.txt").exists()


def test_unknown_step_function_fails_cleanly(tmp_path: Path) -> None:
    out = _run(tmp_path, uses="testexec.no_such_step")
    assert out.status is Status.FAILED
    assert out.error is not None and "testexec.no_such_step" in out.error


def test_killed_shell_command_names_the_signal(tmp_path: Path) -> None:
    out = _run(tmp_path, command="kill -SEGV $$")
    assert out.status is Status.FAILED
    assert out.error is not None and "SIGSEGV" in out.error


def test_peak_memory_of_python_and_shell_steps(tmp_path: Path) -> None:
    py = _run(tmp_path, uses="testexec.memory", params={"mb": 150}, outputs={"out": "m.txt"})
    assert py.status is Status.COMPLETED, py.error
    assert py.peak_mem_mb is not None and py.peak_mem_mb >= 150
    alloc = f"{sys.executable} -c 'b = bytearray(180 * 2**20); b[::4096] = b\"x\" * len(b[::4096])'"
    sh = _run(tmp_path, command=alloc)
    assert sh.status is Status.COMPLETED, sh.error
    assert sh.peak_mem_mb is not None and sh.peak_mem_mb >= 180
    assert sh.metadata["peak_mem_mb"] == sh.peak_mem_mb
    assert sh.metadata["execution_time"] > 0


def test_marker_exists_only_while_running(tmp_path: Path) -> None:
    marker = tmp_path / "m.run"
    # The worker writes the marker just after starting bash: wait for it (a bounded while).
    wait = f"for i in $(seq 500); do [ -s {marker} ] && break; sleep 0.01; done"
    inst = make_instance(tmp_path, "x", command=f"{wait}; cat {marker} > seen.txt")
    out = execute(inst, 1, str(tmp_path / "x.log"), str(tmp_path / "tmp"), marker=str(marker))
    assert out.status is Status.COMPLETED, out.error
    assert not marker.exists()
    marker.write_text((tmp_path / "seen.txt").read_text())
    info = read_marker(str(marker))
    assert info is not None and info.pgid is not None and info.tmp_dir.startswith(str(tmp_path))
