"""--graph: text, dot, mermaid and JSON on stdout; .dot/.mmd/.svg/.png/.html/.json files;
fan-outs collapsed per step (``count ×3``) unless --graph-jobs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SPEC = """\
name: g
steps:
  - name: count
    foreach: [a, b, c]
    run: echo {{ item }} > {{ outputs.n }}
    outputs: {n: "{{ item }}.n"}
  - name: join
    run: cat {{ inputs.parts }} > {{ outputs.all }}
    inputs: {parts: "{{ steps.count.outputs.n }}"}
    outputs: {all: all.n}
  - name: late
    run: echo late
    after: [join]
  - name: idle
    enabled: false
    run: echo idle
"""

PENDING = """\
name: p
steps:
  - name: list
    run: printf 'id\\nA\\n' > {{ outputs.t }}
    outputs: {t: t.tsv}
  - name: quant
    foreach: {table: "{{ steps.list.outputs.t }}", column: id}
    run: echo {{ item }}
"""

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' not installed")


@pytest.fixture
def graph(cli, spec_file):
    """graph(*args, text=SPEC) -> (exit code, stdout, stderr) of 'SPEC --graph ...'."""

    def call(*args: str, text: str = SPEC) -> tuple[int, str, str]:
        return cli(str(spec_file(text)), "--graph", *args)

    return call


def test_text_graph_collapses_fan_outs(graph) -> None:
    code, out, err = graph()
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["*", "count", "×3", "[3/3", "will", "run]"]
    join = next(line for line in lines if " join " in line)
    assert join.startswith("  * join") and join.endswith("<- count")
    late = next(line for line in lines if " late " in line)
    assert late.startswith("    * late") and late.endswith("<- join (after)")
    assert any(line.startswith("- idle") and "[disabled]" in line for line in lines)
    assert lines[-1].startswith("legend:")


def test_graph_jobs_draws_every_instance(graph) -> None:
    code, out, _ = graph("--graph-jobs")
    assert code == 0
    assert {"count[a]", "count[b]", "count[c]"} <= set(out.split())
    assert "<- count[a], count[b], count[c]" in out
    assert "×3" not in out


def test_a_graph_on_stdout_is_all_that_goes_there(graph, workdir: Path) -> None:
    code, out, _ = graph("dot", "--dry-run")
    assert code == 0
    assert out.startswith('digraph "') and out.rstrip().endswith("}")
    assert "summary:" not in out
    assert sorted(p.name for p in workdir.iterdir()) == ["workflow.yaml"]


def test_a_graph_file_with_dry_run_adds_the_plan(graph, workdir: Path) -> None:
    code, out, _ = graph("plan.json", "--dry-run")
    assert code == 0
    assert "count ×3" in out and "summary: 5 to run, 0 up to date, 1 disabled" in out
    assert json.loads((workdir / "plan.json").read_text())["nodes"]


def test_graph_jobs_alone_draws_and_runs_nothing(cli, spec_file, workdir: Path) -> None:
    code, out, _ = cli(str(spec_file(SPEC)), "--graph-jobs")
    assert code == 0 and "count[" in out
    assert sorted(p.name for p in workdir.iterdir()) == ["workflow.yaml"]


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "json", "text"])
def test_a_disabled_step_keeps_its_incoming_edges_greyed(cli, spec_file, fmt: str) -> None:
    spec = spec_file("name: dis\nsteps:\n  - name: a\n    run: echo > {{ outputs.o }}\n"
                     "    outputs: {o: a.txt}\n  - name: b\n    enabled: false\n"
                     "    inputs: {i: \"{{ steps.a.outputs.o }}\"}\n"
                     "    run: cat {{ inputs.i }} > {{ outputs.o }}\n    outputs: {o: b.txt}\n")
    code, out, _ = cli(str(spec), "--graph", fmt)
    assert code == 0
    expected = {"dot": '"a" -> "b" [color="#aaaaaa"', "mermaid": "n0 -.-> n1\n  linkStyle 0 stroke:#aaaaaa",
                "json": '"from": "a",\n      "to": "b"', "text": "- b   [disabled]  <- a"}[fmt]
    assert expected in out


def test_json_graph(graph) -> None:
    code, out, _ = graph("json")
    assert code == 0
    doc = json.loads(out)
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["count"] == {"id": "count", "label": "count ×3", "action": "run", "count": 3,
                              "actions": {"run": 3}}
    assert nodes["idle"]["action"] == "disabled"
    assert sorted((e["from"], e["to"], e["kind"]) for e in doc["edges"]) == [
        ("count", "join", "file"), ("join", "late", "after")]
    jobs = json.loads(graph("json", "--graph-jobs")[1])
    assert len(jobs["nodes"]) == 6 and len(jobs["edges"]) == 4


def test_dot_graph(graph) -> None:
    code, out, _ = graph("dot")
    assert code == 0
    assert out.startswith('digraph "g" {') and out.rstrip().endswith("}")
    assert '"count" [label="count ×3\\n3/3 will run", fillcolor="#cfe8ff"' in out
    assert '"count" -> "join";' in out
    assert '"join" -> "late" [style=dashed, label="after"];' in out
    assert 'style="rounded,filled,dashed"' in out  # the disabled step


@needs_dot
@pytest.mark.parametrize("jobs", [[], ["--graph-jobs"]])
def test_dot_output_is_accepted_by_graphviz(graph, jobs: list[str]) -> None:
    for text in (SPEC, PENDING):
        out = graph("dot", *jobs, text=text)[1]
        proc = subprocess.run(["dot", "-Tplain"], input=out, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("graph ")


def test_mermaid_graph(graph) -> None:
    code, out, _ = graph("mermaid")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "flowchart TD"
    assert '  n0["count ×3<br/>3/3 will run"]:::run' in lines
    assert "  n0 --> n1" in lines and "  n1 -.-> n2" in lines
    assert '  n3["idle"]:::disabled' in lines
    assert sum(line.startswith("  classDef ") for line in lines) == 4


def test_pending_steps_in_graphs(graph) -> None:
    out = graph("text", text=PENDING)[1]
    assert "? quant" in out and "[pending expansion]" in out and "×" not in out
    nodes = {n["id"]: n for n in json.loads(graph("json", text=PENDING)[1])["nodes"]}
    assert nodes["quant"]["action"] == "pending expansion"
    jobs = {n["id"] for n in json.loads(graph("json", "--graph-jobs", text=PENDING)[1])["nodes"]}
    assert jobs == {"list", "quant[*]"}


@pytest.mark.parametrize(("name", "check"), [
    ("g.dot", lambda data: data.startswith(b'digraph "g"')),
    ("g.gv", lambda data: data.startswith(b'digraph "g"')),
    ("g.mmd", lambda data: data.startswith(b"flowchart TD")),
    ("g.json", lambda data: "nodes" in json.loads(data)),
    ("g.txt", lambda data: data.startswith("* count ×3".encode())),
    pytest.param("g.svg", lambda data: ET.fromstring(data).tag.endswith("svg"), marks=needs_dot),
    pytest.param("g.png", lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"), marks=needs_dot),
    pytest.param("g.html", lambda data: data.startswith(b"<!DOCTYPE html>") and b"<svg" in data
                 and "count ×3".encode() in data, marks=needs_dot),
])
def test_graph_files(graph, workdir: Path, name: str, check) -> None:
    code, out, err = graph(f"sub/dir/{name}")
    assert code == 0 and out == ""
    target = workdir / "sub" / "dir" / name
    assert err.strip() == f"graph written to sub/dir/{name}"
    assert check(target.read_bytes())


def test_unknown_graph_format(graph, workdir: Path) -> None:
    code, _, err = graph("graph.bmp")
    assert code == 2
    assert "--graph: unknown format or file extension 'graph.bmp'" in err
    assert not (workdir / "graph.bmp").exists()


def test_missing_dot_is_a_clear_error(graph, monkeypatch: pytest.MonkeyPatch, workdir) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    code, _, err = graph("g.svg")
    assert code == 1  # ToolMissingError is a StepError
    assert "required tool 'dot' is not on PATH" in err and "apt-get install -y graphviz" in err
    assert not (workdir / "g.svg").exists()


def test_ten_thousand_instances_render_per_step(cli, spec_file) -> None:
    spec = spec_file("""\
    name: big
    steps:
      - name: make
        foreach: "{{ range(10000) | list }}"
        run: echo {{ item }} > {{ outputs.x }}
        outputs: {x: "parts/{{ item }}.txt"}
      - name: join
        uses: core.concat
        inputs: {parts: "{{ steps.make.outputs.x }}"}
        outputs: {out: all.txt}
    """)
    code, out, _ = cli(str(spec), "--graph")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["*", "make", "×10000"]
    assert len(out) < 500
    code, out, _ = cli(str(spec), "--graph", "json")
    doc = json.loads(out)
    assert [n["count"] for n in doc["nodes"]] == [10000, 1]
    assert doc["edges"] == [{"from": "make", "to": "join", "kind": "file"}]
    code, out, _ = cli(str(spec), "--dry-run")
    assert code == 0 and len(out.splitlines()) == 4 and "make ×10000" in out


# partial outcomes, big fan-outs, the HTML page (issue #12) -----------------------------------

def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_a_step_node_shows_what_happens_to_each_of_its_instances(cli, spec_file,
                                                                 workdir: Path) -> None:
    spec = str(spec_file(SPEC))
    assert cli(spec, "--backend", "threads", "-q")[0] == 0
    (workdir / "b.n").unlink()  # count[b] will run again, count[a] and count[c] will not
    text = cli(spec, "--graph")[1].splitlines()
    assert text[0].split() == ["*", "count", "×3", "[1/3", "will", "run,", "2/3", "up", "to",
                               "date]"]
    dot = cli(spec, "--graph", "dot")[1]
    assert ('"count" [label="count ×3\\n1/3 will run, 2/3 up to date", '
            'fillcolor="#cfe8ff;0.333:#e6e6e6;0.667", style="striped"') in dot
    mermaid = cli(spec, "--graph", "mermaid")[1]
    assert '  n0["count ×3<br/>1/3 will run, 2/3 up to date"]:::run' in mermaid
    nodes = {n["id"]: n for n in json.loads(cli(spec, "--graph", "json")[1])["nodes"]}
    assert nodes["count"]["actions"] == {"run": 1, "skip": 2}


BIG = """\
name: big
steps:
  - name: make
    foreach: "{{ range(2000) | list }}"
    run: echo {{ item }} > {{ outputs.x }}
    outputs: {x: "parts/{{ item }}.txt"}
  - name: join
    run: cat {{ inputs.parts }} > {{ outputs.out }}
    inputs: {parts: "{{ steps.make.outputs.x }}"}
    outputs: {out: all.txt}
