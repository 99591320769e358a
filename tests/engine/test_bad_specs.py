"""The bad-spec corpus: every file in tests/data/bad_specs/ holds one mistake.

Each file starts with comment lines the test reads:

    # expect-line: 7            line of the reported error (in the spec, or in expect-path)
    # expect-path: configs/x    file the error points into (default: the spec itself)
    # expect: unknown key 'x'   words the error output must contain (repeatable)
    # expect-not: words         words it must not contain (repeatable)
    # args: --config configs/x  extra CLI arguments; paths are relative to the corpus folder
    # xfail: engine bug: ...    a known engine bug (strict xfail)

Every file is checked in-process through ``engine.cli.main`` (fast); a handful also through
``python -m engine.cli`` in a subprocess, the way a user runs it. Both must exit 2 with a
``path:LINE:COL: error:`` line, no traceback, and nothing written to the working directory.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.planning import DATA, PYTHON, subprocess_env

CORPUS = DATA / "bad_specs"
ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): error: ", re.M)


@dataclass
class Case:
    path: Path
    args: list[str] = field(default_factory=list)
    line: int | None = None
    error_path: str = ""
    expect: list[str] = field(default_factory=list)
    expect_not: list[str] = field(default_factory=list)
    xfail: str | None = None


def read_case(path: Path) -> Case:
    case = Case(path=path, error_path=str(path))
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        key, _, value = text[1:].strip().partition(":")
        value = value.strip()
        if key == "expect-line":
            case.line = int(value)
        elif key == "expect-path":
            case.error_path = str(CORPUS / value) if (CORPUS / value).exists() else value
        elif key == "expect":
            case.expect.append(value)
        elif key == "expect-not":
            case.expect_not.append(value)
        elif key == "args":
            case.args = [str(CORPUS / a) if (CORPUS / a).exists() else a
                         for a in shlex.split(value)]
        elif key == "xfail":
            case.xfail = value
    return case


CASES = [read_case(p) for p in sorted(CORPUS.glob("*.yaml"))]


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.path.stem, marks=marks)


def check_output(case: Case, code: int, stdout: str, stderr: str, workdir: Path) -> None:
    output = stdout + stderr
    assert "Traceback" not in output, output
    assert code == 2, output
    if case.line is not None:
        places = [(Path(m["path"]).resolve(), int(m["line"])) for m in ERROR_LINE.finditer(stderr)]
        assert places, f"no 'path:line:col: error:' line in:\n{stderr}"
        wanted = (Path(case.error_path).resolve(), case.line)
        assert wanted in places, f"expected an error at {wanted}, got {places}:\n{stderr}"
    else:
        assert f"{case.error_path}: error: " in stderr, stderr
    for words in case.expect:
        assert words in stderr, f"{words!r} missing from:\n{stderr}"
    for words in case.expect_not:
        assert words not in stderr, f"{words!r} should not be in:\n{stderr}"
    assert "nothing was run" in stderr
    assert sorted(p.name for p in workdir.iterdir()) == [], "the dry-run created files"


def test_corpus_is_large_and_annotated() -> None:
    assert len(CASES) >= 25
    for case in CASES:
        assert case.expect, f"{case.path.name} has no '# expect:' line"


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_spec_in_process(case: Case, cli, workdir: Path) -> None:
    try:
        code, out, err = cli(str(case.path), "--dry-run", *case.args)
    except Exception as exc:  # an engine bug must fail the test, not crash the run
        pytest.fail(f"Traceback: engine raised {type(exc).__name__}: {exc}")
    check_output(case, code, out, err, workdir)


SUBPROCESS_CASES = ["unknown_step_key", "cycle_references", "config_names_no_step_scalar",
                    "invalid_yaml_tab", "disabled_producer", "template_syntax_error"]


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.path.stem in SUBPROCESS_CASES])
def test_bad_spec_subprocess(case: Case, tmp_path: Path) -> None:
    proc = subprocess.run([PYTHON, "-m", "engine.cli", str(case.path), "--dry-run", *case.args],
                          cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                          timeout=60, check=False)
    check_output(case, proc.returncode, proc.stdout, proc.stderr, tmp_path)


def test_subprocess_cases_exist() -> None:
    assert set(SUBPROCESS_CASES) <= {c.path.stem for c in CASES}


def test_all_errors_are_reported_at_once(cli, workdir: Path) -> None:
    """Two independent mistakes in one file: both are reported in one run."""
    spec = workdir.parent / f"{workdir.name}-spec.yaml"
    spec.write_text("name: two\nsteps:\n  - name: a\n    ouputs: {}\n    run: x\n"
                    "  - name: b\n    run: x\n    thread: 2\n")
    try:
        code, _, err = cli(str(spec), "--dry-run")
    finally:
        spec.unlink()
    assert code == 2
    assert "unknown key 'ouputs'" in err and "unknown key 'thread'" in err
    assert "2 errors found" in err


def test_debug_flag_shows_the_traceback(cli, workdir: Path) -> None:
    """--debug re-raises the error (for developers) instead of the one-line report."""
    from engine.errors import SpecError

    with pytest.raises(SpecError):
        cli(str(CORPUS / "unknown_step_key.yaml"), "--dry-run", "--debug")
