"""The seed's `dna fetch --assembly ACC` as `mi-run dna fetch` (a one-off of dna.reference)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.running import cli

ACCESSION = "GCF_000001405.40"


@pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools (Debian samtools) missing")
def test_dna_fetch_indexes_a_local_fasta_and_without_one_says_what_to_get(work: Path) -> None:
    code, _, err = cli("dna", "fetch", "--assembly", ACCESSION)
    assert code == 1 and f"does not download assembly {ACCESSION}" in err
    assert "datasets download genome accession" in err
    (work / "mine.fa").write_text(">chr1\nACGTACGTACGGTTAACC\n")
    code, _, err = cli("dna", "fetch", "--assembly", ACCESSION, "--fasta", "mine.fa")
    assert code == 0, err
    assert (work / f"{ACCESSION}.fa").read_text() == (work / "mine.fa").read_text()
    assert (work / f"{ACCESSION}.fa.fai").read_text().split("\t")[:2] == ["chr1", "18"]
    code, _, err = cli("dna", "fetch", "--assembly", "GCF_12", "--fasta", "mine.fa")
    assert code == 2 and "param 'assembly' must match" in err
