"""The default backend runs a ``run:`` command that is one program with file redirections
without bash (engine/executors/direct.py), as make does; everything a user can see is what
bash gives, and ``MI_ALWAYS_BASH=1`` turns it off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.flows import shell, spec_yaml, write_flow
from tests.helpers.running import logs_of, mi

# The program's parent: the engine (a python process) when spawned directly, else bash.
PARENT = "python3 -c 'import os; print(open(f\"/proc/{os.getppid()}/comm\").read().strip())'"

SPEC = spec_yaml(
    "direct",
    shell("parent", PARENT + " > {{ outputs.o }}", outputs={"o": "parent.txt"}),
    shell("sorted", "sort -r < in.txt > {{ outputs.o }} 2> sort.err", outputs={"o": "sorted.txt"}),
    shell("greet", "echo hello 'big world' > {{ outputs.o }}", outputs={"o": "greet.txt"}),
    shell("env", "python3 -c 'import json, os; print(json.dumps({k: os.environ.get(k) for k in "
                 "(\"PWD\", \"SHLVL\", \"_\", \"MI_RUN_TOKEN\")}))' >> {{ outputs.o }}",
          outputs={"o": "env.json"}),
)


def _outputs(folder: Path) -> dict[str, str]:
    return {name: (folder / name).read_text()
            for name in ("parent.txt", "sorted.txt", "greet.txt", "env.json", "sort.err")}


@pytest.fixture
def flows(tmp_path: Path) -> tuple[Path, Path]:
    folders = tmp_path / "direct", tmp_path / "bash"
    for folder in folders:
        folder.mkdir()
        write_flow(folder, SPEC, {"in.txt": "b\na\nc\n"})
    return folders


def test_a_lone_program_runs_without_bash_and_gives_what_bash_gives(
        flows: tuple[Path, Path]) -> None:
    direct, bash = flows
    assert mi(direct, "wf.yaml", "-j", "2").returncode == 0
    assert mi(bash, "wf.yaml", "-j", "2", extra_env={"MI_ALWAYS_BASH": "1"}).returncode == 0
    by_engine, by_bash = _outputs(direct), _outputs(bash)
    assert by_engine.pop("parent.txt").startswith("python")  # spawned by the engine itself
    assert by_bash.pop("parent.txt") == "bash\n"
    env_engine, env_bash = (json.loads(o.pop("env.json")) for o in (by_engine, by_bash))
    assert by_engine == by_bash == {"sorted.txt": "c\nb\na\n", "greet.txt": "hello big world\n",
                                    "sort.err": ""}
    assert env_engine["PWD"] == str(direct) and env_bash["PWD"] == str(bash)
    assert env_engine["SHLVL"] == env_bash["SHLVL"] and env_engine["_"] == env_bash["_"]
    assert env_engine["MI_RUN_TOKEN"]  # the run's token, by which orphans are found


def test_what_bash_would_report_is_reported_by_bash(tmp_path: Path) -> None:
    """A program not found, or a file a redirection cannot open: bash runs the command and
    says what is wrong, in the step's log, as without the shortcut."""
    write_flow(tmp_path, spec_yaml(
        "errs",
        shell("missing", "no-such-tool-xyz arg > {{ outputs.o }}", outputs={"o": "a.txt"}),
        shell("unread", "cat < absent.txt > {{ outputs.o }}", outputs={"o": "b.txt"})))
    proc = mi(tmp_path, "wf.yaml", "-k")
    assert proc.returncode == 1
    [missing] = logs_of(tmp_path, "missing")
    assert "no-such-tool-xyz: command not found" in missing.read_text()
    assert "exit status 127" in missing.read_text()
    [unread] = logs_of(tmp_path, "unread")
    assert "absent.txt: No such file or directory" in unread.read_text()


def test_a_timeout_stops_a_program_spawned_without_bash(tmp_path: Path) -> None:
    write_flow(tmp_path, spec_yaml(
        "slow", shell("nap", "sleep 30", outputs={"o": "never.txt"}, timeout=1)))
    proc = mi(tmp_path, "wf.yaml", timeout=60)
    assert proc.returncode == 1
    [log] = logs_of(tmp_path, "nap")
    assert "timeout" in log.read_text()
