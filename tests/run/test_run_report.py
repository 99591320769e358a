"""``--report``, ``--trace`` and ``mi-run report`` on real runs (what the page shows in a
browser: tests/run/test_report_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engine.render.trace import COLUMNS
from tests.helpers.running import cli, write_spec

SPEC = """
name: rep
steps:
  - name: make
    foreach: [a, b]
    run: "echo {{ item }} > {{ outputs.o }}"
    outputs: {o: "out/{{ item }}.txt"}
  - name: flaky
    run: "if [ -f tried ]; then echo ok > {{ outputs.o }}; else touch tried; exit 5; fi"
    retries: 1
    outputs: {o: flaky.txt}
  - name: bad
    run: "echo broken beyond repair >&2; exit 2"
    inputs: {a: out/a.txt}
    outputs: {o: bad.txt}
"""


def page(path: Path) -> dict[str, Any]:
    found = re.search(r'id="mi-data">(.*?)</script>', path.read_text(), re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def trace(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    return [dict(zip(COLUMNS, line.split("\t"))) for line in lines[1:]]


def test_a_run_writes_its_report_and_trace(work: Path) -> None:
    write_spec(work, SPEC)
    code, _, err = cli("wf.yaml", "-k", "-j", "2", "--report", "views/r.html",
                       "--trace", "views/t.tsv")
    assert code == 1
    assert "report written to views/r.html" in err and "trace written to views/t.tsv (5 attempts)" in err
    rows = trace(work / "views/t.tsv")
    flaky = [(r["attempt"], r["status"], r["exit"]) for r in rows if r["name"] == "flaky"]
    assert flaky == [("1", "failed", "5"), ("2", "completed", "0")]
    assert {r["name"] for r in rows} == {"make[a]", "make[b]", "flaky", "bad"}
    assert [r["task_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    data = page(work / "views/r.html")
    assert [row[0] for row in data["instances"]] == ["make[a]", "make[b]", "flaky", "bad"]
    assert len(data["timeline"]) == 5
    assert "broken beyond repair" in (work / "views/r.html").read_text()


def test_mi_run_report_writes_the_latest_run_or_the_one_asked(work: Path) -> None:
    write_spec(work, SPEC)
    assert cli("wf.yaml", "-k")[0] == 1
    (work / "tried").unlink()
    assert cli("wf.yaml", "-k", "--force-all")[0] == 1
    runs = sorted(p.stem for p in (work / ".mi/runs").glob("*.json"))
    code, _, err = cli("report", "wf.yaml")
    assert code == 0, err
    assert (work / "report.html").exists() and "written to report.html" in err
    latest = json.loads(sorted((work / ".mi/runs").glob("*.json"),
                               key=lambda p: p.stat().st_mtime)[-1].read_text())["run_id"]
    assert f"report of run {latest}" in err
    older = next(r for r in runs if r != latest)
    code, _, err = cli("report", "wf.yaml", "--run", older[:22], "-o", "old.html")
    assert code == 0, err
    assert f"report of run {older} (failed)" in err and (work / "old.html").exists()
    code, _, err = cli("report", "wf.yaml", "--run", "20000101")
    assert code == 2 and "no run with id '20000101'" in err


def test_mi_run_report_without_a_recorded_run_says_what_to_do(work: Path) -> None:
    write_spec(work, SPEC)
    code, _, err = cli("report", "wf.yaml")
    assert code == 2
    assert "no recorded run of workflow 'rep'" in err and "run the workflow first" in err
    assert not (work / "report.html").exists()


def test_a_run_with_nothing_to_do_reports_the_latest_run(work: Path) -> None:
    write_spec(work, SPEC.split("  - name: flaky")[0])
    assert cli("wf.yaml")[0] == 0
    code, _, err = cli("wf.yaml", "--report", "r.html", "--trace", "t.tsv")
    assert code == 0
    assert "nothing ran; reporting the latest run" in err
    assert len(trace(work / "t.tsv")) == 2
    assert [row[0] for row in page(work / "r.html")["instances"]] == ["make[a]", "make[b]"]
