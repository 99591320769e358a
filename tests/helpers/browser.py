"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP API (no Selenium).

Enough to load a page, run JavaScript in it and click elements: the HTML graph's tests load
the page the way a user's browser does. ``Browser.available()`` says whether Debian's
``chromium`` and ``chromium-driver`` are installed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from typing import Any

CHROMIUM = ("chromium", "chromium-browser")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


class Browser:
    def __init__(self, width: int = 1200, height: int = 800) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._driver = subprocess.Popen([str(shutil.which("chromedriver")), f"--port={port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        binary = next(b for b in map(shutil.which, CHROMIUM) if b)
        options = {"binary": binary, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                              f"--window-size={width},{height}"]}
        caps = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        self._session = self._call("POST", "/session", {"capabilities": caps})["sessionId"]

    @staticmethod
    def available() -> bool:
        return shutil.which("chromedriver") is not None and any(map(shutil.which, CHROMIUM))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())["value"]

    def _session_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self._session}{path}", body)

    def open(self, url: str) -> None:
        self._session_call("POST", "/url", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: ``return ...``) in the page."""
        return self._session_call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, selector: str, using: str = "css selector") -> None:
        """A real click (as a user's) on the element ``selector`` finds (``using``: ``css
        selector`` or ``xpath``)."""
        element = self._session_call("POST", "/element", {"using": using, "value": selector})
        self._session_call("POST", f"/element/{element[ELEMENT]}/click", {})

    def log(self) -> list[dict[str, Any]]:
        """The browser console's messages so far (errors included)."""
        return list(self._session_call("POST", "/se/log", {"type": "browser"}))

    def close(self) -> None:
        try:
            self._call("DELETE", f"/session/{self._session}")
        finally:
            self._driver.terminate()
            self._driver.wait(timeout=30)
