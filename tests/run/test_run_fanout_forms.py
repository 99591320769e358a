"""``foreach: {product: ...}`` and ``{zip: ...}`` end to end (issue #10, part 4)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.running import cli, dry, ran, run, to_run, write_spec

SPEC = """
name: grid
config: {chroms: [chr1, chr2], samples: [A, B]}
steps:
  - name: call
    foreach: {product: {chrom: "{{ chroms }}", sample: "{{ samples }}"}}
    run: "echo {{ item.chrom }}-{{ item.sample }} > {{ outputs.o }}; echo call >> ran.log"
    outputs: {o: "calls/{{ item.chrom }}.{{ item.sample }}.txt"}
  - name: pair
    foreach: {zip: {left: [x, y], right: ["1", "2"]}}
    run: "echo {{ item.left }}{{ item.right }} > {{ outputs.o }}"
    outputs: {o: "pairs/{{ item.left }}.txt"}
"""


def test_product_and_zip_run_and_a_reordered_list_reruns_no_call(work: Path) -> None:
    write_spec(work, SPEC)
    result = run()
    assert result.ok
    assert sorted(p.name for p in (work / "calls").iterdir()) == [
        "chr1.A.txt", "chr1.B.txt", "chr2.A.txt", "chr2.B.txt"]
    assert (work / "calls" / "chr2.B.txt").read_text() == "chr2-B\n"
    assert (work / "pairs" / "y.txt").read_text() == "y2\n"
    assert ran(work) == ["call"] * 4
    assert to_run(dry("wf.yaml", "--set", "samples=[B, A]", "--set", "chroms=[chr2, chr1]")) == set()


def test_where_gathers_per_group_when_run(work: Path) -> None:
    write_spec(work, SPEC + """
  - name: per_chrom
    foreach: "{{ chroms }}"
    run: "cat {{ inputs.calls }} > {{ outputs.o }}"
    inputs: {calls: "{{ steps.call.outputs.o | where(chrom=item) }}"}
    outputs: {o: "merged/{{ item }}.txt"}
""")
    assert run().ok
    assert (work / "merged" / "chr1.txt").read_text() == "chr1-A\nchr1-B\n"
    assert (work / "merged" / "chr2.txt").read_text() == "chr2-A\nchr2-B\n"


def test_reordering_a_list_of_mappings_reruns_nothing(work: Path) -> None:
    spec = """
name: records
steps:
  - name: call
    foreach: [{sample: A, depth: 10}, {sample: B, depth: 20}]
    run: "echo {{ item.depth }} > {{ outputs.o }}; echo call >> ran.log"
    outputs: {o: "out/{{ item.sample }}.txt"}
"""
    write_spec(work, spec)
    assert run().ok
    assert ran(work) == ["call", "call"]
    write_spec(work, spec.replace("[{sample: A, depth: 10}, {sample: B, depth: 20}]",
                                  "[{sample: B, depth: 20}, {sample: A, depth: 10}]"))
    assert to_run(dry("wf.yaml")) == set()
    assert run().ok
    assert ran(work) == []


UPSTREAM_GLOB = """
name: upstream_glob
config: {samples: [A, B, C]}
steps:
  - name: split
    outputs: {dir: out/raw}
    run: "mkdir -p {{ outputs.dir }} && for s in {{ samples }}; do echo $s > {{ outputs.dir }}/$s.txt; done"
  - name: count
    foreach: {glob: "out/raw/{sample}.txt"}
    inputs: {f: "{{ item.path }}"}
    outputs: {n: "out/count/{{ item.sample }}.n"}
    run: "tr A-Z a-z < {{ inputs.f }} > {{ outputs.n }}; echo count >> ran.log"
  - name: gather
    inputs: {ns: "{{ steps.count.outputs.n }}"}
    outputs: {all: out/all.txt}
    run: "cat {{ inputs.ns }} > {{ outputs.all }}"
"""


def test_a_glob_under_an_upstream_directory_expands_after_that_step(work: Path) -> None:
    write_spec(work, UPSTREAM_GLOB)
    before = dry()
    assert before["count[*]"][0] == "pending expansion"
    assert before["gather"][0] == "pending expansion"
    assert run().ok
    assert (work / "out" / "all.txt").read_text() == "a\nb\nc\n"
    assert ran(work) == ["count"] * 3
    assert to_run(dry()) == set()
    # the upstream step writes one more file: only the new instance and the gather run
    assert run(overrides=["samples=[A, B, C, D]"]).ok
    assert (work / "out" / "all.txt").read_text() == "a\nb\nc\nd\n"
    assert ran(work) == ["count"]  # count[D] only


def test_a_glob_read_before_the_step_writing_its_files_is_a_located_error(work: Path) -> None:
    spec = UPSTREAM_GLOB.replace("  - name: split", "  - name: gather_first\n"
                                 "    foreach: {glob: \"out/raw/{sample}.txt\"}\n"
                                 "    run: echo {{ item.sample }}\n  - name: split")
    write_spec(work, spec)
    code, _, err = cli("wf.yaml", "--dry-run")
    assert code == 2
    assert ("wf.yaml:5:21: error: step 'gather_first': 'foreach.glob' matches files that step "
            "'split' writes, but the glob is read before that step runs") in err
    assert "add 'after: [split]' to step 'gather_first'" in err
    write_spec(work, spec.replace("    run: echo {{ item.sample }}",
                                  "    after: [split]\n    run: echo {{ item.sample }}"))
    assert cli("wf.yaml", "--dry-run")[0] == 0
