"""A registered step declares its input and output names: a name it does not declare, or a
required one left out, is a located error in the dry-run and before a real run starts
(issue #11). ``mi-run steps`` lists the names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.registry import Port, registered_steps, step
from tests.helpers import exec_steps  # noqa: F401  (registers the testexec.* steps)
from tests.helpers.refusing import located, refused
from tests.helpers.running import ROOT, cli, env, write_spec

TABLE = """
name: ports
steps:
  - name: table
    run: "printf 'x\\ty\\n1\\t2\\n' > {{ outputs.t }}; echo table >> ran.log"
    outputs: {t: t.tsv}
"""


def test_a_misspelt_input_is_located_at_its_key(work: Path) -> None:
    write_spec(work, TABLE + """
  - name: chart
    uses: core.plot
    params: {x: x, y: y}
    inputs:
      tabel: "{{ steps.table.outputs.t }}"
    outputs: {plot: chart.png}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [(11, "step 'chart' (core.plot): unknown input 'tabel'")]
    assert '\n          tabel: "{{ steps' in err and "\n          ^\n" in err  # caret at the key
    assert "hint: did you mean 'table'? (core.plot reads: table)" in err
    assert "missing required input" not in err  # the suggestion covers it


def test_unknown_and_missing_names_of_inputs_and_outputs(work: Path) -> None:
    write_spec(work, TABLE + """
  - name: chart
    uses: core.plot
    enabled: false
    params: {x: x, y: y}
    inputs: {table: "{{ steps.table.outputs.t }}", colours: c.tsv}
  - name: qc
    uses: gwas.qc
    inputs: {dosages: d.npy, variants: v.tsv, phenotypes: p.tsv}
    outputs: {variant_qc: a.tsv, sample_qc: b.tsv, kept_variants: c.tsv, kept_samples: d.tsv,
              summary: e.tsv, report: f.tsv}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [
        (11, "step 'chart' (core.plot): unknown input 'colours'"),
        (8, "step 'chart' (core.plot): missing required output 'plot'"),  # at its uses:
        (16, "step 'qc' (gwas.qc): unknown output 'report'"),
    ]
    assert "hint: (core.plot reads: table)" in err
    assert "hint: declare it: outputs: {plot: PATH} (the chart; its suffix picks the format)" \
        in err


def test_optional_names_may_be_left_out(work: Path) -> None:
    write_spec(work, """
name: ports
steps:
  - name: plots
    uses: gwas.plots
    inputs: {summary: s.tsv}
    outputs: {manhattan: m.png, qq: [q.png, q.svg]}
""")
    (work / "s.tsv").write_text("")
    code, _, err = cli("validate", "wf.yaml")
    assert code == 0, err


@pytest.mark.parametrize("spec", sorted([*ROOT.glob("specs/*/*.yaml"),
                                          *ROOT.glob("examples/*/workflow.yaml")]),
                         ids=lambda p: p.parent.name)
def test_every_bundled_spec_and_example_validates(spec: Path, work: Path) -> None:
    code, out, err = cli("validate", str(spec))
    assert code == 0, err
    assert out.startswith(f"{spec}: ok")


def test_every_bundled_step_declares_its_names() -> None:
    bundled = {n: s for n, s in registered_steps().items() if s.module.startswith("stepslib.")}
    assert {"core", "rna", "gwas"} <= {n.split(".")[0] for n in bundled}  # + domain libraries
    for name, info in bundled.items():
        assert info.inputs is not None and info.outputs is not None, name
        assert all(p.description for p in (*info.inputs, *info.outputs)), name


def test_steps_lists_the_names(work: Path) -> None:
    code, out, _ = cli("steps", "core.plot")
    assert code == 0
    assert "inputs:\n  table (required): the table to draw" in out
    assert "outputs:\n  plot (required, .png, .svg, .pdf): the chart" in out
    code, out, _ = cli("steps", "gwas.structure")
    assert "  grm (optional, .npy): samples x samples" in out
    one = json.loads(cli("steps", "core.plot", "--json")[1])
    assert one["inputs"] == [{"name": "table", "required": True,
                              "description": "the table to draw (TSV, or CSV by its suffix)"}]
    assert one["outputs"][0]["suffixes"] == [".png", ".svg", ".pdf"]
    every = json.loads(cli("steps", "--json")[1])
    assert [p["name"] for p in every["rna.quant"]["inputs"]] == ["index", "reads"]
    assert every["rna.integrate"]["outputs"][1] == {
        "name": "private", "required": False, "description": "the private runs' rows only"}


def test_a_step_without_declarations_takes_any_name(work: Path) -> None:
    """Third-party steps that declare nothing keep working (the testexec.* test steps)."""
    write_spec(work, """
name: free
steps:
  - name: w
    uses: testexec.write
    params: {text: hi}
    inputs: {anything: []}
    outputs: {whatever: w.txt}
""")
    code, _, err = cli("wf.yaml", "--dry-run")
    assert code == 0, err
    code, out, _ = cli("steps", "testexec.write")
    assert "inputs: any names (the step declares none)" in out


def test_one_off_step_checks_the_names(work: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "step", "core.plot", "-p", "x=a",
                           "-i", "tabel=t.tsv", "-o", "plot=p.png"], cwd=work, env=env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "<command line>: error: core.plot: unknown input 'tabel'" in proc.stderr
    assert "did you mean 'table'?" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "step", "core.plot", "-p", "x=a",
                           "-i", "table=t.tsv", "-o", "plot=p.jpeg"], cwd=work, env=env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "error: core.plot: cannot write output 'plot' as 'p.jpeg'" in proc.stderr
    assert "hint: core.plot writes 'plot' as .png, .svg, .pdf" in proc.stderr


def test_bad_declarations_fail_at_registration() -> None:
    with pytest.raises(ValueError, match="'plot' has unknown keys \\['sufixes'\\]"):
        step("testports.bad", outputs={"plot": {"sufixes": [".png"]}})
    with pytest.raises(ValueError, match="suffixes are a list like"):
        step("testports.bad", outputs={"plot": {"suffixes": ".png"}})
    assert Port("x").as_json() == {"name": "x", "required": True}
