"""Bad numbers on the command line or in the engine's MI_* variables are usage errors (exit 2,
one clear line, no traceback), reported before anything runs or is written (issue #11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import UsageError
from engine.running.options import make_run_options
from tests.helpers.refusing import refused
from tests.helpers.running import cli, env, mi, write_spec

SPEC = """
name: usage
steps:
  - name: a
    run: "echo a > {{ outputs.o }}"
    outputs: {o: a.txt}
"""


@pytest.fixture
def spec(work: Path) -> Path:
    return write_spec(work, SPEC)


@pytest.mark.parametrize(("args", "words"), [
    (["-j", "0"], "-j/--jobs must be a whole number of at least 1, got 0"),
    (["-j", "-1"], "-j/--jobs must be a whole number of at least 1, got -1"),
    (["--resources", "mem=abc"], "--resources expects NAME=INTEGER (a whole number >= 0), "
                                 "got 'mem=abc'"),
    (["--resources", "mem"], "got 'mem'"),
    (["--resources", "=5"], "got '=5'"),
    (["--resources", "mem_mb=-5"], "got 'mem_mb=-5'"),
])
def test_bad_command_line_numbers(work: Path, spec: Path, args: list[str], words: str) -> None:
    err = refused(work, str(spec), *args)
    assert err.startswith("error: ") and words in err


@pytest.mark.parametrize(("name", "value", "words"), [
    ("MI_JOBS", "abc", "MI_JOBS must be a whole number of at least 1, got 'abc'"),
    ("MI_JOBS", "0", "MI_JOBS must be a whole number of at least 1, got '0'"),
    ("MI_JOBS", "2.5", "got '2.5'"),
    ("MI_DASK_CONNECT_TIMEOUT", "soon", "MI_DASK_CONNECT_TIMEOUT must be a number of seconds "
                                        "greater than 0, got 'soon'"),
    ("MI_DASK_CONNECT_TIMEOUT", "-1", "got '-1'"),
    ("MI_DEBUG", "maybe", "MI_DEBUG must be one of 1, true, yes, on, 0, false, no, off"),
])
def test_bad_engine_variables(work: Path, spec: Path, monkeypatch: pytest.MonkeyPatch,
                              name: str, value: str, words: str) -> None:
    monkeypatch.setenv(name, value)
    err = refused(work, str(spec))
    assert err.startswith("error: ") and words in err and "unset it or set" in err


def test_good_engine_variables_are_read(work: Path, spec: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MI_JOBS", "3")
    monkeypatch.setenv("MI_DEBUG", "off")
    monkeypatch.setenv("MI_DASK_CONNECT_TIMEOUT", "7.5")
    assert make_run_options().jobs == 3
    assert make_run_options(jobs=1).jobs == 1  # -j wins over MI_JOBS
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 0, err


def test_mi_debug_off_keeps_tracebacks_hidden(work: Path, spec: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """MI_DEBUG=0 means off (any non-empty value used to turn debugging on)."""
    monkeypatch.setenv("MI_DEBUG", "0")
    code, _, err = cli(str(spec), "--dry-run", "--only", "nope")
    assert code == 2 and err.startswith("error: unknown step 'nope'")


def test_python_api_rejects_zero_jobs() -> None:
    with pytest.raises(UsageError, match="at least 1, got 0"):
        make_run_options(jobs=0)
    with pytest.raises(UsageError, match="NAME=INTEGER"):
        make_run_options(resources={"mem_mb": "lots"})


def test_bad_variable_as_the_user_runs_it(work: Path, spec: Path) -> None:
    """The console script, in a process of its own: one line, exit 2, no traceback."""
    variables = dict(env(), MI_JOBS="many")
    proc = subprocess.run([sys.executable, "-m", "engine.cli", str(spec)], cwd=work,
                          env=variables, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: MI_JOBS must be a whole number") and "Traceback" \
        not in proc.stderr
    assert sorted(os.listdir(work)) == ["wf.yaml"]
    assert mi(work, str(spec), "-j", "1").returncode == 0  # and a good run still works
