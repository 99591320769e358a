"""The no-Python examples: they plan, and they run end to end with the engine.

Their numbers are checked against independent computations: ``wc -w``-style word counts and
word frequencies counted here in Python, and fastp's totals against the FASTQ records in its
input and output files.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import engine
from engine.running.orchestrate import run_workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORDCOUNT = EXAMPLES / "wordcount" / "workflow.yaml"
FASTQ_QC = EXAMPLES / "fastq_qc" / "workflow.yaml"


def test_wordcount_plans_with_fan_outs_gathered():
    plan = engine.load(WORDCOUNT).plan()
    texts = ["moby_dick", "pride_and_prejudice", "tale_of_two_cities", "origin_of_species"]
    assert sorted(plan.depends_on("words_per_text")) == sorted(f"count[{t}]" for t in texts)
    assert plan.depends_on("plot_top_words") == ["top_words"]
    assert len(plan.instances) == 2 * len(texts) + 7
    assert plan.instances["top_words"].params["limit"] == 15  # a template rendered to a number


def test_fastq_qc_plans_one_stats_row_per_sample():
    plan = engine.load(FASTQ_QC).plan()
    for sample in ("good", "medium", "poor"):
        stats = plan.instances[f"stats[{sample}]"]
        assert plan.depends_on(stats.id) == [f"fastp[{sample}]"]
        assert stats.params["constants"] == {"sample": sample}
    assert sorted(plan.depends_on("qc_table")) == ["stats[good]", "stats[medium]", "stats[poor]"]


@pytest.mark.slow
def test_wordcount_runs_and_counts_right(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_workflow(WORDCOUNT, jobs=2)
    assert result.ok, result.failed
    out = tmp_path / "output" / "wordcount"
    texts = {p.stem: p.read_text() for p in (EXAMPLES / "wordcount" / "data").glob("*.txt")}
    per_text = pd.read_csv(out / "words_per_text.tsv", sep="\t").set_index("text")["words"]
    assert per_text.to_dict() == {name: len(text.split()) for name, text in texts.items()}
    totals: Counter[str] = Counter()
    for text in texts.values():
        totals.update(w.lower() for w in re.findall(r"[A-Za-z]+", text))
    word_totals = pd.read_csv(out / "word_totals.tsv", sep="\t").set_index("word")["count"]
    for word in ("whenever", "little", "epoch", "facts"):
        assert word_totals[word] == totals[word]
    assert "the" not in word_totals.index  # the stop-word filter ran
    top = pd.read_csv(out / "top_words.tsv", sep="\t")
    assert len(top) == 15 and top["count"].is_monotonic_decreasing
    assert (out / "top_words.png").read_bytes()[:4] == b"\x89PNG"


def _records(path: Path) -> int:
    with gzip.open(path, "rt") as handle:
        return sum(1 for _ in handle) // 4


@pytest.mark.slow
@pytest.mark.tools
@pytest.mark.skipif(shutil.which("fastp") is None, reason="fastp is not installed")
def test_fastq_qc_runs_and_matches_the_fastq_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_workflow(FASTQ_QC, jobs=2)
    assert result.ok, result.failed
    out = tmp_path / "output" / "fastq_qc"
    qc = pd.read_csv(out / "qc.tsv", sep="\t").set_index("sample")
    data = EXAMPLES / "fastq_qc" / "data"
    for sample in ("good", "medium", "poor"):
        reads_in = sum(_records(data / f"{sample}_R{m}.fastq.gz") for m in (1, 2))
        reads_out = sum(_records(out / "trimmed" / f"{sample}_R{m}.fastq.gz") for m in (1, 2))
        assert qc.loc[sample, "total_reads"] == reads_in == 600
        assert qc.loc[sample, "passed_filter_reads"] == reads_out
    # the samples were made to differ: fewer reads pass as quality drops
    passed = qc["passed_filter_reads"]
    assert passed["good"] > passed["medium"] > passed["poor"]
    assert (out / "reads_passing_filter.png").stat().st_size > 1000
