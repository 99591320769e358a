"""Commands run without bash (engine/executors/direct.py): what is taken, what is left to bash,
and, with bash itself as the judge, that a taken command gets the argv, files and environment
bash would have given it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.executors.direct import (
    DirectCommand,
    Redirect,
    direct_command,
    program_env,
    program_path,
    usable_env,
)

W, A = os.O_WRONLY | os.O_CREAT | os.O_TRUNC, os.O_WRONLY | os.O_CREAT | os.O_APPEND


@pytest.mark.parametrize(("command", "argv", "redirects"), [
    ("kallisto quant -i idx -o out/a r1.fq r2.fq", ["kallisto", "quant", "-i", "idx", "-o",
                                                    "out/a", "r1.fq", "r2.fq"], []),
    ("  cat a.txt > out/b.txt  ", ["cat", "a.txt"], [(1, "out/b.txt", W)]),
    ("echo hello world >>log 2>err", ["echo", "hello", "world"], [(1, "log", A), (2, "err", W)]),
    ("sort < in.txt > 'my out.txt'", ["sort"], [(0, "in.txt", os.O_RDONLY), (1, "my out.txt", W)]),
    ("""printenv "a b" '$HOME' x=1""", ["printenv", "a b", "$HOME", "x=1"], []),
    ("wc -l '' x", ["wc", "-l", "", "x"], []),
    ("tool 2>> e.log a", ["tool", "a"], [(2, "e.log", A)]),
])
def test_one_program_with_file_redirections_is_taken(
        command: str, argv: list[str], redirects: list[tuple[int, str, int]]) -> None:
    assert direct_command(command) == DirectCommand(
        tuple(argv), tuple(Redirect(*r) for r in redirects))


@pytest.mark.parametrize("command", [
    "echo $HOME", "echo ${x}", "echo `date`", "echo $(date)", 'echo "$x"', "ls *.txt",
    "ls a?", "ls [ab]", "ls ~/x", "echo {a,b}", r"echo a\ b", "echo a # comment", "a | b",
    "a; b", "a && b", "a || b", "a &", "(a)", "x=1 cmd", "cmd <<EOF", "cmd <<< x", "cmd <> f",
    "cmd >&2", "cmd 2>&1", "cmd &> f", "cmd >| f", "cmd > >(tee x)", "cmd 3> f", "cmd 12> f",
    "cmd x>f", "cmd '2'>f", "cmd >", "cmd > ''", "cmd >a>b", "cmd > /dev/stdout",
    "cmd > /dev/tcp/127.0.0.1/80", "cmd 2< f", "cmd 'unbalanced", "a\nb", "cd out",
    "export A=1", "printf '%s' x", "test -f x", "[ -f x ]", "true", ":", "if x", "exec cmd",
    "source env.sh", ". env.sh", "echo -n x", "echo -e 'a'", "echo --help", "%1", "^a^b", "",
    "   ", "> f", "! cmd", "{ cmd; }", "cmd !x", "time cmd", "cmd\tx\\", 'cmd "a\\b"',
    'cmd "!x"',
])
def test_shell_syntax_and_bash_builtins_are_left_to_bash(command: str) -> None:
    assert direct_command(command) is None


def test_a_program_is_found_as_bash_finds_it(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    env = {"PATH": f"/nonexistent:{tmp_path / 'bin'}:/usr/bin"}
    assert program_path("tool", env, str(tmp_path)) is None  # not executable yet
    tool.chmod(0o755)
    assert program_path("tool", env, str(tmp_path)) == str(tool)
    assert program_path("bin/tool", env, str(tmp_path)) == "bin/tool"
    assert program_path("no-such-tool", env, str(tmp_path)) is None
    (tmp_path / "bin" / "adir").mkdir()
    assert program_path("adir", env, str(tmp_path)) is None
    # bash's echo is its builtin even when PATH has another echo first: coreutils' is taken
    (tmp_path / "bin" / "echo").write_text("#!/bin/sh\necho not bash's\n")
    (tmp_path / "bin" / "echo").chmod(0o755)
    assert program_path("echo", env, str(tmp_path)) in ("/usr/bin/echo", "/bin/echo")


def test_an_environment_bash_would_add_to_is_left_to_bash() -> None:
    assert usable_env({"PATH": "/usr/bin"})
    for extra in ({"BASH_ENV": "x"}, {"BASH_FUNC_tool%%": "() { :; }"},
                  {"POSIXLY_CORRECT": "1"}, {"ENV": "x"}):
        assert not usable_env({"PATH": "/usr/bin", **extra})


# -- bash as the judge --------------------------------------------------------------------------

DUMP = """#!/usr/bin/python3
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in ("PWD", "SHLVL", "_")}}))
print("to stderr", file=sys.stderr)
"""

_word = st.one_of(
    st.text("abcXYZ019_./:=,+@%^-", min_size=1, max_size=6),
    st.text("ab c$`\\!*?~{}#;|&()<>\"=", max_size=6).map(lambda t: "'" + t.replace("'", "") + "'"),
    st.text("ab c$`\\!*?~{}#;|&()<>'=", max_size=6).map(lambda t: '"' + t.replace('"', "") + '"'),
    st.sampled_from([">", ">>", "<", "2>", "2>>", "2>&1", ">&2", "&", ";", "|", "*", "~",
                     "$X", "#", "{a,b}", "\\x", "3>", ">|", "<<", "(", ")", "x>", "a=b"]),
)
_target = st.sampled_from(["o1", "o2", "'o 3'", "o1", "in.txt", "/dev/null"])


def _command(words: list[str], targets: list[str]) -> str:
    """Words, with every redirection operator followed by one of the targets."""
    out, targets = [], list(targets)
    for word in words:
        out.append(word)
        if word in (">", ">>", "<", "2>", "2>>") and targets:
            out.append(targets.pop())
    return "dump " + " ".join(out)


def _run(argv: list[str], env: dict[str, str], cwd: Path, redirects=()) -> tuple[str, dict]:
    """Run ``argv`` in ``cwd`` (stdout, stderr to files), then what it printed and the files."""
    for old in cwd.iterdir():
        old.unlink()
    (cwd / "in.txt").write_text("input\n")
    with open(cwd / "stdout", "wb") as out, open(cwd / "stderr", "wb") as err:
        if redirects:
            fds = {r.fd: os.open(cwd / r.path, r.flags, 0o666) for r in redirects}
            # later redirections of one fd win, as in bash (earlier ones still opened the file)
            pass_fds = {0: subprocess.DEVNULL, 1: out, 2: err} | fds
            proc = subprocess.run(argv, cwd=cwd, env=env, stdin=pass_fds[0], stdout=pass_fds[1],
                                  stderr=pass_fds[2], check=False)
            for fd in fds.values():
                os.close(fd)
        else:
            proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=err, check=False)
    files = {p.name: p.read_text() for p in sorted(cwd.iterdir()) if p.is_file()}
    return str(proc.returncode), files


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_word, max_size=6), targets=st.lists(_target, max_size=4),
       shlvl=st.sampled_from([None, "2", "x"]))
def test_bash_runs_every_taken_command_as_the_engine_would(
        tmp_path: Path, words: list[str], targets: list[str], shlvl: str | None) -> None:
    command = _command(words, targets)
    direct = direct_command(command)
    if direct is None:
        return
    (tmp_path / "bin").mkdir(exist_ok=True)
    dump = tmp_path / "bin" / "dump"
    dump.write_text(DUMP)
    dump.chmod(0o755)
    base = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PWD": "/"}
    if shlvl is not None:
        base["SHLVL"] = shlvl
    work = tmp_path / "w"
    work.mkdir(exist_ok=True)
    by_bash = _run(["bash", "-euo", "pipefail", "-c", command], base, work)
    path = program_path(direct.argv[0], base, str(work))
    assert path == str(dump)
    env = program_env(base, path, str(work), forked=bool(direct.redirects))
    try:
        by_engine = _run([path, *direct.argv[1:]], env, work, direct.redirects)
    except FileNotFoundError:  # `< missing`: the spawn fails and the engine runs bash
        assert "No such file or directory" in by_bash[1]["stderr"] and by_bash[0] == "1"
        return
    assert by_engine == by_bash, command


def test_echo_prints_what_bashs_echo_prints(tmp_path: Path) -> None:
    for command in ["echo", "echo a  'b  c' \"d\"", "echo ''", "echo 'a\\nb'", "echo x=1 a:b"]:
        direct = direct_command(command)
        assert direct is not None and direct.argv[0] == "echo"
        env = {"PATH": "/usr/bin:/bin"}
        path = program_path("echo", env, str(tmp_path))
        assert path is not None
        bash = subprocess.run(["bash", "-c", command], capture_output=True, check=True)
        own = subprocess.run([path, *direct.argv[1:]], capture_output=True, check=True, env=env)
        assert own.stdout == bash.stdout, command


def test_program_env_is_bashs(tmp_path: Path) -> None:
    for env, forked in [({"PATH": "/usr/bin"}, False), ({"PATH": "/usr/bin", "SHLVL": "4"}, True),
                        ({"PATH": "/usr/bin", "PWD": str(tmp_path)}, True)]:
        printed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "printenv PWD SHLVL _" + (" > out" if forked else "")],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
        if forked:
            printed = (tmp_path / "out").read_text()
        got = program_env(env, "/usr/bin/printenv", str(tmp_path), forked)
        assert printed.split() == [got["PWD"], got["SHLVL"], got["_"]]
