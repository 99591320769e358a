"""``foreach: {product: ...}`` and ``{zip: ...}`` end to end (issue #10, part 4)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.running import dry, ran, run, to_run, write_spec

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
