"""Stage 1: YAML text -> plain values, with the line/column of every value and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.yamlload import load_yaml_file, load_yaml_text

TEXT = """\
name: demo
steps:
  - name: a
    run: echo hi
    outputs:
      x: a.txt
  - name: b
    foreach: [1, 2]
"""


def test_values_are_plain_python() -> None:
    doc = load_yaml_text(TEXT, "spec.yaml")
    assert doc.data == {"name": "demo", "steps": [
        {"name": "a", "run": "echo hi", "outputs": {"x": "a.txt"}},
        {"name": "b", "foreach": [1, 2]}]}
    assert type(doc.data) is dict and type(doc.data["steps"]) is list


def test_marks_of_values_keys_and_list_items() -> None:
    marks = load_yaml_text(TEXT, "spec.yaml").marks
    assert marks.path == "spec.yaml"
    assert marks.at(()) == (1, 1)
    assert marks.at(("name",)) == (1, 7)
    assert marks.at(("steps", 0)) == (3, 5)
    assert marks.at(("steps", 0, "run")) == (4, 10)
    assert marks.at(("steps", 0, "outputs"), key=True) == (5, 5)
    assert marks.at(("steps", 0, "outputs", "x")) == (6, 10)
    assert marks.at(("steps", 1, "foreach", 1)) == (8, 18)


def test_marks_fall_back_to_the_nearest_enclosing_value() -> None:
    marks = load_yaml_text(TEXT, "spec.yaml").marks
    assert marks.at(("steps", 0, "inputs", "reads")) == marks.at(("steps", 0))
    assert marks.at(("steps", 7)) == marks.at(("steps",))
    assert marks.at(("nowhere",)) == marks.at(())


def test_diagnostic_carries_the_place() -> None:
    marks = load_yaml_text(TEXT, "spec.yaml").marks
    diag = marks.diagnostic(("steps", 1, "foreach"), "bad fan-out", "fix it")
    assert (diag.path, diag.line, diag.col, diag.hint) == ("spec.yaml", 8, 14, "fix it")
    assert diag.render(with_source=False).startswith("spec.yaml:8:14: error: bad fan-out")


def test_duplicate_keys_are_errors_with_the_later_line() -> None:
    with pytest.raises(SpecError) as info:
        load_yaml_text("a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n", "dup.yaml")
    found = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    assert [(line, col) for line, col, _ in found] == [(3, 1), (6, 3)]
    assert "duplicate key 'a'" in found[0][2] and "duplicate key 'x'" in found[1][2]


def test_merge_keys_without_override() -> None:
    doc = load_yaml_text("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  z: 3\n")
    assert doc.data["derived"] == {"x": 1, "y": 2, "z": 3}


def test_merge_keys_are_expanded_without_false_duplicates() -> None:
    doc = load_yaml_text("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n")
    assert doc.data["derived"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\n\tb: 2\n", 2),
    ("a:\n  - x\n - y\n", 3),
    ("a: [1, 2\nb: 3\n", 2),
    ("a: 'unclosed\n", 2),
])
def test_invalid_yaml_has_a_line(text: str, line: int) -> None:
    with pytest.raises(SpecError) as info:
        load_yaml_text(text, "bad.yaml")
    (diag,) = info.value.diagnostics
    assert diag.message.startswith("invalid YAML")
    assert diag.line == line and diag.path == "bad.yaml" and diag.hint


def test_empty_document_is_none() -> None:
    assert load_yaml_text("", "e.yaml").data is None
    assert load_yaml_text("# only a comment\n", "e.yaml").data is None


def test_multiple_documents_are_an_error() -> None:
    with pytest.raises(SpecError, match="invalid YAML"):
        load_yaml_text("a: 1\n---\nb: 2\n")


def test_non_scalar_keys_become_strings() -> None:
    doc = load_yaml_text("? [1, 2]\n: x\n1: y\nnull: z\n")
    assert doc.data == {"[1, 2]": "x", 1: "y", None: "z"}


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_yaml_file(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SpecError, match="cannot read file"):
        load_yaml_file(binary)
    good = tmp_path / "good.yaml"
    good.write_text("a: 1\n")
    assert load_yaml_file(good).marks.path == str(good)
