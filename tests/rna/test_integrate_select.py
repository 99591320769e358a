"""rna.integrate (local FASTQ -> metadata rows) and rna.select (qualify + seeded sampling)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from engine import StepError
from stepslib.rna.integrate import fastq_stats
from tests.helpers.rna import EXAMPLES, write


def fastq_text(prefix: str, seqs: list[str]) -> str:
    return "".join(f"@{prefix}.{i}\n{s}\n+\n{'I' * len(s)}\n" for i, s in enumerate(seqs))


def write_gz(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    return path


def slow_stats(path: Path) -> tuple[int, int]:
    """Record-by-record reference count, independent of the step's implementation."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        lines = handle.read().splitlines()
    assert len(lines) % 4 == 0
    seqs = lines[1::4]
    return len(seqs), sum(len(s) for s in seqs)


# integrate ---------------------------------------------------------------------------------
def test_fastq_stats_exact_on_varied_reads(tmp_path: Path) -> None:
    seqs = ["ACGT" * 10, "A", "GATTACA" * 30, "N" * 151, "ACGTACGTAC"]
    gz = write_gz(tmp_path / "x_1.fastq.gz", fastq_text("x", seqs))
    plain = write(tmp_path / "y.fq", fastq_text("y", seqs[:2]))
    assert fastq_stats(gz) == (5, 40 + 1 + 210 + 151 + 10)
    assert fastq_stats(plain) == (2, 41)


def test_fastq_stats_matches_record_parser_on_example_data() -> None:
    for path in sorted((EXAMPLES / "fastq" / "Demo_beta").glob("*.fastq.gz")):
        assert fastq_stats(path) == slow_stats(path)


def test_integrate_paired_single_and_sample_sheet(tmp_path: Path, run_step) -> None:
    fq = tmp_path / "fq"
    write_gz(fq / "S1_1.fastq.gz", fastq_text("a", ["ACGT" * 25] * 7))
    write_gz(fq / "S1_2.fastq.gz", fastq_text("b", ["TTTT" * 20] * 7))
    write(fq / "lib_x_S2.fq", fastq_text("c", ["ACG", "ACGTA"]))  # single end, underscores
    write(fq / "notes.txt", "not a fastq\n")
    sheet = write(tmp_path / "sheet.tsv",
                  "run\tscientific_name\tsample_group\tbioproject\ttotal_spots\n"
                  "S1\tDemo alpha\tbrain\tPRJ1\t999\nlib_x_S2\tDemo alpha\tgut\tPRJ2\t\n")
    out = tmp_path / "metadata" / "metadata.tsv"
    private = tmp_path / "metadata_private_fastq.tsv"
    result = run_step("rna.integrate", {"fastq_dir": str(fq)},
                      inputs={"sample_sheet": sheet},
                      outputs={"metadata": out, "private": private})
    assert result["status"] == "completed"
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False).set_index("run")
    assert list(table.index) == ["S1", "lib_x_S2"]
    s1, s2 = table.loc["S1"], table.loc["lib_x_S2"]
    assert (s1.lib_layout, s1.total_spots, s1.total_bases, s1.spot_length) == (
        "paired", "7", str(7 * 100 + 7 * 80), "180")
    assert (s2.lib_layout, s2.total_spots, s2.total_bases, s2.read2_path) == (
        "single", "2", "8", "")
    assert s1.read1_path == str((fq / "S1_1.fastq.gz").resolve())
    assert (s1.scientific_name, s1.sample_group, s1.bioproject) == ("Demo alpha", "brain", "PRJ1")
    assert s2.sample_group == "gut"
    assert set(table.private_file) == {"yes"}
    assert int(s1["size"]) == sum(p.stat().st_size for p in fq.glob("S1_*"))
    assert list(table.columns[:2]) == ["scientific_name", "sample_group"]  # amalgkit order
    assert private.exists()


