"""The report and the trace, drawn from run records (made-up ones: tests/helpers/records.py);
the browser test of a real run's report is tests/run/test_report_browser.py."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from engine.render.report import ASSETS, dag_svg, report_html, write_report
from engine.render.reportdata import MARK, assign_slots, log_tails, page_data, step_status
from engine.render.reporttables import metrics, step_metrics
from engine.render.trace import COLUMNS, trace_rows, write_trace
from tests.helpers.records import synthetic_record

FIVE_MB = 5 * 1024 * 1024


def page_json(text: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="mi-data">(.*?)</script>', text, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_a_report_of_10000_instances_is_one_small_file(tmp_path: Path) -> None:
    record = synthetic_record(10_000)
    size = write_report(record, tmp_path / "report.html")
    assert size < FIVE_MB, f"{size / 1e6:.2f} MB"
    text = (tmp_path / "report.html").read_text()
    data = page_json(text)
    assert len(data["instances"]) == 10_002  # index, 10,000 quant, merge
    assert len(data["timeline"]) == 10_001  # every attempt; merge never started
    assert {row[0] for row in data["instances"]} == {e["id"] for e in record["instances"]}
    # the 10,000 quant commands differ only by their item: one entry in the string table
    # (the other one is the index instance's, which has no item)
    assert sum(1 for s in data["strings"] if s.startswith("kallisto quant")) == 2


def test_the_page_needs_nothing_from_outside() -> None:
    text = report_html(synthetic_record(5))
    assert "<script src" not in text and "<link" not in text
    assert not re.search(r'(?:src|href)="(?:https?:)?//', text)
    assert "@import" not in text and "url(http" not in text
    for name in ASSETS:
        assert resources.files("engine.render").joinpath("assets", name).read_text() in text
    licence = resources.files("engine.render").joinpath("assets", "LICENSE.svg-pan-zoom.txt")
    assert "Redistribution and use" in licence.read_text()


def test_the_string_table_gives_back_every_text() -> None:
    record = synthetic_record(30)
    data = page_data(record, {})
    fields = data["fields"]
    for row, entry in zip(data["instances"], record["instances"]):
        detail = row[fields.index("detail")]
        label = entry["id"][len(entry["step"]) + 1:-1] if "[" in entry["id"] else ""
        command = data["strings"][detail["c"]].replace(MARK, label)
        assert command == entry["command"]
        paths = [data["strings"][f[1]].replace(MARK, label) for f in detail.get("out", [])]
        assert paths == [f["path"] for f in entry["outputs"]]


def test_big_input_lists_are_cut_with_the_count_of_the_rest() -> None:
    data = page_data(synthetic_record(120), {})
    merge = data["instances"][-1][data["fields"].index("detail")]
    assert len(merge["in"]) == 51
    assert data["strings"][merge["in"][-1][0]] == "... 70 more"


def test_worker_slots_are_assigned_greedily() -> None:
    assert assign_slots([(0, 2), (1, 3), (2, 4), (5, 6), (5, 7)]) == [0, 1, 0, 0, 1]
    assert assign_slots([]) == []
    many = assign_slots([(i * 0.5, i * 0.5 + 2) for i in range(20)])
    assert max(many) == 3  # four spans overlap at once, never more


def test_a_step_takes_the_colour_of_its_most_telling_outcome() -> None:
    assert step_status({"completed": 9, "failed": 1}) == "failed"
    assert step_status({"completed": 2, "up to date": 5}) == "completed"
    assert step_status({"up to date": 5, "not selected": 1}) == "up to date"


@pytest.mark.parametrize("use_dot", [True, False])
def test_the_dag_is_drawn_with_or_without_graphviz(use_dot: bool) -> None:
    if use_dot and shutil.which("dot") is None:
        pytest.skip("graphviz 'dot' is not installed (make tools)")
    svg = dag_svg(synthetic_record(4), use_dot=use_dot)
    assert f'data-layout="{"dot" if use_dot else "layers"}"' in svg
    steps = re.findall(r'<g class="node[^"]*" data-step="([^"]+)" data-status="([^"]+)"', svg)
    assert steps == [("index", "completed"), ("quant", "failed"), ("merge", "not started")]
    assert 'data-step="index" data-status="completed" data-count="1" data-instance="index"' in svg
    assert len(re.findall(r'<path class="edge"', svg)) == 2
    y = {s: float(m) for s, m in re.findall(r'data-step="(\w+)"[^>]*translate\([\d.]+,([\d.]+)\)', svg)}
    assert y["index"] < y["quant"] < y["merge"]


def test_log_tails_keep_every_failure_and_a_budget_of_the_rest(tmp_path: Path) -> None:
    record = synthetic_record(40, failed=0)
    for number, entry in enumerate(record["instances"][:-1]):
        log = tmp_path / f"{number}.log"
        log.write_text("".join(f"{entry['id']} line {i}\n" for i in range(50)))
        entry["log"] = str(log)
    record["instances"][5].update(status="failed", log_tail=None)
    tails = log_tails(record, budget=1000)
    assert tails[5].splitlines() == [f"quant[SRR1000005] line {i}" for i in range(30, 50)]
    others = [i for i in tails if i != 5]
    assert others and others == list(range(len(others)))  # in plan order, until the budget
    assert len(others) < 40
    assert all(len(tails[i].splitlines()) <= 10 for i in others)


def test_the_trace_has_a_row_per_attempt(tmp_path: Path) -> None:
    record = synthetic_record(3, failed=1)
    retried = record["instances"][1]
    first = dict(retried["attempt_list"][0], status="failed", exit_code=-9, ended=retried["started"] + 1)
    second = dict(retried["attempt_list"][0], attempt=2, submitted=retried["started"] + 2,
                  started=retried["started"] + 2)
    retried["attempt_list"] = [first, second]
    assert write_trace(record, tmp_path / "t.tsv") == 5
    lines = (tmp_path / "t.tsv").read_text().splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    rows = [dict(zip(COLUMNS, line.split("\t"))) for line in lines[1:]]
    assert [r["task_id"] for r in rows] == ["1", "2", "3", "4", "5"]  # in submission order
    assert [r["name"] for r in rows] == ["index", "quant[SRR1000001]", "quant[SRR1000002]",
                                         "quant[SRR1000003]", "quant[SRR1000001]"]
    assert [(r["attempt"], r["status"], r["exit"]) for r in (rows[1], rows[4])] == [
        ("1", "failed", "-9"), ("2", "failed", "1")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", rows[0]["start"])
    assert rows[0]["realtime"] == "0.500" and rows[0]["%cpu"] == "80.0"
    assert rows[0]["peak_rss"] == "40.0" and rows[0]["cpu_time"] == "0.400"
    assert rows[0]["log"] == "/data/project/.mi/logs/index/SRR1000000.log"
    assert len(trace_rows(synthetic_record(10))) == 11


def test_step_metrics_show_what_steps_returned_in_output_and_metadata() -> None:
    record = synthetic_record(3, failed=0)
    first, second = record["instances"][1], record["instances"][2]
    first.update(output={"hits": 3}, metadata={"lambda_gc": 1.0213, "execution_time": 0.5,
                                               "peak_mem_mb": 80.0, "table": [1, 2]})
    second.update(output={}, metadata={"lambda_gc": 0.98, "model": "linear"})
    assert step_metrics(first) == {"hits": 3, "lambda_gc": 1.0213}  # engine keys, lists: no
    html = metrics(record)
    section = html[html.index("<h3>quant</h3>"):]
    assert "lambda_gc" in section and "1.0213" in section and "linear" in section
    assert "execution_time" not in html and "peak_mem_mb" not in html
    assert "0.98 / 1.001 / 1.021" in section  # min / median / max over the fan-out