"""

PRODUCT = """\
name: calls
steps:
  - name: call
    foreach: {product: {chrom: "{{ range(1, 23) | list }}", sample: "{{ range(20) | list }}"}}
    run: echo {{ item.chrom }} {{ item.sample }} > {{ outputs.vcf }}
    outputs: {vcf: "calls/{{ item.chrom }}/{{ item.sample }}.vcf"}
  - name: merge
    foreach: "{{ range(1, 23) | list }}"
    inputs: {vcfs: "{{ steps.call.outputs.vcf | where(chrom=item) }}"}
    run: cat {{ inputs.vcfs }} > {{ outputs.m }}
    outputs: {m: "merged/{{ item }}.vcf"}
"""


def test_a_big_job_graph_is_grouped_and_says_so(cli, spec_file) -> None:
    spec = str(spec_file(BIG))
    code, out, err = cli(spec, "--graph-jobs")
    note = "2,001 instances are more than 300: grouped by step"
    assert code == 0 and err == f"mi-run: --graph-jobs: {note}\n"
    assert out.splitlines()[:3] == [f"# {note}", "* make ×2000   [2000/2000 will run]",
                                    "  * join         [will run]  <- make"]
    assert f'labelloc=t; fontname="Helvetica"; label="big: {note}";' in cli(
        spec, "--graph-jobs", "--graph", "dot")[1]
    assert cli(spec, "--graph-jobs", "--graph", "mermaid")[1].startswith(
        f"---\ntitle: {note}\n---\nflowchart TD\n")
    doc = json.loads(cli(spec, "--graph-jobs", "--graph", "json")[1])
    assert doc["note"] == note and [n["count"] for n in doc["nodes"]] == [2000, 1]
    assert json.loads(cli(spec, "--graph", "json")[1])["note"] is None  # steps: no grouping


def test_a_product_fan_out_is_grouped_by_its_first_key(cli, spec_file) -> None:
    code, out, err = cli(str(spec_file(PRODUCT)), "--graph-jobs", "--graph", "json")
    assert code == 0 and "462 instances are more than 300: grouped by step (call by chrom)" in err
    doc = json.loads(out)
    counts = {n["id"]: n["count"] for n in doc["nodes"]}
    assert counts == {**{f"call[chrom={c}]": 20 for c in range(1, 23)},
                      **{f"merge[{c}]": 1 for c in range(1, 23)}}  # small steps stay as jobs
    assert {(e["from"], e["to"]) for e in doc["edges"]} == {
        (f"call[chrom={c}]", f"merge[{c}]") for c in range(1, 23)}


def test_too_many_groups_fall_back_to_one_node_per_step(cli, spec_file) -> None:
    steps = "".join(f"""
  - name: s{i}
    foreach: "{{{{ range(40) | list }}}}"
    run: echo {{{{ item }}}}
