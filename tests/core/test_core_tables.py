"""The table toolbox: numbers against hand computations, and the error messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine import StepError

COUNTS = (
    "sample\tgene\tcount\tlength\n"
    "A\tg1\t10\t100\nA\tg2\t5\t200\nB\tg1\t7\t100\nB\tg2\t1\t200\nB\tg3\t4\t50\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="," if path.suffix == ".csv" else "\t")


# table_concat ------------------------------------------------------------------------------
def test_table_concat_adds_source_from_stem_and_aligns_columns(tmp_path, run_step):
    a = write(tmp_path / "s1.counts.tsv", "gene\tcount\ng1\t3\n")
    b = write(tmp_path / "s2.counts.tsv", "gene\tcount\textra\ng1\t4\tx\ng2\t5\ty\n")
    out = tmp_path / "all.tsv"
    result = run_step("core.table_concat", inputs={"tables": [a, b]}, outputs={"table": out})
    frame = read(out)
    assert list(frame.columns) == ["source", "gene", "count", "extra"]
    assert frame["source"].tolist() == ["s1.counts", "s2.counts", "s2.counts"]
    assert frame["count"].sum() == 12
    assert frame["extra"].isna().tolist() == [True, False, False]
    assert result["metadata"]["rows"] == 3


def test_table_concat_source_pattern_and_csv(tmp_path, run_step):
    a = write(tmp_path / "quant" / "SRR1" / "abundance.csv", "id,tpm\nt1,1.5\n")
    b = write(tmp_path / "quant" / "SRR2" / "abundance.csv", "id,tpm\nt1,2.5\n")
    out = tmp_path / "all.csv"
    run_step("core.table_concat", {"source_column": "run", "source_pattern": r"quant/([^/]+)/"},
             inputs={"tables": [a, b]}, outputs={"table": out})
    assert out.read_text().splitlines()[0] == "run,id,tpm"
    assert read(out)["run"].tolist() == ["SRR1", "SRR2"]
    named = tmp_path / "named.tsv"
    run_step("core.table_concat", {"source_pattern": r"(?P<dir>quant)/(?P<source>SRR\d)",
                                   "sep": ","},
             inputs={"tables": [a, b]}, outputs={"table": named})
    assert named.read_text().splitlines()[1].startswith("SRR1,")


def test_table_concat_errors(tmp_path, run_step):
    a = write(tmp_path / "a.tsv", "source\tn\nx\t1\n")
    with pytest.raises(StepError, match="already has a column 'source'"):
        run_step("core.table_concat", inputs={"tables": [a]}, outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError, match=r"source_pattern 'zzz/\(\.\+\)' does not match"):
        run_step("core.table_concat", {"source_column": "file", "source_pattern": "zzz/(.+)"},
                 inputs={"tables": [a]}, outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError, match="not a valid regular expression"):
        run_step("core.table_concat", {"source_pattern": "(unclosed"},
                 inputs={"tables": [a]}, outputs={"table": tmp_path / "o.tsv"})
    empty = write(tmp_path / "empty.tsv", "")
    with pytest.raises(StepError, match="empty"):
        run_step("core.table_concat", inputs={"tables": [empty]}, outputs={"table": tmp_path / "o.tsv"})


def test_table_concat_without_source_column_warns_nothing(tmp_path, run_step):
    a = write(tmp_path / "x" / "t.tsv", "n\n1\n")
    b = write(tmp_path / "y" / "t.tsv", "n\n2\n")
    result = run_step("core.table_concat", {"source_column": None}, inputs={"tables": [a, b]},
                      outputs={"table": tmp_path / "o.tsv"})
    assert (tmp_path / "o.tsv").read_text() == "n\n1\n2\n"
    assert result["warnings"] == []
    result = run_step("core.table_concat", inputs={"tables": [a, b]}, outputs={"table": tmp_path / "p.tsv"})
    assert result["warnings"] == ["source value 't' comes from 2 files"]


# table_filter ------------------------------------------------------------------------------
def test_table_filter_query_and_columns(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    out = tmp_path / "f.tsv"
    run_step("core.table_filter", {"query": "count >= 5 and gene != 'g2'",
                                   "columns": ["sample", "count"]},
             inputs={"table": src}, outputs={"table": out})
    assert out.read_text() == "sample\tcount\nA\t10\nB\t7\n"


def test_table_filter_unknown_column_lists_available(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    with pytest.raises(StepError, match=r"'cnt' is not defined.*available columns: sample, gene, "
                                        r"count, length"):
        run_step("core.table_filter", {"query": "cnt > 1"}, inputs={"table": src},
                 outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError, match="is not a valid query"):
        run_step("core.table_filter", {"query": "count >> > 1"}, inputs={"table": src},
                 outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError) as info:
        run_step("core.table_filter", {"columns": ["sample", "counts"]}, inputs={"table": src},
                 outputs={"table": tmp_path / "o.tsv"})
    assert "column 'counts' is not in" in str(info.value)
    assert info.value.hint is not None and "did you mean 'count'" in info.value.hint


# table_join --------------------------------------------------------------------------------
def test_table_join_how_and_clashing_columns(tmp_path, run_step):
    left = write(tmp_path / "left.tsv", "id\tvalue\tname\n1\t10\ta\n2\t20\tb\n3\t30\tc\n")
    right = write(tmp_path / "right.tsv", "id\tvalue\n2\t200\n3\t300\n4\t400\n")
    third = write(tmp_path / "third.csv", "id,flag\n3,yes\n")
    out = tmp_path / "j.tsv"
    run_step("core.table_join", {"on": "id"}, inputs={"tables": [left, right]},
             outputs={"table": out})
    frame = read(out)
    assert list(frame.columns) == ["id", "value_left", "name", "value_right"]
    assert frame.to_dict("list") == {"id": [2, 3], "value_left": [20, 30], "name": ["b", "c"],
                                     "value_right": [200, 300]}
    run_step("core.table_join", {"on": ["id"], "how": "outer"},
             inputs={"tables": [left, right]}, outputs={"table": out})
    assert read(out)["id"].tolist() == [1, 2, 3, 4]
    run_step("core.table_join", {"on": "id", "how": "left"},
             inputs={"tables": [left, right, third]}, outputs={"table": out})
    frame = read(out)
    assert frame["id"].tolist() == [1, 2, 3]
    assert frame["flag"].fillna("-").tolist() == ["-", "-", "yes"]


def test_table_join_text_and_number_keys_match(tmp_path, run_step):
    numbers = write(tmp_path / "n.tsv", "id\tx\n1\ta\n2\tb\n")
    texts = write(tmp_path / "t.tsv", "id\ty\n1\tc\nz\td\n")
    out = tmp_path / "j.tsv"
    run_step("core.table_join", {"on": "id"}, inputs={"tables": [numbers, texts]}, outputs={"table": out})
    assert out.read_text() == "id\tx\ty\n1\ta\tc\n"


def test_table_join_errors(tmp_path, run_step):
    a = write(tmp_path / "a.tsv", "id\tx\n1\t2\n")
    b = write(tmp_path / "b.tsv", "ID\ty\n1\t2\n")
    with pytest.raises(StepError, match=r"column 'id' is not in table '.*b\.tsv'; available "
                                        r"columns: ID, y"):
        run_step("core.table_join", {"on": "id"}, inputs={"tables": [a, b]}, outputs={"table": a})
    with pytest.raises(StepError, match="two or more tables, got 1"):
        run_step("core.table_join", {"on": "id"}, inputs={"tables": [a]}, outputs={"table": b})


# table_aggregate ---------------------------------------------------------------------------
def test_table_aggregate_matches_hand_computation(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    out = tmp_path / "agg.tsv"
    run_step("core.table_aggregate",
             {"by": "sample", "aggregations": {"count": ["sum", "mean", "max"], "gene": "count",
                                               "length": "median"}},
             inputs={"table": src}, outputs={"table": out})
    frame = read(out).set_index("sample")
    assert list(frame.columns) == ["count_sum", "count_mean", "count_max", "gene", "length"]
    assert frame.loc["A", "count_sum"] == 10 + 5
    assert frame.loc["B", "count_sum"] == 7 + 1 + 4
    assert frame.loc["B", "count_mean"] == pytest.approx(12 / 3)
    assert frame.loc["B", "count_max"] == 7
    assert frame["gene"].to_dict() == {"A": 2, "B": 3}
    assert frame.loc["B", "length"] == 100  # median of 100, 200, 50


def test_table_aggregate_two_keys_and_whole_table(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    out = tmp_path / "agg.tsv"
    run_step("core.table_aggregate", {"by": ["length", "gene"], "aggregations": {"count": "sum"}},
             inputs={"table": src}, outputs={"table": out})
    assert out.read_text() == "length\tgene\tcount\n50\tg3\t4\n100\tg1\t17\n200\tg2\t6\n"
    run_step("core.table_aggregate", {"aggregations": {"count": ["sum", "std"], "gene": "first"}},
             inputs={"table": src}, outputs={"table": out})
    frame = read(out)
    assert len(frame) == 1 and frame.loc[0, "count_sum"] == 27 and frame.loc[0, "gene"] == "g1"
    values = [10, 5, 7, 1, 4]
    mean = sum(values) / 5
    sample_sd = (sum((v - mean) ** 2 for v in values) / 4) ** 0.5
    assert frame.loc[0, "count_std"] == pytest.approx(sample_sd)


def test_table_aggregate_errors(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    out = tmp_path / "agg.tsv"
    with pytest.raises(StepError, match=r"'by': column 'Sample' is not in .*available columns: "
                                        r"sample, gene, count, length"):
        run_step("core.table_aggregate", {"by": "Sample", "aggregations": {"count": "sum"}},
                 inputs={"table": src}, outputs={"table": out})
    with pytest.raises(StepError, match="'aggregations': column 'reads' is not in"):
        run_step("core.table_aggregate", {"by": "sample", "aggregations": {"reads": "sum"}},
                 inputs={"table": src}, outputs={"table": out})
    with pytest.raises(StepError, match="cannot compute mean of column 'gene'"):
        run_step("core.table_aggregate", {"by": "sample", "aggregations": {"gene": "mean"}},
                 inputs={"table": src}, outputs={"table": out})
    with pytest.raises(StepError, match="output column 'sample' is made twice"):
        run_step("core.table_aggregate", {"by": "sample", "aggregations": {"sample": "count"}},
                 inputs={"table": src}, outputs={"table": out})


def test_table_aggregate_rejects_unknown_function(tmp_path):
    from engine.params import params_problems
    from engine.registry import get_step

    schema = get_step("core.table_aggregate").params_schema
    assert params_problems(schema, {"aggregations": {"count": "total"}})
    assert params_problems(schema, {"by": "x"})  # aggregations is required
    assert not params_problems(schema, {"aggregations": {"count": ["sum", "nunique"]}})


# table_select ------------------------------------------------------------------------------
def test_table_select_columns_rename_sort_limit(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    out = tmp_path / "s.tsv"
    run_step("core.table_select",
             {"columns": ["gene", "sample", "count"], "rename": {"count": "reads"},
              "sort_by": "count", "descending": True, "limit": 3},
             inputs={"table": src}, outputs={"table": out})
    assert out.read_text() == "gene\tsample\treads\ng1\tA\t10\ng1\tB\t7\ng2\tA\t5\n"
    run_step("core.table_select", {"rename": {"gene": "id"}, "sort_by": ["id", "sample"]},
             inputs={"table": src}, outputs={"table": out})
    assert read(out)["id"].tolist() == ["g1", "g1", "g2", "g2", "g3"]


def test_table_select_errors(tmp_path, run_step):
    src = write(tmp_path / "counts.tsv", COUNTS)
    with pytest.raises(StepError, match="'rename': column 'genes' is not in"):
        run_step("core.table_select", {"rename": {"genes": "id"}}, inputs={"table": src},
                 outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError, match=r"'sort_by': column 'length' is not in .*available "
                                        r"columns: sample, count"):
        run_step("core.table_select", {"columns": ["sample", "count"], "sort_by": "length"},
                 inputs={"table": src}, outputs={"table": tmp_path / "o.tsv"})
    with pytest.raises(StepError, match="exactly one input table, but 2"):
        run_step("core.table_select", inputs={"table": [src, src]}, outputs={"table": tmp_path / "o.tsv"})
