"""What a run prints (issue #11): -q and -v, progress lines in causal order, the dry-run
summary's 'not selected', a misspelt subcommand."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.running import cli, mi, write_spec

CHAIN = """
name: chain
steps:
  - name: a
    run: "echo a > {{ outputs.o }}"
    outputs: {o: a.txt}
  - name: b
    inputs: {i: "{{ steps.a.outputs.o }}"}
    run: "cat {{ inputs.i }} > {{ outputs.o }}"
    outputs: {o: b.txt}
  - name: c
    inputs: {i: "{{ steps.b.outputs.o }}"}
    run: "cat {{ inputs.i }} > {{ outputs.o }}"
    outputs: {o: c.txt}
"""


def test_progress_lines_are_in_causal_order(work: Path) -> None:
    write_spec(work, CHAIN)
    result = mi(work, "wf.yaml", "-j", "1")
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ", 1)[1] for line in result.stderr.splitlines()
             if re.match(r"\d\d:\d\d:\d\d ", line)]  # each event line starts with a time
    events = [line.split()[:2] for line in lines if line.startswith(("start", "done"))]
    assert events == [["start", "a"], ["done", "a"], ["start", "b"], ["done", "b"],
                      ["start", "c"], ["done", "c"]]


def test_quiet_prints_only_the_final_line(work: Path) -> None:
    write_spec(work, CHAIN)
    result = mi(work, "wf.yaml", "-q")
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr.splitlines() == ["mi-run: chain: 3 completed, 0 up to date in "
                                          + result.stderr.split(" in ")[-1].strip()]


def test_quiet_still_prints_failures(work: Path) -> None:
    write_spec(work, CHAIN.replace('run: "echo a > {{ outputs.o }}"', 'run: "exit 3"'))
    result = mi(work, "wf.yaml", "-q")
    assert result.returncode == 1
    assert re.search(r"^\d\d:\d\d:\d\d FAILED      a: command failed \(exit status 3\)$",
                     result.stderr, re.M)
    assert "start       " not in result.stderr


def test_verbose_prints_each_command(work: Path) -> None:
    write_spec(work, CHAIN)
    result = mi(work, "wf.yaml", "-v", "-j", "1")
    assert result.returncode == 0
    assert re.search(r" start       b  \[never run\]\n\d\d:\d\d:\d\d             "
                     r"\$ cat a.txt > b.txt\n", result.stderr)


def test_quiet_and_verbose_together_is_a_usage_error(work: Path) -> None:
    write_spec(work, CHAIN)
    result = mi(work, "wf.yaml", "-q", "-v")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_the_dry_run_summary_counts_not_selected_apart(work: Path) -> None:
    write_spec(work, CHAIN)
    code, out, _ = cli("wf.yaml", "--dry-run", "--until", "b")
    assert code == 0
    assert "summary: 2 to run, 0 up to date, 0 disabled, 0 pending expansion, 1 not selected" in out


def test_a_misspelt_subcommand_is_suggested(work: Path) -> None:
    write_spec(work, CHAIN)
    code, _, err = cli("stauts", "wf.yaml")
    assert code == 2
    assert "'stauts' is neither a spec file nor a command; did you mean 'mi-run status ...'?" in err


def test_force_help_says_what_force_does(work: Path) -> None:
    """--force STEP reruns STEP; its dependents rerun only if its outputs change (the help
    said they always did). The behaviour itself: tests/run/test_run_reasons.py."""
    result = mi(work, "--help")
    text = " ".join(result.stdout.split())
    assert "--force STEP rerun STEP even if up to date; what depends on it reruns only if " \
           "STEP's outputs change" in text