def test_integrate_appends_to_metadata_and_refuses_clashes(tmp_path: Path, run_step) -> None:
    fq = tmp_path / "fq"
    write_gz(fq / "P1.fastq.gz", fastq_text("a", ["ACGT"] * 3))
    meta = write(tmp_path / "in.tsv", "run\tscientific_name\ttotal_spots\n"
                                      "SRR1\tDemo alpha\t100\n")
    out = tmp_path / "out.tsv"
    run_step("rna.integrate", {"fastq_dir": str(fq)}, inputs={"metadata": meta},
             outputs={"metadata": out})
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(table.run) == ["SRR1", "P1"]
    assert list(table.private_file) == ["no", "yes"]
    write(meta, "run\nP1\n")
    with pytest.raises(StepError, match="both the metadata table and fastq_dir"):
        run_step("rna.integrate", {"fastq_dir": str(fq)}, inputs={"metadata": meta},
                 outputs={"metadata": out})


def test_integrate_errors(tmp_path: Path, run_step) -> None:
    fq = tmp_path / "fq"
    write_gz(fq / "A_1.fastq.gz", fastq_text("a", ["ACGT"] * 3))
    write_gz(fq / "A_2.fastq.gz", fastq_text("a", ["ACGT"] * 2))
    with pytest.raises(StepError, match="has 3 reads but"):
        run_step("rna.integrate", {"fastq_dir": str(fq)}, inputs={},
                 outputs={"metadata": tmp_path / "m.tsv"})
    write_gz(fq / "A_2.fastq.gz", fastq_text("a", ["ACGT"] * 3))
    sheet = write(tmp_path / "sheet.tsv", "run\tsample_group\nOTHER\tx\n")
    with pytest.raises(StepError, match="no row in the sample sheet"):
        run_step("rna.integrate", {"fastq_dir": str(fq)}, inputs={"sample_sheet": sheet},
                 outputs={"metadata": tmp_path / "m.tsv"})
    result = run_step("rna.integrate", {"fastq_dir": str(fq), "missing_sheet_rows": "warn"},
                      inputs={"sample_sheet": sheet}, outputs={"metadata": tmp_path / "m.tsv"})
    assert result["warnings"]
    write(fq / "B_1.fq", "@r\nAC\n+\nII\n")  # mate 1 without mate 2 is a single-end run
    write(fq / "B.fq", "@r\nAC\n+\nII\n")
    with pytest.raises(StepError, match="inconsistent set of FASTQ files"):
        run_step("rna.integrate", {"fastq_dir": str(fq)}, inputs={},
                 outputs={"metadata": tmp_path / "m.tsv"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(StepError, match="no FASTQ files"):
        run_step("rna.integrate", {"fastq_dir": str(tmp_path / "empty")}, inputs={},
                 outputs={"metadata": tmp_path / "m.tsv"})


# select ------------------------------------------------------------------------------------
def make_metadata(path: Path, extra: list[dict] | None = None) -> Path:
    rows = []
    n = 0
    for species in ("Demo alpha", "Demo beta"):
        for group in ("brain", "muscle"):
            for project in ("PRJ1", "PRJ2", "PRJ3"):
                for _ in range(4):
                    n += 1
                    rows.append({"scientific_name": species, "sample_group": group,
                                 "bioproject": f"{species[5]}{project}", "run": f"R{n:03d}",
                                 "biosample": f"SAMD{n:03d}", "total_spots": "10000000"})
    rows += extra or []
    pd.DataFrame(rows).fillna("").to_csv(path, sep="\t", index=False)
    return path


def run_select(run_step, tmp_path: Path, params: dict, inputs: dict | None = None,
               name: str = "out") -> dict[str, Path]:
    out = tmp_path / name
    outputs = {"metadata": out / "metadata.tsv", "original": out / "metadata_original.tsv",
               "pivot_qualified": out / "pivot_qualified.tsv",
               "pivot_selected": out / "pivot_selected.tsv",
               "selected": out / "metadata_selected.tsv"}
    run_step("rna.select", params, inputs={"metadata": tmp_path / "in.tsv", **(inputs or {})},
             outputs=outputs)
    return outputs


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_select_respects_max_sample_round_robin_and_is_reproducible(tmp_path, run_step) -> None:
    make_metadata(tmp_path / "in.tsv")
    first = run_select(run_step, tmp_path, {"max_sample": 5, "seed": 7}, name="a")
    again = run_select(run_step, tmp_path, {"max_sample": 5, "seed": 7}, name="b")
    table = read(first["metadata"])
    assert read(first["metadata"]).equals(read(again["metadata"]))
    sampled = table[table.is_sampled == "yes"]
    per_group = sampled.groupby(["scientific_name", "sample_group"]).size()
    assert set(per_group) == {5} and len(per_group) == 4
    per_project = sampled.groupby(["scientific_name", "sample_group", "bioproject"]).size()
    # 5 runs over 3 BioProjects, one per project per round: 2+2+1
    assert sorted(per_project.groupby(level=[0, 1]).apply(sorted).iloc[0]) == [1, 2, 2]
    assert per_project.max() == 2 and per_project.min() == 1
    selections = {tuple(read(run_select(run_step, tmp_path, {"max_sample": 5, "seed": s},
                                        name=f"s{s}")["selected"]).run) for s in range(5)}
    assert len(selections) > 1  # the seed matters
    selected = read(first["selected"])
    assert list(selected.run) == list(sampled.run)
    assert set(selected.is_qualified) == {"yes"}
    assert read(first["original"]).equals(read(tmp_path / "in.tsv"))
    pivot = read(first["pivot_selected"]).set_index("scientific_name")
    assert pivot.loc["Demo alpha", "brain"] == "5"
    assert read(first["pivot_qualified"]).set_index("scientific_name").loc[
        "Demo beta", "muscle"] == "12"


def test_select_exclusions(tmp_path: Path, run_step) -> None:
    extra = [
        {"scientific_name": "Demo alpha", "sample_group": "brain", "bioproject": "PRJX",
         "run": "LOW", "total_spots": "10"},
        {"scientific_name": "Demo alpha", "sample_group": "brain", "bioproject": "PRJX",
         "run": "SC", "total_spots": "9000000", "sample_title": "brain single-cell RNA-seq"},
        {"scientific_name": "Demo alpha", "sample_group": "brain", "bioproject": "PRJC",
         "run": "CTRL", "total_spots": "9000000", "treatment": "control"},
        {"scientific_name": "Demo alpha", "sample_group": "brain", "bioproject": "PRJC",
         "run": "TREAT", "total_spots": "9000000", "treatment": "heat shock"},
        {"scientific_name": "Demo alpha", "sample_group": "brain", "bioproject": "PRJX",
         "run": "CELL", "total_spots": "9000000", "cell": "HEK293"},
    ]
    make_metadata(tmp_path / "in.tsv", extra)
    table = read(run_select(run_step, tmp_path, {"min_nspots": 1000})["metadata"]).set_index("run")
    assert table.loc["LOW", "exclusion"] == "low_nspots"
    assert table.loc["SC", "exclusion"] == "single_cell"
    assert table.loc["TREAT", "exclusion"] == "non_control"
    assert table.loc["CTRL", "exclusion"] == "no"
    assert table.loc["CELL", "exclusion"] == "cell_culture"
    assert table.loc["LOW", "is_qualified"] == "no" and table.loc["LOW", "is_sampled"] == "no"
    assert (table.loc["R001", "exclusion"], table.loc["R001", "is_sampled"]) == ("no", "yes")
    none = read(run_select(run_step, tmp_path, {"min_nspots": 1000, "config": "none"},
                           name="none")["metadata"]).set_index("run")
    assert none.loc["SC", "exclusion"] == "no" and none.loc["TREAT", "exclusion"] == "no"
    rules = write(tmp_path / "exclude_keyword.config",
                  "# cols\treason\tregex\nsample_group,run\tno_tissue_label\t^TREAT$\n")
    custom = read(run_select(run_step, tmp_path, {"min_nspots": 1000},
                             inputs={"exclude_keyword": rules}, name="custom")["metadata"])
    assert custom.set_index("run").loc["TREAT", "exclusion"] == "no_tissue_label"
    assert custom.set_index("run").loc["SC", "exclusion"] == "no"  # file replaces base rules


def test_select_missing_taxid_sample_group_filter_and_duplicates(tmp_path, run_step) -> None:
    make_metadata(tmp_path / "in.tsv")
    frame = read(tmp_path / "in.tsv")
    frame["taxid_species"] = ["7460"] * (len(frame) - 1) + [""]
    frame.to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    table = read(run_select(run_step, tmp_path, {"sample_group": ["muscle"]})["metadata"])
    assert set(table.sample_group) == {"muscle"}
    assert table.iloc[-1].exclusion == "missing_taxid"
    pd.concat([frame, frame.iloc[:1]]).to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    with pytest.raises(StepError, match="more than once"):
        run_select(run_step, tmp_path, {}, name="dup")


def test_integrate_reads_getfastq_run_folders_several_dirs_and_names_the_species(
        tmp_path: Path, run_step) -> None:
    """amalgkit getfastq's layout (RUN/RUN_1.amalgkit.fastq.gz), a second flat directory,
    and runs no sheet names get param scientific_name (a MetaInformAnt config's one species)."""
    getfastq, flat = tmp_path / "getfastq", tmp_path / "flat"
    write_gz(getfastq / "SRR1" / "SRR1_1.amalgkit.fastq.gz", fastq_text("a", ["ACGT"] * 3))
    write_gz(getfastq / "SRR1" / "SRR1_2.amalgkit.fastq.gz", fastq_text("b", ["ACGT"] * 3))
    write_gz(getfastq / "SRR2" / "SRR2.amalgkit.fastq.gz", fastq_text("c", ["AC"] * 5))
    write(flat / "PRV1.fq", fastq_text("d", ["A"]))
    out = tmp_path / "metadata.tsv"
    run_step("rna.integrate", {"fastq_dir": [str(getfastq), str(flat)],
                               "scientific_name": "Pogonomyrmex_barbatus"},
             inputs={}, outputs={"metadata": out})
    table = pd.read_csv(out, sep="\t", dtype=str).set_index("run")
    assert table.loc[["SRR1", "SRR2", "PRV1"], "lib_layout"].tolist() == \
        ["paired", "single", "single"]
    assert table.loc["SRR1", "total_spots"] == "3" and table.loc["SRR2", "total_spots"] == "5"
    assert set(table["scientific_name"]) == {"Pogonomyrmex barbatus"}
    write(flat / "SRR2.fq", fastq_text("e", ["A"]))
    with pytest.raises(StepError, match="runs found in two FASTQ directories: SRR2"):
        run_step("rna.integrate", {"fastq_dir": [str(getfastq), str(flat)]},
                 inputs={}, outputs={"metadata": out})


def test_select_keeps_the_configs_species_and_takes_amalgkits_group_text(tmp_path: Path,
                                                                          run_step) -> None:
    meta = write(tmp_path / "in.tsv",
                 "run\tscientific_name\tsample_group\tbioproject\ttotal_spots\n"
                 "R1\tApis mellifera\tbrain\tP1\t10\nR2\tApis mellifera\tgut\tP1\t10\n"
                 "R3\tBombus terrestris\tbrain\tP2\t10\nR4\tApis mellifera\tleg\tP1\t10\n")
    out = tmp_path / "out.tsv"
    run_step("rna.select", {"min_nspots": 1, "species": ["Apis_mellifera"],
                            "sample_group": "brain, gut"},
             inputs={"metadata": meta}, outputs={"metadata": out})
    table = pd.read_csv(out, sep="\t", dtype=str).set_index("run")
    assert sorted(table.index) == ["R1", "R2", "R3"]  # leg dropped by sample_group
    assert table.loc["R3", "exclusion"] == "other_species"
    assert table.loc[["R1", "R2"], "is_qualified"].tolist() == ["yes", "yes"]
    assert table.loc["R3", "is_qualified"] == "no"
