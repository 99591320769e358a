"""MetaInformAnt amalgkit configs against specs/rna/amalgkit.yaml (issue #13, RNA part).

The real configs (tests/data/metainformant-configs, Apache-2.0) and our own in the same shape
(tests/rna/data/configs) dry-run cleanly once the example data sits where they point, run with
their own values (never the demo's), and several species run in one go.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.rna import ROOT, needs_kallisto
from tests.helpers.rnaconfigs import (
    needs_edger,
    place_fasta,
    place_fastq,
    place_orthogroups,
    write_sample_sheet,
)
from tests.helpers.running import cli, run

SPEC = str(ROOT / "specs" / "rna" / "amalgkit.yaml")
REAL = ROOT / "tests" / "data" / "metainformant-configs"
OURS = ROOT / "tests" / "rna" / "data" / "configs"

# Where each real config points (read off the files; the fixture puts the example there).
REAL_LAYOUTS = {
    "amalgkit_template.yaml": {
        "species": ["Homo_sapiens"],
        "fasta": {"Homo_sapiens": "output/amalgkit/my_species/genome/ncbi_dataset/data/"
                                  "GCF_000001405.40/rna.fna"},
        "fastq": "output/amalgkit/my_species/fastq/getfastq", "getfastq_layout": True,
        "missing_at": (47, "genome.accession"),
    },
    "amalgkit_test.yaml": {
        "species": ["Test_species"],
        "fasta": {"Test_species": "output/amalgkit/test/work/fasta/Test_species.fa"},
        "fastq": "output/amalgkit/test/fastq", "getfastq_layout": False,
        "missing_at": (4, "work_dir"),
    },
}


def place(root: Path, layout: dict) -> None:
    place_fasta(root, layout["fasta"], layout["species"])
    place_fastq(root, layout["species"], layout["fastq"],
                getfastq_layout=layout["getfastq_layout"])


def latest_record(root: Path) -> dict:
    return json.loads(sorted((root / ".mi" / "runs").glob("*.json"))[-1].read_text())


def instance(record: dict, name: str) -> dict:
    return next(i for i in record["instances"] if i["id"] == name)


def config_value(record: dict, key: str) -> object:
    return next(c["value"] for c in record["config"] if c["key"] == key)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("MI_STATE_DIR", "MI_JOBS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("name", sorted(REAL_LAYOUTS))
def test_a_real_config_without_its_transcriptome_fails_at_its_own_line(here: Path,
                                                                      name: str) -> None:
    line, key = REAL_LAYOUTS[name]["missing_at"]
    code, _, err = cli(SPEC, "--dry-run", "-c", str(REAL / name))
    assert code == 2 and err.count("error:") == 1, err
    assert f"{REAL / name}:{line}:" in err
    assert f"(its path comes from config '{key}')" in err
    assert "hint: put the file at '" + REAL_LAYOUTS[name]["fasta"][
        REAL_LAYOUTS[name]["species"][0]] + "'" in err


@pytest.mark.parametrize("name", sorted(REAL_LAYOUTS))
def test_a_real_config_dry_runs_cleanly_with_the_example_where_it_points(here: Path,
                                                                         name: str) -> None:
    layout = REAL_LAYOUTS[name]
    place(here, layout)
    code, out, err = cli(SPEC, "--dry-run", "-c", str(REAL / name), "--strict")
    assert code == 0, err
    assert "warning" not in err
    species = layout["species"][0]
    assert f"  index[{species}]  " in out
    assert "accepted, not used: steps.config" in out
    assert "disabled" in out.split("metadata", 1)[1].splitlines()[0]  # local FASTQ: no SRA
    code, out, err = cli(SPEC, "--dry-run", "--json", "-c", str(REAL / name))
    rows = {row["id"]: row for row in json.loads(out)["steps"]}
    assert rows[f"index[{species}]"]["inputs"]["fasta"] == layout["fasta"][species]


@needs_kallisto
@pytest.mark.parametrize("name", sorted(REAL_LAYOUTS))
def test_a_real_config_runs_with_its_values_not_the_demos(here: Path, name: str) -> None:
    """A real config's species, threads and paths reach the steps; min_nspots is amalgkit's
    5,000,000 (the demo's 1,000 does not leak), so the 5,000-read example runs are excluded;
    no sample sheet, orthogroup table or FASTQ of the demo is used."""
    layout = REAL_LAYOUTS[name]
    place(here, layout)
    result = run(SPEC, config_files=[str(REAL / name)], until=["select"])
    assert result.ok, result.failed
    record = latest_record(here)
    select = instance(record, "select")
    assert select["params"]["min_nspots"] == 5_000_000
    assert select["params"]["species"] == layout["species"]
    assert instance(record, "integrate")["params"]["fastq_dir"] == layout["fastq"]
    assert instance(record, "metadata")["status"] == "skipped"  # local FASTQ: no SRA query
    assert config_value(record, "orthogroup_table") is None
    assert config_value(record, "sample_sheet") is None
    assert config_value(record, "threads") == 6
    work = here / str(config_value(record, "work_dir"))
    table = pd.read_csv(work / "metadata/metadata.tsv", sep="\t")
    assert sorted(table["run"]) == [f"PRVA{i:02d}" for i in range(1, 14)]  # Demo_alpha's only
    assert set(table["scientific_name"]) == {layout["species"][0].replace("_", " ")}
    assert set(table["exclusion"]) == {"low_nspots"}


@needs_kallisto
@pytest.mark.slow
def test_one_species_with_a_genome_section_runs_on_its_values(here: Path) -> None:
    config = OURS / "one_species_genome.yaml"
    species = ["Pogonomyrmex_barbatus"]
    place_fasta(here, {species[0]: "output/amalgkit/pbarbatus/genome/"
                                    "GCF_000187915.1_Pbar_UMD_V03_rna.fna.gz"}, species)
    place_fastq(here, species, "output/amalgkit/pbarbatus/fastq/getfastq", getfastq_layout=True)
    sheet = write_sample_sheet(here, "sheet.tsv", species)
    result = run(SPEC, config_files=[str(config)], overrides={"sample_sheet": str(sheet)})
    assert result.ok, result.failed
    record = latest_record(here)
    index = instance(record, f"index[{species[0]}]")
    assert index["inputs"][0]["path"].endswith("genome/GCF_000187915.1_Pbar_UMD_V03_rna.fna.gz")
    assert instance(record, "select")["params"] | {"min_nspots": 4500, "max_sample": 2} \
        == instance(record, "select")["params"]
    assert instance(record, "curate")["params"]["mapping_rate"] == 0.3
    work = here / "output/amalgkit/pbarbatus/work"
    selected = pd.read_csv(work / "metadata/metadata_selected.tsv", sep="\t")
    assert len(selected) == 4  # max_sample 2 per sample_group (brain, muscle)
    assert set(selected.groupby("sample_group").size()) == {2}
    table = pd.read_csv(work / "metadata/metadata.tsv", sep="\t").set_index("run")
    assert table.loc["PRVA13", "exclusion"] == "low_nspots"  # 400 < 4500
    assert set(table.drop(index="PRVA13")["exclusion"]) == {"no"}
    for run_id in selected["run"]:
        log = Path(instance(record, f"quant[{run_id}]")["log"]).read_text()
        assert " -t 2 " in log  # threads: 2
        assert f"getfastq/{run_id}/{run_id}_1.amalgkit.fastq.gz" in log
    counts = pd.read_csv(work / f"merge/{species[0]}/{species[0]}_est_counts.tsv", sep="\t")
    assert sorted(counts.columns[1:]) == sorted(selected["run"])
    assert (work / f"cstmm/{species[0]}/{species[0]}_cstmm_counts.tsv").is_file()
    assert not (work / "cstmm/cstmm_orthogroup_genecount.tsv").exists()  # orthogroup_table ""
    assert (work / "csca/csca_pca.png").is_file()


def cross_species_tree(root: Path, species: list[str]) -> None:
    place_fasta(root, {sp: f"data/fasta/{sp}.fa" for sp in species}, species)
    place_fastq(root, species, "data/fastq")
    place_orthogroups(root, "data/Orthogroups.tsv", species)
    write_sample_sheet(root, "data/sheet.tsv", species)


R_CSTMM = r"""
suppressPackageStartupMessages(library(edgeR))
a <- commandArgs(trailingOnly = TRUE)
og <- read.delim(a[1], colClasses = "character", check.names = FALSE)
species <- strsplit(a[2], ",")[[1]]
files <- strsplit(a[3], ",")[[1]]
counts <- lapply(files, function(f) as.matrix(read.delim(f, row.names = 1, check.names = FALSE)))
copies <- sapply(species, function(s) ifelse(og[[s]] %in% c("", "-"), 0,
                                             lengths(strsplit(og[[s]], ","))))
keep <- rowMeans(copies == 1) >= 0.5
blocks <- lapply(seq_along(species), function(i) {
  genes <- trimws(og[[species[i]]][keep]); genes[copies[keep, i] != 1] <- NA
  m <- counts[[i]][match(genes, rownames(counts[[i]])), , drop = FALSE]
  colnames(m) <- colnames(counts[[i]]); m })
x <- do.call(cbind, blocks)
x <- x[complete.cases(x), ]
lib <- unlist(lapply(counts, colSums))
f <- calcNormFactors(x, lib.size = lib, method = "TMM")
ref <- which(f == sort(f)[ceiling(length(f) / 2)])[1]
f <- calcNormFactors(x, lib.size = lib, method = "TMM", refColumn = ref)
write.table(data.frame(run = colnames(x), factor = f, lib = lib), a[4], sep = "\t",
            quote = FALSE, row.names = FALSE)
"""


def edger_factors(root: Path, orthogroups: Path, species: list[str],
                  count_files: list[Path]) -> pd.DataFrame:
    """amalgkit cstmm.r's two TMM rounds, in R with edgeR, from merge's tables."""
    script, out = root / "cstmm.R", root / "edger_factors.tsv"
    script.write_text(R_CSTMM)
    subprocess.run(["Rscript", str(script), str(orthogroups), ",".join(species),
                    ",".join(map(str, count_files)), str(out)], check=True)
    return pd.read_csv(out, sep="\t").set_index("run")


@needs_kallisto
@pytest.mark.slow
@pytest.mark.skipif(not needs_edger, reason="R with edgeR not installed (make tools)")
def test_two_species_in_one_run_cstmm_agrees_with_edger_and_csca_keeps_the_planted_tissues(
        here: Path) -> None:
    """cross_species.yaml: both species go through index/quant/merge, cstmm joins them on
    single-copy orthogroups (factors = edgeR's, two amalgkit rounds, from R), csca groups runs
    by the tissue column, and the brain/muscle genes planted in the simulation stay apart."""
    species = ["Apis_mellifera", "Pogonomyrmex_barbatus"]
    cross_species_tree(here, species)
    result = run(SPEC, config_files=[str(OURS / "cross_species.yaml")],
                 overrides={"sample_sheet": "data/sheet.tsv"})
    assert result.ok, result.failed
    assert {f"index[{sp}]" for sp in species} <= set(result.statuses)
    assert "quant[PRVA01]" in result.statuses and "quant[PRVB04]" in result.statuses
    work = here / "output/amalgkit/hymenoptera/work"
    merged = [work / f"merge/{sp}/{sp}_est_counts.tsv" for sp in species]
    expected = edger_factors(here, here / "data/Orthogroups.tsv", species, merged)
    meta = pd.read_csv(work / "cstmm/metadata.tsv", sep="\t").set_index("run")
    assert set(meta["scientific_name"]) == {"Apis mellifera", "Pogonomyrmex barbatus"}
    np.testing.assert_allclose(meta.loc[expected.index, "tmm_normalization_factor"],
                               expected["factor"], rtol=1e-6)
    np.testing.assert_allclose(meta.loc[expected.index, "tmm_library_size"], expected["lib"],
                               rtol=1e-9)
    raw = pd.read_csv(merged[1], sep="\t", index_col=0)
    normalised = pd.read_csv(work / f"cstmm/{species[1]}/{species[1]}_cstmm_counts.tsv",
                             sep="\t", index_col=0)
    np.testing.assert_allclose(normalised["PRVB01"], raw["PRVB01"] / expected.loc["PRVB01",
                                                                                  "factor"])
    record = latest_record(here)
    assert instance(record, "curate")["params"]["correlation_threshold"] == 0.35
    assert instance(record, "csca")["params"]["sample_group"] == "tissue"
    csca = here / "output/amalgkit/hymenoptera/work/csca"
    samples = pd.read_csv(csca / "csca_samples.tsv", sep="\t")
    assert set(samples["species"]) == set(species)
    assert set(samples["sample_group"]) == {"brain", "muscle"}
    assert_planted_tissue_genes(csca, here / "data/Orthogroups.tsv", species)


def assert_planted_tissue_genes(csca: Path, orthogroups: Path, species: list[str]) -> None:
    """The simulation's truth (examples/rna/truth.tsv): transcripts >= 4x up in one tissue
    are up in that tissue in csca's species x tissue means, in both species."""
    from tests.helpers.rna import EXAMPLES

    truth = pd.read_csv(EXAMPLES / "truth.tsv", sep="\t")
    truth = truth[truth["scientific_name"] == "Demo alpha"]
    mean = truth.pivot_table(index="target_id", columns="simulated_tissue", values="true_tpm")
    table = pd.read_csv(orthogroups, sep="\t", dtype=str).set_index("Orthogroup")
    og_of = {gene: og for og, gene in table[species[0]].items()}
    averaged = pd.read_csv(csca / "csca_ortholog_averaged.tsv", sep="\t", index_col=0)
    checked = 0
    for tissue, other in (("brain", "muscle"), ("muscle", "brain")):
        for gene in mean.index[mean[tissue] >= 4 * mean[other]]:
            og = og_of.get(gene)
            if og is None or og not in averaged.index:
                continue
            for sp in species:
                assert averaged.loc[og, f"{sp}_{tissue}"] > averaged.loc[og, f"{sp}_{other}"] + 1
            checked += 1
    assert checked >= 6


@needs_kallisto
@pytest.mark.slow
def test_two_species_without_an_orthogroup_table_normalise_each_on_its_own(here: Path) -> None:
    species = ["Apis_mellifera", "Pogonomyrmex_barbatus"]
    place_fasta(here, {"Apis_mellifera": "data/amel_rna.fa",
                       "Pogonomyrmex_barbatus": "data/pbar_rna.fa"}, species)
    place_fastq(here, species, "data/fastq")
    write_sample_sheet(here, "data/sheet.tsv", species)
    result = run(SPEC, config_files=[str(OURS / "no_orthogroups.yaml")],
                 overrides={"sample_sheet": "data/sheet.tsv"}, until=["cstmm"])
    assert result.ok, result.failed
    work = here / "output/amalgkit/two/work"
    assert not (work / "cstmm/cstmm_orthogroup_genecount.tsv").exists()
    assert config_value(latest_record(here), "orthogroup_table") == ""
    meta = pd.read_csv(work / "cstmm/metadata.tsv", sep="\t")
    for sp in species:
        factors = meta.loc[meta["scientific_name"] == sp.replace("_", " "),
                           "tmm_normalization_factor"]
        # each species is normalised to itself: its factors' geometric mean is 1 (edgeR)
        assert len(factors) >= 4
        assert abs(float(np.exp(np.log(factors).mean())) - 1) < 1e-9


def test_several_species_are_all_planned_none_dropped(here: Path) -> None:
    """species_list with two species: both get an index (before: the second was dropped
    silently); a missing transcriptome is named per species at the config's line."""
    code, _, err = cli(SPEC, "--dry-run", "-c", str(OURS / "cross_species.yaml"))
    assert code == 2
    for sp in ("Apis_mellifera", "Pogonomyrmex_barbatus"):
        assert f"input 'data/fasta/{sp}.fa' of 'index[{sp}]'" in err
    assert f"{OURS / 'cross_species.yaml'}:9:1: error" in err  # transcriptome_fasta's line


def test_bad_params_of_late_steps_fail_the_dry_run_at_the_users_lines(here: Path) -> None:
    """Every step's params are checked before anything runs, also of steps that expand only
    after select (quant, merge, cstmm, curate, csca) and of the disabled getfastq."""
    cross_species_tree(here, ["Apis_mellifera", "Pogonomyrmex_barbatus"])
    bad = here / "bad.yaml"
    bad.write_text((OURS / "cross_species.yaml").read_text()
                   + "  getfastq: {fastp: maybe}\n")
    text = bad.read_text().replace("correlation_threshold: 0.35", "correlation_threshold: 0.35\n"
                                   "    mapping_rate: 7")
    bad.write_text(text.replace("    max_sample: 50", "    max_sample: -1")
                   .replace("  quant:\n", "  quant:\n    bootstrap: -3\n")
                   .replace("    sample_group: tissue", "    sample_group: 3"))
    code, _, err = cli(SPEC, "--dry-run", "-c", str(bad))
    assert code == 2
    for step, param in (("select", "max_sample"), ("quant", "bootstrap"),
                        ("curate", "mapping_rate"), ("csca", "sample_group"),
                        ("getfastq", "fastp")):
        assert f"error: step '{step}' (rna.{step}): param '{param}'" in err, (step, err)
    assert f"{bad}:" in err
    assert not (here / ".mi").exists() and not (here / "output").exists()


@needs_kallisto
def test_redo_yes_forces_its_step_and_getfastq_passes_it_to_amalgkit(here: Path) -> None:
    assert cli(SPEC, "-q")[0] == 0  # the bundled demo, once
    code, out, err = cli(SPEC, "--dry-run", "--json", "--set", "steps.select.redo=yes",
                         "--set", "steps.getfastq.redo=yes")
    assert code == 0, err
    plan = json.loads(out)
    rows = {row["id"]: row for row in plan["steps"]}
    assert rows["select"]["action"] == "run" and rows["select"]["reasons"] == ["forced"]
    assert rows["integrate"]["action"] == "skip"  # only the step that says redo
    import engine

    plan = engine.load(SPEC, overrides={"steps.getfastq.redo": "yes"}).plan(
        table_ready=lambda step: True)  # select's table is there: getfastq expands
    fetches = [i for i in plan.instances.values() if i.step == "getfastq"]
    assert fetches and all(i.params["redo"] == "yes" for i in fetches)  # amalgkit --redo yes
    code, out, err = cli(SPEC, "--dry-run", "--json", "--set", "steps.select.redo=no")
    assert {row["action"] for row in json.loads(out)["steps"]} <= {"skip", "disabled"}
