"""The report of a real run, opened in a real browser: headless Chromium driven by Selenium
(Debian's chromium and chromium-driver, installed by ``make tools``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.flows import shell, spec_yaml, write_flow
from tests.helpers.running import mi

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="needs Debian's chromium and chromium-driver (make tools)")

SPEC = spec_yaml(
    "browse",
    shell("fan", "echo working on {{ item }}; echo {{ item }} > {{ outputs.o }}",
          foreach=["alpha", "beta", "gamma", "delta"], outputs={"o": "out/{{ item }}.txt"}),
    shell("broken", "echo 'about to fail' ; echo 'the tool said: no such sample' >&2; exit 7",
          inputs={"a": "out/alpha.txt"}, outputs={"o": "broken.txt"}),
    shell("gather", "cat {{ inputs.parts }} > {{ outputs.o }}",
          inputs={"parts": "{{ steps.fan.outputs.o }}"}, outputs={"o": "all.txt"}),
    shell("after", "cat {{ inputs.b }} > {{ outputs.o }}", inputs={"b": "broken.txt"},
          outputs={"o": "after.txt"}))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def count(browser: Any, selector: str) -> int:
    return int(browser.execute_script("return document.querySelectorAll(arguments[0]).length",
                                      selector))


def click(browser: Any, selector: str) -> None:
    """A click as a user makes it (an SVG element has no .click() of its own)."""
    browser.execute_script("document.querySelector(arguments[0]).dispatchEvent("
                           "new MouseEvent('click', {bubbles: true}))", selector)


def test_the_report_of_a_failed_run_draws_and_answers_clicks(work: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    write_flow(work, SPEC)
    proc = mi(work, "wf.yaml", "-k", "-j", "2", "--report", "report.html")
    assert proc.returncode == 1, proc.stderr
    assert "report written to report.html" in proc.stderr
    browser.get((work / "report.html").as_uri())
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # the DAG: one box per step, coloured by outcome
    statuses = browser.execute_script(
        "return Array.from(document.querySelectorAll('#dag-svg .node')).map("
        "n => [n.dataset.step, n.dataset.status, n.dataset.count])")
    assert statuses == [["fan", "completed", "4"], ["broken", "failed", "1"],
                        ["gather", "completed", "1"], ["after", "not started", "1"]]
    assert count(browser, "#dag-svg path.edge") == 3
    # the fan-out expands into its instances: then every instance is in the DAG
    assert count(browser, "#dag-svg [data-instance]") == 3
    click(browser, '#dag-svg .toggle[data-step="fan"]')
    cells = browser.execute_script(
        "return Array.from(document.querySelectorAll('#dag-svg rect.inst')).map("
        "c => c.dataset.instance)")
    assert cells == ["fan[alpha]", "fan[beta]", "fan[gamma]", "fan[delta]"]
    assert count(browser, "#dag-svg [data-instance]") == 7
    # the timeline: a bar per attempt (the instance that never started has none)
    bars = browser.execute_script(
        "return Array.from(document.querySelectorAll('#timeline-svg rect.att')).map("
        "b => [b.dataset.instance, b.dataset.status])")
    assert sorted(bars) == sorted([["fan[alpha]", "completed"], ["fan[beta]", "completed"],
                                   ["fan[gamma]", "completed"], ["fan[delta]", "completed"],
                                   ["broken", "failed"], ["gather", "completed"]])
    assert count(browser, "#timeline-svg rect.att.failed") == 1
    # failures come first, with the log's tail
    first = browser.find_element(By.CSS_SELECTOR, "main > section")
    assert first.get_attribute("id") == "failures"
    assert "the tool said: no such sample" in first.text
    # a click on a node shows its details: instance, command, log tail
    click(browser, '#dag-svg .node[data-step="broken"]')
    details = browser.find_element(By.ID, "details")
    assert details.is_displayed()
    assert details.find_element(By.CSS_SELECTOR, ".instance-id").text == "broken"
    assert "exit 7" in details.find_element(By.CSS_SELECTOR, "pre.command").text
    assert "the tool said: no such sample" in details.find_element(By.CSS_SELECTOR,
                                                                   "pre.log-tail").text
    click(browser, '#dag-svg .node[data-step="fan"]')
    rows = [r.text for r in details.find_elements(By.CSS_SELECTOR, "table.instances code")]
    assert rows == ["fan[alpha]", "fan[beta]", "fan[gamma]", "fan[delta]"]
    assert "working on alpha" in details.find_element(By.CSS_SELECTOR, "pre.log-tail").text
    # and a cell of the expanded fan-out, or a bar of the timeline, shows that instance
    click(browser, '#dag-svg rect.inst[data-instance="fan[gamma]"]')
    assert details.find_element(By.CSS_SELECTOR, ".instance-id").text == "fan[gamma]"
    assert "echo gamma > out/gamma.txt" in details.find_element(By.CSS_SELECTOR,
                                                                "pre.command").text
    click(browser, '#timeline-svg rect.att[data-instance="gather"]')
    assert details.find_element(By.CSS_SELECTOR, ".instance-id").text == "gather"
