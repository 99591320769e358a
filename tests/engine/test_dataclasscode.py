"""Compiled dataclass methods kept between runs (engine/dataclasscode.py): a class made from
kept code is the class Python makes, bit for bit; a damaged file is ignored; only the command
line installs it. Each case runs in a fresh interpreter with its own cache directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers.running import ROOT, write_spec

# Shapes that exercise every generated method: frozen (__setattr__, __delattr__, __hash__),
# defaults and factories (__init__), order (__lt__...), slots, keyword-only, InitVar.
CLASSES = """
from dataclasses import InitVar, dataclass, field
from typing import Mapping

@dataclass(frozen=True)
class Frozen:
    a: int
    b: str = "x"
    c: tuple[int, ...] = field(default_factory=tuple)
    d: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)

@dataclass(order=True, slots=True)
class Ordered:
    x: float
    y: list = field(default_factory=list, compare=False)

@dataclass(kw_only=True, eq=False)
class Keywords:
    name: str
    seed: InitVar[int] = 0
    def __post_init__(self, seed): self.twice = seed * 2
"""

PROBE = """
import dataclasses, inspect, json, sys
sys.path.insert(0, {root!r})
from engine import dataclasscode
if {install}:
    dataclasscode.install()
namespace = {{}}
exec(compile({classes!r}, "classes", "exec"), namespace)
Frozen, Ordered, Keywords = namespace["Frozen"], namespace["Ordered"], namespace["Keywords"]
def codes(cls):
    return {{name: repr((f.__code__.co_code, f.__code__.co_consts, f.__code__.co_names,
                         f.__code__.co_varnames, f.__code__.co_filename, f.__code__.co_flags))
             for name, f in sorted(vars(cls).items()) if inspect.isfunction(f)}}
f = Frozen(1)
try:
    f.a = 2
    frozen = "no"
except dataclasses.FrozenInstanceError:
    frozen = "yes"
facts = {{
    "codes": [codes(c) for c in (Frozen, Ordered, Keywords)],
    "signatures": [str(inspect.signature(c)) for c in (Frozen, Ordered, Keywords)],
    "annotations": [repr(c.__init__.__annotations__) for c in (Frozen, Ordered, Keywords)],
    "behaviour": [repr(f), f == Frozen(1, "x", (), {{"k": 1}}), hash(f) == hash(Frozen(1)), frozen,
                  Ordered(1.0) < Ordered(2.0), Ordered(1.0, [1]) == Ordered(1.0, [2]),
                  Keywords(name="n", seed=3).twice, Keywords(name="n") == Keywords(name="n")],
    "compiled": dataclasscode._compiled,
}}
dataclasscode.save()
print(json.dumps(facts))
"""


def probe(cache: Path, install: bool) -> dict[str, object]:
    script = PROBE.format(root=str(ROOT), install=install, classes=CLASSES)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_classes_from_kept_code_are_the_classes_python_makes(tmp_path: Path) -> None:
    plain = probe(tmp_path, install=False)
    first = probe(tmp_path, install=True)  # compiles and keeps
    again = probe(tmp_path, install=True)  # from the kept code
    assert first["compiled"] is True and again["compiled"] is False
    for facts in (first, again):
        for key in ("codes", "signatures", "annotations", "behaviour"):
            assert facts[key] == plain[key], key
    assert plain["behaviour"][3] == "yes"  # (the probe itself can tell a frozen class)


def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    plain = probe(tmp_path, install=False)
    probe(tmp_path, install=True)
    [kept] = (tmp_path / "mi-run" / "code").iterdir()
    kept.write_bytes(b"\x00not marshal")
    damaged = probe(tmp_path, install=True)
    assert damaged["compiled"] is True and damaged["codes"] == plain["codes"]
    assert probe(tmp_path, install=True)["compiled"] is False  # written anew


def test_the_command_line_keeps_the_code_and_import_engine_does_not_patch(tmp_path: Path) -> None:
    write_spec(tmp_path, "name: k\nsteps:\n  - name: a\n    run: 'echo a > {{ outputs.o }}'\n"
                         "    outputs: {o: a.txt}\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", "wf.yaml", "--force-all"],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    [kept] = (tmp_path / "cache" / "mi-run" / "code").iterdir()
    written = kept.stat().st_mtime_ns
    subprocess.run([sys.executable, "-m", "engine.cli", "wf.yaml", "--force-all"],
                   cwd=tmp_path, env=env, capture_output=True, check=True)
    assert kept.stat().st_mtime_ns == written  # nothing new to keep: not rewritten
    library = textwrap.dedent("""
        import dataclasses, engine
        engine.load("wf.yaml").plan()
        print(hasattr(dataclasses, "exec"))
    """)
    out = subprocess.run([sys.executable, "-c", library], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