""" for i in range(10))
    code, out, err = cli(str(spec_file("name: many\nsteps:" + steps)), "--graph-jobs")
    assert code == 0
    assert "400 instances are more than 300: drawn as one node per step" in err
    assert [line.split()[1:3] for line in out.splitlines()[1:-1]] == [
        [f"s{i}", "×40"] for i in range(10)]


@needs_dot
def test_big_job_graphs_are_usable_pictures(cli, spec_file, workdir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(str(spec_file(BIG)), "--graph-jobs", "--graph", "big.png")[0] == 0
    width, height = _png_size(workdir / "big.png")
    assert width < 2000 and height < 2000  # was 32767 x 37
    wide = spec_file(BIG.replace("range(2000)", "range(100)"), "wide.yaml")
    assert "rankdir=LR;" in cli(str(wide), "--graph-jobs", "--graph", "dot")[1]
    assert "rankdir=TB;" in cli(str(wide), "--graph", "dot")[1]
    import engine.render.graphgroups as groups

    monkeypatch.setattr(groups, "JOB_LIMIT", 5000)  # 2,001 jobs drawn one by one: too big
    code, _, err = cli(str(spec_file(BIG)), "--graph-jobs", "--graph", "huge.png")
    assert code == 0
    assert "the PNG is too big for graphviz, which scaled it down" in err


def _page_data(page: str) -> dict:
    start = page.index('<script type="application/json" id="mi-nodes">') + 46
    return json.loads(page[start:page.index("</script>", start)])


@needs_dot
def test_the_html_graph_is_self_contained_with_reasons_and_files(graph, workdir: Path) -> None:
    assert graph("plan.html")[0] == 0
    page = (workdir / "plan.html").read_text()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\"' )]+", page)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # SVG namespaces only
    data = _page_data(page)
    assert data["count"] == {
        "label": "count ×3", "partial": "3/3 will run", "count": 3,
        "reasons": [["never run", 3]], "reasons_total": 1, "run": "count[a]: $ echo a > a.n",
        "inputs": [], "inputs_total": 0, "outputs": ["a.n", "b.n", "c.n"], "outputs_total": 3,
        "instances": ["count[a]", "count[b]", "count[c]"]}
    assert data["join"]["inputs"] == ["a.n", "b.n", "c.n"]
    assert data["idle"]["partial"] == "disabled"
    assert data["idle"]["reasons"] == [["enabled: false in the spec", 1]]
