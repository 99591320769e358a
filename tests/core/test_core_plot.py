"""core.plot: real image files in every format, and clear errors for bad params."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import StepError

TABLE = "sample\tgroup\treads\tq30\nA\tctl\t1000\t0.91\nB\tctl\t1500\t0.88\nC\ttrt\t800\t0.95\n"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "qc.tsv"
    path.write_text(TABLE)
    return path


def test_png_bar_chart_has_requested_pixel_size(tmp_path, table, run_step):
    from matplotlib.image import imread

    out = tmp_path / "plots" / "reads.png"
    result = run_step("core.plot", {"kind": "bar", "x": "sample", "y": "reads", "title": "Reads",
                                    "width": 4, "height": 3, "dpi": 50},
                      inputs={"table": table}, outputs={"plot": out})
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(out)
    assert pixels.shape[:2] == (150, 200)  # height x width = 3 in x 50 dpi, 4 in x 50 dpi
    assert pixels.std() > 0  # something was drawn
    assert result["metadata"] == {"rows": 3, "format": "png"}


def test_svg_and_pdf_are_valid_and_reproducible(tmp_path, table, run_step):
    params = {"kind": "scatter", "x": "reads", "y": "q30", "hue": "group", "log_x": True}
    svg = tmp_path / "a.svg"
    run_step("core.plot", params, inputs={"table": table}, outputs={"plot": svg})
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and text.rstrip().endswith("</svg>")
    again = tmp_path / "b.svg"
    run_step("core.plot", params, inputs={"table": table}, outputs={"plot": again})
    assert again.read_bytes() == svg.read_bytes()
    pdf = tmp_path / "a.pdf"
    run_step("core.plot", params, inputs={"table": table}, outputs={"plot": pdf})
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


@pytest.mark.parametrize("params", [
    {"kind": "line", "x": "reads", "y": ["q30", "reads"], "log_y": True},
    {"kind": "histogram", "x": "reads", "bins": 5, "hue": "group"},
    {"kind": "bar", "x": "group", "y": "reads", "hue": "sample", "xlabel": "g", "ylabel": "n"},
])
def test_other_kinds_draw(tmp_path, table, run_step, params):
    out = tmp_path / "p.png"
    run_step("core.plot", params, inputs={"table": table}, outputs={"plot": out})
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 1000


def test_errors_name_the_problem(tmp_path, table, run_step):
    out = tmp_path / "p.png"
    with pytest.raises(StepError, match=r"'y': column 'read' is not in .*available columns: "
                                        r"sample, group, reads, q30"):
        run_step("core.plot", {"kind": "bar", "x": "sample", "y": "read"},
                 inputs={"table": table}, outputs={"plot": out})
    with pytest.raises(StepError, match="unknown image format"):
        run_step("core.plot", {"x": "reads", "y": "q30"}, inputs={"table": table},
                 outputs={"plot": tmp_path / "p.jpeg"})
    with pytest.raises(StepError, match="'ctl' appears more than once"):
        run_step("core.plot", {"kind": "bar", "x": "group", "y": "reads"},
                 inputs={"table": table}, outputs={"plot": out})
    with pytest.raises(StepError, match="histogram counts the values of 'x'"):
        run_step("core.plot", {"kind": "histogram", "x": "reads", "y": "q30"},
                 inputs={"table": table}, outputs={"plot": out})
    with pytest.raises(StepError, match="kind 'line' needs 'y'"):
        run_step("core.plot", {"kind": "line", "x": "reads"}, inputs={"table": table},
                 outputs={"plot": out})
    with pytest.raises(StepError, match="histogram needs a numeric 'x'"):
        run_step("core.plot", {"kind": "histogram", "x": "sample"}, inputs={"table": table},
                 outputs={"plot": out})
    assert not out.exists()


def test_params_schema_rejects_bad_kind():
    from engine.params import params_problems
    from engine.registry import get_step

    problems = params_problems(get_step("core.plot").params_schema, {"kind": "pie", "x": "a"})
    assert problems and "not one of" in problems[0][1]
    assert params_problems(get_step("core.plot").params_schema, {"kind": "bar"})  # x required
