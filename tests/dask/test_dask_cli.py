"""``mi-run SPEC --backend dask`` end to end: a scheduler and two workers as separate OS processes
(``dask scheduler`` / ``dask worker``), one worker SIGKILLed mid-run; and dry-runs that do not
depend on the backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DASK = str(Path(sys.executable).with_name("dask"))
N = 20


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    env.pop("MI_STEP_MODULES", None)
    env.pop("MI_DASK_SCHEDULER", None)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` + two ``dask worker --nworkers 1 --nthreads 1`` processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"  # also their cwd: nothing may land in the checkout
    logs.mkdir()
    scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    worker = [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
              "--host", "127.0.0.1", "--memory-limit", "0"]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    with open(logs / "scheduler.log", "wb") as s_log, open(logs / "workers.log", "wb") as w_log:
        try:
            procs.append(subprocess.Popen(scheduler, env=_env(), cwd=logs,
                                          stdout=subprocess.DEVNULL, stderr=s_log))  # fmt: skip
            for i in range(2):
                procs.append(subprocess.Popen([*worker, "--name", f"w{i}"], env=_env(),
                                              cwd=logs, stdout=subprocess.DEVNULL,
                                              stderr=w_log))  # fmt: skip
            from distributed import Client

            with Client(address, timeout=30) as client:
                client.wait_for_workers(2, timeout=60)
            yield address, procs
        finally:
            _stop(procs)


SPEC = f"""
name: dask-e2e
config:
  items: {list(range(N))}
steps:
  - name: part
    foreach: "{{{{ items }}}}"
    retries: 1
    run: "sleep 0.4; echo $(( {{{{ item }}}} * {{{{ item }}}} )) > {{{{ outputs.out }}}}"
    outputs: {{out: "out/{{{{ item }}}}.txt"}}
  - name: total
    inputs: {{parts: "{{{{ steps.part.outputs.out }}}}"}}
    run: "cat {{{{ inputs.parts }}}} | paste -sd+ | bc > {{{{ outputs.out }}}}"
    outputs: {{out: out/total.txt}}
"""


def _worker_running_a_step(nanny: subprocess.Popen[bytes], limit: float = 30.0) -> int:
    """PID of the worker process under ``nanny`` once it runs a shell step (bash's parent)."""
    import psutil

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for child in psutil.Process(nanny.pid).children(recursive=True):
            try:
                if child.name() == "bash" and "sleep 0.4" in " ".join(child.cmdline()):
                    parent = child.parent()
                    if parent is not None:
                        return parent.pid
            except psutil.Error:
                continue
        time.sleep(0.02)
    raise AssertionError("no step ever ran on this worker")


@pytest.mark.slow
def test_run_survives_a_killed_worker(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    address, procs = dask_cluster
    (tmp_path / "spec.yaml").write_text(SPEC)
    cmd = [PYTHON, "-m", "engine.cli", "spec.yaml", "--backend", "dask", "--scheduler", address,
           "-j", "2"]  # fmt: skip
    run = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)  # fmt: skip
    try:
        while len(list((tmp_path / "out").glob("*.txt"))) < 3:  # mid-run, not at the start
            assert run.poll() is None, run.communicate()
            time.sleep(0.02)
        victim = _worker_running_a_step(procs[1])
        os.kill(victim, signal.SIGKILL)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    text = err.decode()
    assert run.returncode == 0, text
    assert "worker died" in text and "(attempt 2)" in text, text
    for i in range(N):
        assert (tmp_path / f"out/{i}.txt").read_text() == f"{i * i}\n"
    assert (tmp_path / "out/total.txt").read_text() == f"{sum(i * i for i in range(N))}\n"
    again = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, timeout=120)
    assert again.returncode == 0 and "all up to date" in again.stderr.decode()


@pytest.mark.slow
def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    env = _env() | {"MI_DASK_CONNECT_TIMEOUT": "2"}
    got = subprocess.run(
        [PYTHON, "-m", "engine.cli", "spec.yaml", "--backend", "dask", "--scheduler",
         f"tcp://127.0.0.1:{_free_port()}"],
        cwd=tmp_path, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert got.returncode == 2
    assert "cannot connect to the Dask scheduler" in got.stderr.decode()
    assert not (tmp_path / "out").exists()


def test_dry_run_does_not_depend_on_the_backend(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    outputs = []
    for extra in ([], ["--backend", "dask"], ["--backend", "dask", "--scheduler",
                                               "tcp://127.0.0.1:9"]):
        got = subprocess.run(
            [PYTHON, "-m", "engine.cli", "spec.yaml", "--dry-run", *extra],
            cwd=tmp_path, env=_env(), capture_output=True, timeout=60,
        )  # fmt: skip
        assert got.returncode == 0, got.stderr.decode()
        outputs.append((got.stdout, got.stderr))
    assert outputs[0] == outputs[1] == outputs[2]
    assert b"part" in outputs[0][0] + outputs[0][1]
    assert not (tmp_path / "out").exists() and not (tmp_path / ".mi").exists()


@pytest.mark.slow
def test_lost_scheduler_fails_in_flight_steps(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine import registry
    from engine.executors import Outcome, make_executor
    from engine.model import Status, StepInstance

    address, procs = dask_cluster
    monkeypatch.setattr(registry.REGISTRY, "_steps", {})  # other test modules' steps: not needed here
    executor = make_executor("dask", scheduler=address, tmp_root=str(tmp_path))
    executor.start(2)
    try:
        for name in ("a", "b"):
            inst = StepInstance(id=name, step=name, uses=None, params={}, inputs={}, outputs={},
                                command=f"echo started > {name}.txt; sleep 5",
                                work_dir=str(tmp_path))  # fmt: skip
            executor.submit(inst, 1, str(tmp_path / f"{name}.log"))
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"{n}.txt").exists() for n in "ab"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        procs[0].kill()  # the scheduler
        got: list[Outcome] = []
        while len(got) < 2 and time.monotonic() < deadline:
            got += executor.wait(1.0)
        assert sorted(o.instance_id for o in got) == ["a", "b"]
        for outcome in got:
            assert outcome.status is Status.FAILED
            assert "lost the connection to the Dask scheduler" in (outcome.error or "")
        assert executor.running() == 0
        late = StepInstance(id="late", step="late", uses=None, params={}, inputs={}, outputs={},
                            command="true", work_dir=str(tmp_path))  # fmt: skip
        executor.submit(late, 1, str(tmp_path / "late.log"))
        [outcome] = executor.wait(5.0)
        assert outcome.status is Status.FAILED and "lost the connection" in (outcome.error or "")
    finally:
        started = time.monotonic()
        executor.shutdown()
        assert time.monotonic() - started < 30, "shutdown hung without a scheduler"
