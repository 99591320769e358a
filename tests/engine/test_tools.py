"""engine.tools: the one tool -> Debian package map, checked against the Makefile that installs
the packages, against dpkg (which package really owns each installed command) and against the
tools the step libraries ask for; require_tool's advice when a tool is missing."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.errors import ToolMissingError
from engine.tools import TOOLS, require_tool, require_tools
from tests.helpers.flows import fake_tool

CHECKOUT = Path(__file__).resolve().parents[2]
# make tools installs these for the report's browser tests only; no step runs them
BROWSER_TESTS_ONLY = {"chromium": "chromium", "chromedriver": "chromium-driver"}


def makefile_tools() -> dict[str, str]:
    """The Makefile's ``TOOLS`` pairs (``command:package``), its continuation lines joined."""
    text = (CHECKOUT / "Makefile").read_text().replace("\\\n", " ")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        found = re.match(r"TOOLS\s*[:+]?=(.*)", line)
        if found:
            pairs.update(pair.split(":", 1) for pair in found.group(1).split())
    return pairs


def debian_tools() -> dict[str, str]:
    return {name: tool.package for name, tool in TOOLS.items() if tool.package is not None}


def test_the_makefile_installs_exactly_the_tools_the_map_names() -> None:
    installed = makefile_tools()
    assert "kallisto" in installed and installed["bgzip"] == "tabix"  # the parser read it
    assert installed == {**debian_tools(), **BROWSER_TESTS_ONLY}


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg: Debian/Ubuntu only")
def test_each_installed_tool_comes_from_the_package_the_map_names() -> None:
    checked = 0
    for name, package in debian_tools().items():
        path = shutil.which(name)
        if path is None:
            continue
        owners = set()
        for candidate in dict.fromkeys([path, os.path.realpath(path)]):
            proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                  check=False)
            owners |= {o.strip() for line in proc.stdout.splitlines()
                       for o in line.split(":", 1)[0].split(",")}
        assert package in owners, f"{name}: dpkg -S says {sorted(owners)}, the map {package}"
        checked += 1
    if checked == 0:
        pytest.skip("none of the tools is installed (make tools)")


def test_every_tool_a_step_declares_or_requires_is_in_the_map() -> None:
    from engine.registry import registered_steps

    declared = {tool for info in registered_steps().values() for tool in info.tools}
    assert {"kallisto", "macs2", "dwgsim"} <= declared
    required = set()
    for source in (CHECKOUT / "stepslib").rglob("*.py"):
        for call in re.findall(r"require_tools?\(([^)]*)\)", source.read_text()):
            required |= set(re.findall(r'(?<!\[)"([\w.+-]+)"(?!\])', call))  # not config["..."]
    assert {"samtools", "bowtie2-build", "bedtools"} <= required
    assert sorted((declared | required) - set(TOOLS)) == []
    # what a step requires, make tools installs (amalgkit is checked with its own pip advice)
    assert sorted(t for t in required if TOOLS[t].package is None) == []


def test_a_missing_tool_names_its_debian_package_and_make_tools(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as caught:
        require_tool("bgzip")
    assert "required tool 'bgzip' is not on PATH" in str(caught.value)
    assert "apt-get install -y tabix" in caught.value.hint and "make tools" in caught.value.hint
    with pytest.raises(ToolMissingError) as caught:
        require_tool("bgzip", "htslib-tools")  # the caller's package wins
    assert "apt-get install -y htslib-tools" in caught.value.hint
    with pytest.raises(ToolMissingError) as caught:
        require_tool("amalgkit")  # not a Debian package: its own advice
    assert caught.value.hint == "pip install amalgkit"
    with pytest.raises(ToolMissingError) as caught:
        require_tool("some-lab-tool")  # unknown: its own name, as before the map
    assert "apt-get install -y some-lab-tool" in caught.value.hint


def test_require_tools_gives_each_path_and_stops_at_the_first_missing_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = {name: str(fake_tool(tmp_path, name, "exit 0")) for name in ("samtools", "bwa")}
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert require_tools("samtools", "bwa") == made
    with pytest.raises(ToolMissingError, match="'iqtree2'") as caught:
        require_tools("bwa", "iqtree2")
    assert "apt-get install -y iqtree" in caught.value.hint


def test_a_tool_missing_error_survives_pickling_with_its_advice() -> None:
    """Worker processes send it back to the scheduler pickled."""
    for error in (ToolMissingError("macs2", "macs"), ToolMissingError("gatk", hint="get gatk")):
        back = pickle.loads(pickle.dumps(error))
        assert (str(back), back.hint, back.package) == (str(error), error.hint, error.package)


@pytest.mark.tools
@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="dpkg: Debian/Ubuntu only")
def test_each_installed_tool_says_the_version_debian_installed() -> None:
    """The map's version arguments, checked against dpkg's record of each package: the
    upstream major.minor must be in the line the run record keeps."""
    from engine.running.toolversions import ask_versions

    present = {name: package for name, package in debian_tools().items() if shutil.which(name)}
    if not present:
        pytest.skip("none of the tools is installed (make tools)")
    answers = ask_versions({name: ["s"] for name in present}, timeout=20)
    for name, package in present.items():
        debian = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                                capture_output=True, text=True, check=True).stdout
        upstream = re.match(r"(?:\d+:)?(\d+\.\d+)", debian)
        assert upstream is not None, f"{package}: {debian}"
        line = answers[name]["version"] or ""
        if name == "dot" and debian.startswith("2.42.2-"):
            assert "graphviz version 2.43.0" in line  # Debian's 2.42.2 calls itself 2.43.0
            continue
        wanted = re.escape(upstream.group(1))
        assert re.search(rf"(?<![\d.]){wanted}(?!\d)", line), f"{name}: {line!r} ({debian})"
