"""A spec parsed once is recalled without PyYAML, and the recalled document is the one the
parser gives: the same values (types included), the same marks, errors found every time."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import SpecError
from engine.spec import yamlcache
from engine.spec.yamlload import load_yaml_file, load_yaml_text
from engine.spec.yamlparse import parse_document

SPEC = """\
name: wf  # a comment
config: {threads: 2, alpha: 1e-6, flags: [yes, no, ~], when: "2024-01-01"}
steps:
  - &base
    name: a
    run: "echo {{ threads }} > {{ outputs.o }}"
    outputs: {o: out.txt}
  - <<: *base
    name: b
"""


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out: 1, 1.0 and True must stay apart."""
    if isinstance(value, dict):
        return [(_typed(k), _typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, repr(value))


def _entries(cache: Path) -> list[Path]:
    folder = cache / "mi-run" / "parsed"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_recalled_document_is_the_parsed_one(cache: Path) -> None:
    parsed = parse_document(SPEC, "first.yaml", "error")
    first = load_yaml_text(SPEC, "first.yaml")  # parsed, then kept
    assert len(_entries(cache)) == 1
    again = load_yaml_text(SPEC, "elsewhere/second.yaml")  # recalled
    for document in (first, again):
        assert _typed(document.data) == _typed(parsed.data)
        assert document.marks.values == parsed.marks.values
        assert document.marks.keys == parsed.marks.keys
    assert again.marks.path == "elsewhere/second.yaml"
    assert again.marks.at(("steps", 1, "name")) == (9, 11)


def test_a_recall_imports_no_yaml(tmp_path: Path, cache: Path) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(SPEC)
    probe = ("import sys; from engine.spec.yamlload import load_yaml_file; "
             "d = load_yaml_file(sys.argv[1]); print('yaml' in sys.modules, d.data['name'])")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    seen = [subprocess.run([sys.executable, "-c", probe, str(spec)], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert seen == [["True", "wf"], ["False", "wf"]]


def test_errors_are_found_every_time(cache: Path) -> None:
    for _ in range(2):
        with pytest.raises(SpecError, match="duplicate key 'name'"):
            load_yaml_text("name: a\nname: b\n", "wf.yaml")
        with pytest.raises(SpecError, match="invalid YAML"):
            load_yaml_text("steps: [a,\n", "wf.yaml")
    assert _entries(cache) == []


def test_a_document_with_warnings_is_parsed_each_time(cache: Path) -> None:
    for _ in range(2):
        document = load_yaml_text("threads: 1\nthreads: 2\n", "c.yaml", repeated_keys="warn")
        assert document.data == {"threads": 2} and len(document.warnings) == 1
    assert _entries(cache) == []


def test_dates_are_loaded_but_not_kept(cache: Path) -> None:
    for _ in range(2):
        assert load_yaml_text("when: 2024-01-02\n").data == {"when": datetime.date(2024, 1, 2)}
    assert _entries(cache) == []


def test_the_duplicate_key_mode_is_part_of_the_key(cache: Path) -> None:
    load_yaml_text("a: 1\n", repeated_keys="error")
    load_yaml_text("a: 1\n", repeated_keys="warn")
    assert len(_entries(cache)) == 2


def test_a_damaged_entry_is_parsed_again(cache: Path) -> None:
    load_yaml_text(SPEC)
    (entry,) = _entries(cache)
    for damage in (b"", b"\x00garbage", entry.read_bytes()[:20]):
        entry.write_bytes(damage)
        assert load_yaml_text(SPEC).data["steps"][1]["name"] == "b"


def test_an_unwritable_cache_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    spec = tmp_path / "wf.yaml"
    spec.write_text(SPEC)
    assert load_yaml_file(spec).data["name"] == load_yaml_file(spec).data["name"] == "wf"


def test_the_cache_keeps_a_bounded_number_of_documents(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlcache, "KEEP", 4)
    for n in range(9):
        load_yaml_text(f"n: {n}\n")
    assert 2 <= len(_entries(cache)) <= 4
    assert load_yaml_text("n: 8\n").data == {"n": 8}


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                    st.floats(allow_nan=False))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=DOCUMENTS, flow=st.booleans())
def test_any_document_recalls_as_parsed(cache: Path, value: Any, flow: bool) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow)
    parsed = parse_document(text, "x.yaml", "error")
    for _ in range(2):
        document = load_yaml_text(text, "x.yaml")
        assert _typed(document.data) == _typed(parsed.data)
        assert document.marks.values == parsed.marks.values
        assert document.marks.keys == parsed.marks.keys
