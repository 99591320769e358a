"""Fan-out beyond one list (issue #10, part 4): ``product`` and ``zip`` of named lists."""

from __future__ import annotations

import pytest

from engine.errors import SpecError

PRODUCT = """\
name: f
config:
  chroms: [chr1, chr2, chr3]
  samples: [A, B, C, D]
steps:
  - name: call
    foreach: {product: {chrom: "{{ chroms }}", sample: "{{ samples }}"}}
    run: echo {{ item.chrom }} {{ item.sample }} > {{ outputs.vcf }}
    outputs: {vcf: "calls/{{ item.chrom }}/{{ item.sample }}.vcf"}
  - name: gather
    run: cat {{ inputs.vcfs }} > {{ outputs.all }}
    inputs: {vcfs: "{{ steps.call.outputs.vcf }}"}
    outputs: {all: calls/all.vcf}
"""


def test_product_makes_one_instance_per_combination_named_by_its_values(plan_of) -> None:
    plan = plan_of(PRODUCT)
    calls = [n for n in plan.instances if n.startswith("call[")]
    assert len(calls) == 12
    assert calls[:5] == ["call[chr1,A]", "call[chr1,B]", "call[chr1,C]", "call[chr1,D]",
                         "call[chr2,A]"]
    instance = plan.instances["call[chr2,C]"]
    assert instance.item == {"chrom": "chr2", "sample": "C"}
    assert instance.outputs == {"vcf": "calls/chr2/C.vcf"}
    assert instance.command == "echo chr2 C > calls/chr2/C.vcf"
    assert len(plan.graph.predecessor_map()["gather"]) == 12


def test_product_ids_do_not_depend_on_list_order(plan_of) -> None:
    first = plan_of(PRODUCT)
    second = plan_of(PRODUCT.replace("[A, B, C, D]", "[D, C, B, A]"))
    assert set(first.instances) == set(second.instances)
    for node in (n for n in first.instances if n.startswith("call[")):
        assert first.instances[node].command == second.instances[node].command


def test_zip_pairs_lists_item_by_item(plan_of) -> None:
    plan = plan_of("""\
    name: f
    steps:
      - name: trim
        foreach: {zip: {r1: [a_1.fq, b_1.fq], r2: [a_2.fq, b_2.fq]}}
        run: echo {{ item.r1 }} {{ item.r2 }}
    """)
    assert list(plan.instances) == ["trim[a_1.fq,a_2.fq]", "trim[b_1.fq,b_2.fq]"]
    assert plan.instances["trim[b_1.fq,b_2.fq]"].command == "echo b_1.fq b_2.fq"


def test_zip_of_unequal_lists_is_a_located_error(plan_of) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of("""\
        name: f
        steps:
          - name: trim
            foreach: {zip: {r1: [a, b, c], r2: [x, y]}}
            run: echo {{ item.r1 }}
        """)
    text = caught.value.render()
    assert "'foreach.zip' lists differ in length: r1 has 3, r2 has 2" in text
    assert ":4:" in text  # the foreach line
    assert "use product for combinations" in text


def test_a_product_list_that_is_not_a_list_is_an_error(plan_of) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of("""\
        name: f
        config: {n: 3}
        steps:
          - name: call
            foreach: {product: {chrom: "{{ n }}", sample: [A]}}
            run: echo {{ item.chrom }}
        """)
    assert "'foreach.product.chrom' must yield a list, got a number 3" in caught.value.render()


def test_unknown_foreach_form_is_a_schema_error(plan_of) -> None:
    with pytest.raises(SpecError):
        plan_of("""\
        name: f
        steps:
          - name: call
            foreach: {cartesian: {a: [1]}}
            run: echo {{ item }}
        """)


GROUPED = PRODUCT + """\
  - name: per_chrom
    foreach: "{{ chroms }}"
    run: cat {{ inputs.vcfs }} > {{ outputs.merged }}
    inputs: {vcfs: "{{ steps.call.outputs.vcf | where(chrom=item) }}"}
    outputs: {merged: "merged/{{ item }}.vcf"}
  - name: per_pair
    foreach: {product: {chrom: "{{ chroms }}", sample: "{{ samples }}"}}
    run: cat {{ inputs.vcf }} > {{ outputs.copy }}
    inputs: {vcf: "{{ steps.call.outputs.vcf | where(chrom=item.chrom, sample=item.sample) }}"}
    outputs: {copy: "copies/{{ item.chrom }}.{{ item.sample }}.vcf"}
"""


def test_where_gathers_exactly_one_group_and_its_dependencies(plan_of) -> None:
    plan = plan_of(GROUPED)
    chr2 = plan.instances["per_chrom[chr2]"]
    assert chr2.inputs == {"vcfs": ("calls/chr2/A.vcf", "calls/chr2/B.vcf", "calls/chr2/C.vcf",
                                    "calls/chr2/D.vcf")}
    preds = plan.graph.predecessor_map()
    assert sorted(preds["per_chrom[chr2]"]) == ["call[chr2,A]", "call[chr2,B]", "call[chr2,C]",
                                                "call[chr2,D]"]
    assert list(preds["per_pair[chr3,B]"]) == ["call[chr3,B]"]
    assert plan.instances["per_pair[chr3,B]"].inputs == {"vcf": ("calls/chr3/B.vcf",)}


def test_where_on_something_else_than_gathered_paths_is_an_error(plan_of) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of("""\
        name: f
        config: {xs: [a, b]}
        steps:
          - name: s
            run: echo {{ xs | where(chrom='a') }}
        """)
    assert "where(...) filters a fan-out's gathered paths" in caught.value.render()


def test_items_with_a_key_name_instances_by_that_field(plan_of) -> None:
    plan = plan_of("""\
    name: f
    config:
      samples: [{id: S1, depth: 10}, {id: S2, depth: 20}]
    steps:
      - name: call
        foreach: {items: "{{ samples }}", key: id}
        run: echo {{ item.id }} {{ item.depth }}
    """)
    assert list(plan.instances) == ["call[S1]", "call[S2]"]
    assert plan.instances["call[S2]"].command == "echo S2 20"


def test_items_without_the_key_field_is_a_located_error(plan_of) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of("""\
        name: f
        steps:
          - name: call
            foreach: {items: [{id: S1}, {name: S2}], key: id}
            run: echo {{ item }}
        """)
    assert "item 2 of 'foreach.items' has no 'id'" in caught.value.render()
