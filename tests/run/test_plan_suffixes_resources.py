"""Output suffixes a step cannot write, and resources beyond what --resources allows, are
located errors in the dry-run and before a real run starts, not failures after upstream work
ran (issue #11). Threads above -j are still capped, not refused."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.refusing import located, refused
from tests.helpers.running import cli, run, write_spec

UPSTREAM = """
name: checks
steps:
  - name: table
    run: "printf 'x\\ty\\n1\\t2\\n' > {{ outputs.t }}; echo table >> ran.log"
    outputs: {t: t.tsv}
"""


def test_a_plot_as_jpeg_is_refused_with_the_supported_suffixes(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: chart
    uses: core.plot
    params: {x: x, y: y}
    inputs: {table: "{{ steps.table.outputs.t }}"}
    outputs:
      plot: out/chart.jpeg
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [(12, "step 'chart' (core.plot): cannot write output 'plot' as a "
                                 "'.jpeg' file, got 'out/chart.jpeg'")]
    assert "hint: core.plot writes 'plot' as .png, .svg or .pdf" in err


def test_suffixes_of_fanout_instances_and_lists(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: charts
    uses: core.plot
    foreach: [png, JPEG, Svg, jpeg, tiff]
    params: {x: x, y: y}
    inputs: {table: "{{ steps.table.outputs.t }}"}
    outputs: {plot: "chart_{{ index }}.{{ item }}"}
  - name: plots
    uses: gwas.plots
    inputs: {summary: "{{ steps.table.outputs.t }}"}
    outputs: {manhattan: [m.png, m.svg, m.eps], qq: q, pca: []}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [
        (12, "step 'charts' (core.plot): cannot write output 'plot' as a '.jpeg' file (in 2 of "
             "5 instances: charts[JPEG] (got 'chart_1.JPEG'), charts[jpeg] (got "
             "'chart_3.jpeg'))"),
        (12, "step 'charts' (core.plot): cannot write output 'plot' as a '.tiff' file, got "
             "'chart_4.tiff' (in 1 of 5 instances: charts[tiff])"),
        (16, "step 'plots' (gwas.plots): cannot write output 'manhattan' as a '.eps' file, got "
             "'m.eps'"),
        (16, "step 'plots' (gwas.plots): cannot write output 'qq' as a file without a suffix, "
             "got 'q'"),
    ]


def test_a_suffix_of_a_fanout_that_expands_later_is_checked_now(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: charts
    uses: core.plot
    foreach: {table: "{{ steps.table.outputs.t }}", key: x}
    params: {x: x, y: y}
    inputs: {table: "{{ steps.table.outputs.t }}"}
    outputs: {plot: "charts/{{ item.x }}.jpg"}
""")
    err = refused(work, "wf.yaml")
    assert located(err) == [(12, "step 'charts' (core.plot): cannot write output 'plot' as a "
                                 "'.jpg' file, got 'charts/{{ item.x }}.jpg'")]
    assert not (work / "ran.log").exists()


def test_a_step_needing_more_than_the_resources_allow(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: assemble
    run: "cat {{ inputs.t }} > {{ outputs.o }}"
    inputs: {t: "{{ steps.table.outputs.t }}"}
    outputs: {o: o.txt}
    threads: 64
    resources:
      mem_mb: 64000
      disk_gb: 10
""")
    err = refused(work, "wf.yaml", "--resources", "mem_mb=8000", "-j", "2")
    assert located(err) == [(13, "step 'assemble': needs mem_mb=64000 but the run allows "
                                 "mem_mb=8000 (--resources)")]
    assert "hint: raise the limit (--resources mem_mb=64000) or lower the step's resources" in err
    assert cli("wf.yaml", "--dry-run", "--resources", "mem_mb=64000", "-j", "2")[0] == 0
    assert cli("wf.yaml", "--dry-run")[0] == 0  # no --resources: no limit


def test_resources_of_fanout_instances_and_from_the_config(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: fan
    foreach: [1, 2, 3, 4]
    run: "echo {{ item }} > {{ outputs.o }}"
    outputs: {o: "f{{ item }}.txt"}
    resources: {mem_mb: "{{ 1000 if item < 3 else 9000 }}"}
""")
    err = refused(work, "wf.yaml", "--resources", "mem_mb=8000")
    assert located(err) == [(11, "step 'fan': needs mem_mb=9000 but the run allows mem_mb=8000 "
                                 "(--resources) (in 2 of 4 instances: fan[3], fan[4])")]
    (work / "more.yaml").write_text("steps:\n  fan:\n    resources: {mem_mb: 10000}\n")
    err = refused(work, "wf.yaml", "--resources", "mem_mb=8000", "--config", "more.yaml")
    assert err.startswith("more.yaml:3:5: error: step 'fan': needs mem_mb=10000 but the run "
                          "allows mem_mb=8000 (--resources)\n"), err


def test_threads_above_jobs_are_still_capped(work: Path) -> None:
    write_spec(work, UPSTREAM + """
  - name: wide
    run: "echo {{ threads }} > {{ outputs.o }}"
    outputs: {o: threads.txt}
    threads: 64
""")
    assert run(jobs=2).ok
    assert (work / "threads.txt").read_text() == "2\n"
