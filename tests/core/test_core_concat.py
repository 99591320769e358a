"""core.concat: order, byte-exactness, header handling, errors, many parts."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from engine import StepError
from engine.params import params_problems
from engine.registry import get_step


def parts(tmp_path: Path, texts: list[str], suffix: str = ".txt") -> list[Path]:
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / "in" / f"p{i:06d}{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def test_concat_is_cat_in_declared_order(tmp_path, run_step):
    a, b, c = parts(tmp_path, ["one\n", "two", "three\n"])
    out = tmp_path / "out" / "all.txt"
    result = run_step("core.concat", inputs={"parts": [c, a, b]}, outputs={"out": out})
    assert out.read_bytes() == b"three\none\ntwo"
    assert result["metadata"]["parts"] == 3


def test_concat_of_gzip_parts_is_valid_gzip(tmp_path, run_step):
    paths = []
    for i, text in enumerate(["@r1\nACGT\n+\nIIII\n", "@r2\nGGCC\n+\nIIII\n"]):
        path = tmp_path / f"s{i}.fq.gz"
        path.write_bytes(gzip.compress(text.encode()))
        paths.append(path)
    out = tmp_path / "all.fq.gz"
    run_step("core.concat", inputs={"parts": paths}, outputs={"out": out})
    assert gzip.decompress(out.read_bytes()) == b"@r1\nACGT\n+\nIIII\n@r2\nGGCC\n+\nIIII\n"


def test_header_mode_keeps_one_header_and_fixes_missing_newlines(tmp_path, run_step):
    paths = parts(tmp_path, ["id\tn\na\t1", "", "id\tn\nb\t2\nc\t3\n", "id\tn\n"])
    out = tmp_path / "table.tsv"
    run_step("core.concat", {"header": True}, inputs={"parts": paths}, outputs={"out": out})
    assert out.read_text() == "id\tn\na\t1\nb\t2\nc\t3\n"


def test_header_mismatch_names_the_file(tmp_path, run_step):
    paths = parts(tmp_path, ["id\tn\na\t1\n", "id\tcount\nb\t2\n"])
    with pytest.raises(StepError, match=r"p000001\.txt.*differs.*'id\\tcount'"):
        run_step("core.concat", {"header": True}, inputs={"parts": paths},
                 outputs={"out": tmp_path / "t.tsv"})


def test_errors_missing_input_and_two_outputs(tmp_path, run_step):
    (a,) = parts(tmp_path, ["x\n"])
    with pytest.raises(StepError, match=r"1 input file.*missing.*nope"):
        run_step("core.concat", inputs={"parts": [a, tmp_path / "nope"]},
                 outputs={"out": tmp_path / "o"})
    with pytest.raises(StepError, match="exactly one output, but 2"):
        run_step("core.concat", inputs={"parts": [a]},
                 outputs={"out": [tmp_path / "o", tmp_path / "p"]})
    with pytest.raises(StepError, match="no input files"):
        run_step("core.concat", inputs={"parts": []}, outputs={"out": tmp_path / "o"})


def test_unknown_param_is_a_schema_error():
    problems = params_problems(get_step("core.concat").params_schema, {"headers": True})
    assert problems and "unknown param 'headers'" in problems[0][1]
    assert "did you mean 'header'" in (problems[0][2] or "")


def test_thousands_of_parts(tmp_path, run_step):
    paths = parts(tmp_path, [f"{i}\n" for i in range(1000)])
    out = tmp_path / "all.txt"
    run_step("core.concat", inputs={"parts": paths}, outputs={"out": out})
    assert out.read_text().split() == [str(i) for i in range(1000)]


@pytest.mark.slow
def test_100k_parts(tmp_path, run_step):
    paths = parts(tmp_path, [f"{i}\n" for i in range(100_000)])
    out = tmp_path / "all.txt"
    run_step("core.concat", {"header": False}, inputs={"parts": paths}, outputs={"out": out})
    lines = out.read_text().split("\n")
    assert len(lines) == 100_001 and lines[0] == "0" and lines[99_999] == "99999"
