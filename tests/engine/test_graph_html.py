"""The HTML graph in a real browser (headless Chromium): it pans, zooms, and shows a node's
reasons and files when the node is clicked (issue #12)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.test_graph import SPEC
from tests.helpers.browser import Browser

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Browser.available() or shutil.which("dot") is None,
                       reason="needs chromium, chromium-driver and graphviz"),
]

VIEWBOX = "return document.querySelector('#graph svg').getAttribute('viewBox').split(' ').map(Number)"
PANEL = "return document.getElementById('details').innerText.split('\\n').filter(Boolean)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


@pytest.fixture
def page(cli, spec_file, workdir: Path) -> str:
    assert cli(str(spec_file(SPEC)), "--graph", "plan.html")[0] == 0
    return (workdir / "plan.html").as_uri()


def test_clicking_a_node_shows_its_reasons_files_and_command(browser: Browser, page: str) -> None:
    browser.open(page)
    assert browser.run("return document.querySelectorAll('#graph g.node').length") == 4
    browser.click("//*[local-name()='g'][@class='node'][*[local-name()='title']='count']",
                  using="xpath")
    panel = browser.run(PANEL)
    assert panel[:2] == ["count ×3", "3/3 will run"]
    for line in ("why (1)", "never run (×3)", "runs", "count[a]: $ echo a > a.n",
                 "outputs (3)", "a.n", "b.n", "c.n", "instances (3)", "count[c]"):
        assert line in panel
    assert browser.run("return location.hash") == "#node=count"
    assert browser.run("return document.querySelectorAll('g.node.selected').length") == 1
    assert [e for e in browser.log() if e.get("level") == "SEVERE"] == []


def test_the_graph_zooms_pans_and_fits(browser: Browser, page: str) -> None:
    browser.open(page)
    home = browser.run(VIEWBOX)
    browser.run("var s = document.querySelector('#graph svg'), r = s.getBoundingClientRect();"
                "s.dispatchEvent(new WheelEvent('wheel', {deltaY: -120, clientX: r.left + 50,"
                " clientY: r.top + 50, bubbles: true, cancelable: true}));")
    zoomed = browser.run(VIEWBOX)
    assert zoomed[2] == pytest.approx(home[2] * 0.8) and zoomed[3] == pytest.approx(home[3] * 0.8)
    browser.run("var s = document.querySelector('#graph svg'), r = s.getBoundingClientRect();"
                "var at = function (x) { return {clientX: r.left + x, clientY: r.top + 100,"
                " bubbles: true}; };"
                "s.dispatchEvent(new PointerEvent('pointerdown', at(300)));"
                "window.dispatchEvent(new PointerEvent('pointermove', at(200)));"
                "window.dispatchEvent(new PointerEvent('pointerup', at(200)));")
    dragged = browser.run(VIEWBOX)
    assert dragged[0] > zoomed[0] and dragged[1] == pytest.approx(zoomed[1])  # moved right
    assert dragged[2:] == zoomed[2:]
    browser.click("button[data-zoom=out]")
    assert browser.run(VIEWBOX)[2] == pytest.approx(dragged[2] * 1.25)
    browser.click("button[data-zoom=fit]")
    assert browser.run(VIEWBOX) == home


def test_a_link_to_a_node_opens_with_its_details(browser: Browser, page: str) -> None:
    browser.open(page + "#node=join")
    panel = browser.run(PANEL)
    assert panel[:2] == ["join", "will run"] and "inputs (3)" in panel and "all.n" in panel
