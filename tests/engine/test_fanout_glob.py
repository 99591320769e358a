"""``foreach: {glob: ...}``: fan out over the files that exist (issue #10, part 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.plan.fanout import glob_matcher

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


@pytest.mark.parametrize(("path", "writes"), [
    ("/w/out/raw/A.txt", True),  # a file the glob matches
    ("/w/out/raw", True),  # the directory the matches lie in
    ("/w/out", True),  # ... or one above it
    ("/w/out/raw/A.txt.gz", False),
    ("/w/out/other/A.txt", False),
    ("/w/out/raw/sub/A.txt", False),  # a part never spans a '/'
])
def test_glob_matcher_knows_which_outputs_feed_a_glob(path: str, writes: bool) -> None:
    assert glob_matcher("/w/out/raw/{sample}.txt")(path) is writes


def test_glob_matcher_needs_a_part_named_twice_to_agree() -> None:
    matches = glob_matcher("/w/{s}/{s}.txt")
    assert matches("/w/A/A.txt") and matches("/w/A")
    assert not matches("/w/A/B.txt")
