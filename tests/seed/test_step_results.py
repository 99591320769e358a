"""Steps that return MetaInformAnt's result standard: ``{"status": "skipped", "reason": ...}``
is shown as skipped with that reason, ``warnings`` are shown, in the live log, the end
summary, ``mi-run status``, the run record and the report."""

from __future__ import annotations

import json
from pathlib import Path

import tests.helpers.seed_steps  # noqa: F401  (registers the seedtest.* steps)
from tests.helpers.running import cli, dry, write_spec

SPEC = """
name: seedres
steps:
  - name: trim_empty
    uses: seedtest.trim
    inputs: {reads: empty.txt}
    outputs: {trimmed: out/empty.trimmed}
  - name: trim_full
    uses: seedtest.trim
    inputs: {reads: full.txt}
    outputs: {trimmed: out/full.trimmed}
  - name: shrug
    uses: seedtest.skip_silently
  - name: never
    run: echo never > never.txt
    outputs: {out: never.txt}
    enabled: false
"""


def _setup(work: Path) -> None:
    write_spec(work, SPEC)
    (work / "empty.txt").write_text("")
    (work / "full.txt").write_text("ACGTAC\nAC\nGTT\nACGTTT\n")  # two reads under 4 bases


def _latest_record(work: Path) -> dict:
    runs = sorted((work / ".mi" / "runs").glob("*.json"))
    return json.loads(runs[-1].read_text())


def test_skip_reason_and_warnings_in_the_summary_and_live_log(work: Path) -> None:
    _setup(work)
    code, _, err = cli("wf.yaml", "-j1", "--backend", "threads")
    assert code == 0, err
    assert "skipped     trim_empty: no reads in empty.txt" in err  # the live log
    assert "mi-run: seedres: 1 completed, 0 up to date, 2 skipped, 1 disabled in" in err
    assert "skipped trim_empty: no reads in empty.txt" in err
    assert "skipped shrug: the step gave no reason" in err
    assert "warnings (1):\n  trim_full: 2 read(s) shorter than 4 bases" in err
    assert (work / "out/full.trimmed").read_text().splitlines() == ["ACGT", "AC", "GTT", "ACGT"]
    assert not (work / "out/empty.trimmed").exists()


def test_status_and_rerun_say_the_step_skipped(work: Path) -> None:
    _setup(work)
    assert cli("wf.yaml", "-j1", "--backend", "threads")[0] == 0
    code, out, _ = cli("status", "wf.yaml")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["trim_empty"].endswith(
        "skipped by the step: no reads in empty.txt (asked again next run)")
    assert rows["trim_full"].endswith("up to date")
    assert rows["never"].endswith("disabled")
    # A skip is the step's decision on this run: the next run asks it again, and says why.
    plan = dry("wf.yaml")
    assert plan["trim_empty"] == ("run", ["skipped by the step last time: no reads in empty.txt"])
    assert plan["trim_full"][0] == "skip"
    # Once there is something to do, it does it.
    (work / "empty.txt").write_text("GATTACA\n")
    code, _, err = cli("wf.yaml", "-j1", "--backend", "threads")
    assert code == 0, err
    assert (work / "out/empty.trimmed").read_text() == "GATT\n"
    assert "skipped trim_empty" not in err


def test_run_record_and_report_show_skips_and_warnings(work: Path) -> None:
    _setup(work)
    code, _, err = cli("wf.yaml", "-j1", "--backend", "threads", "--report", "report.html")
    assert code == 0, err
    entries = {e["id"]: e for e in _latest_record(work)["instances"]}
    assert entries["trim_empty"]["status"] == "skipped"
    assert entries["trim_empty"]["skip_reason"] == "no reads in empty.txt"
    assert entries["shrug"]["skip_reason"] == "the step gave no reason"
    assert entries["trim_full"]["status"] == "completed"
    assert "skip_reason" not in entries["trim_full"]
    assert entries["trim_full"]["warnings"] == ["2 read(s) shorter than 4 bases"]
    assert entries["never"]["status"] == "skipped" and "skip_reason" not in entries["never"]
    assert entries["never"]["reasons"][0].startswith("disabled")
    html = (work / "report.html").read_text()
    notes = html[html.index('<section id="notes">'):]
    notes = notes[:notes.index("</section>")]
    assert "2 skipped, 1 warnings" in notes
    assert "<td>no reads in empty.txt</td>" in notes
    assert "<td>2 read(s) shorter than 4 bases</td>" in notes
    assert 'href="#notes"' in html
    assert "never" not in notes  # disabled is not skipped by the step


def test_a_report_without_skips_or_warnings_has_no_notes_section(work: Path) -> None:
    write_spec(work, """
        name: plain
        steps:
          - name: a
            run: echo a > a.txt
            outputs: {out: a.txt}
        """)
    code, _, err = cli("wf.yaml", "--backend", "threads", "--report", "report.html")
    assert code == 0, err
    html = (work / "report.html").read_text()
    assert '<section id="notes">' not in html and 'href="#notes"' not in html
