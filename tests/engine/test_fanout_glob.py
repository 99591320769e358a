"""``foreach: {glob: ...}``: fan out over the files that exist (issue #10, part 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError

GLOB = """\
name: g
steps:
  - name: trim
    foreach: {glob: "data/{sample}_R{read}.fastq.gz"}
    run: echo {{ item.sample }} {{ item.read }} {{ item.path }}
"""


@pytest.fixture
def reads(workdir: Path) -> Path:
    (workdir / "data").mkdir()
    for name in ("A_R1.fastq.gz", "A_R2.fastq.gz", "B_R1.fastq.gz", "B_R2.fastq.gz",
                 "notes.txt", "C_R1.fastq"):
        (workdir / "data" / name).write_text("x\n")
    return workdir


def test_glob_fans_out_over_matching_files_with_named_parts(plan_of, reads: Path) -> None:
    plan = plan_of(GLOB)
    assert list(plan.instances) == ["trim[A,1]", "trim[A,2]", "trim[B,1]", "trim[B,2]"]
    assert plan.instances["trim[B,1]"].item == {"sample": "B", "read": "1",
                                                 "path": "data/B_R1.fastq.gz"}
    assert plan.instances["trim[B,1]"].command == "echo B 1 data/B_R1.fastq.gz"


def test_group_by_gives_one_instance_per_group_with_lists(plan_of, reads: Path) -> None:
    plan = plan_of(GLOB.replace('fastq.gz"}', 'fastq.gz", group_by: sample}'))
    assert list(plan.instances) == ["trim[A]", "trim[B]"]
    assert plan.instances["trim[A]"].item == {
        "sample": "A", "path": ["data/A_R1.fastq.gz", "data/A_R2.fastq.gz"], "read": ["1", "2"]}
    assert plan.instances["trim[A]"].command == (
        "echo A 1 2 data/A_R1.fastq.gz data/A_R2.fastq.gz")


def test_group_by_a_part_the_glob_lacks_is_an_error(plan_of, reads: Path) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of(GLOB.replace('fastq.gz"}', 'fastq.gz", group_by: lane}'))
    assert "'foreach.group_by' names 'lane', which the glob does not have" in caught.value.render()


def test_a_glob_matching_nothing_has_no_instances(plan_of, workdir: Path) -> None:
    assert plan_of(GLOB).instances == {}
