"""rna.index / rna.quant on real kallisto, and rna.merge against kallisto's own outputs."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import StepError, ToolMissingError
from stepslib.rna.quant import single_end_lengths
from tests.helpers.rna import EXAMPLES, KALLISTO_TEST, needs_kallisto, write

ALPHA_FASTQ = EXAMPLES / "fastq" / "Demo_alpha"
BETA_FASTQ = EXAMPLES / "fastq" / "Demo_beta"


def truth(run: str) -> pd.DataFrame:
    table = pd.read_csv(EXAMPLES / "truth.tsv", sep="\t")
    return table[table.run == run].set_index("target_id")


@pytest.fixture(scope="module")
def indices(tmp_path_factory) -> dict[str, Path]:
    """kallisto indices of both example species, built once with rna.index."""
    if shutil.which("kallisto") is None:
        pytest.skip("kallisto not installed")
    from engine.registry import get_step
    from tests.helpers.rna import checked_params, make_context

    where = tmp_path_factory.mktemp("index")
    result = {}
    for species in ("Demo_alpha", "Demo_beta"):
        target = where / "index" / f"{species}.idx"
        get_step("rna.index").function(
            checked_params("rna.index", {}),
            inputs={"fasta": EXAMPLES / "fasta" / f"{species}.fa"},
            outputs={"index": target}, context=make_context(where, "rna.index"))
        result[species] = target
    return result


def quant_run(run_step, tmp_path: Path, index: Path, row: dict, reads: list[Path],
              params: dict | None = None) -> tuple[Path, Path]:
    run = row["run"]
    outputs = {"abundance": tmp_path / "quant" / run / f"{run}_abundance.tsv",
               "run_info": tmp_path / "quant" / run / f"{run}_run_info.json"}
    run_step("rna.quant", params or {}, inputs={"index": index, "reads": reads},
             outputs=outputs, item=row, context_dir=tmp_path / "ctx" / run)
    return outputs["abundance"], outputs["run_info"]


@needs_kallisto
@pytest.mark.skipif(not (KALLISTO_TEST / "quant_out" / "abundance.tsv").exists(),
                    reason="kallisto-examples not installed (apt-get install kallisto-examples)")
def test_reproduces_kallisto_shipped_example(tmp_path: Path, run_step) -> None:
    """Our index + quant on kallisto's test data give the shipped expected abundance.tsv."""
    fasta = tmp_path / "transcripts.fasta"
    fasta.write_bytes(gzip.decompress((KALLISTO_TEST / "transcripts.fasta.gz").read_bytes()))
    index = tmp_path / "index" / "Homo_sapiens.idx"
    run_step("rna.index", {}, inputs={"fasta": fasta}, outputs={"index": index})
    reads = [KALLISTO_TEST / "reads_1.fastq.gz", KALLISTO_TEST / "reads_2.fastq.gz"]
    abundance, run_info = quant_run(run_step, tmp_path, index, {"run": "TEST1"}, reads)
    expected = (KALLISTO_TEST / "quant_out" / "abundance.tsv").read_text()
    assert abundance.read_text() == expected
    info = json.loads(run_info.read_text())
    shipped = json.loads((KALLISTO_TEST / "quant_out" / "run_info.json").read_text())
    for key in ("n_targets", "n_processed", "n_pseudoaligned", "n_unique", "p_pseudoaligned"):
        assert info[key] == shipped[key]


@needs_kallisto
def test_quant_recovers_simulated_counts_and_merge_equals_per_run(tmp_path, run_step,
                                                                   indices) -> None:
    sheet = pd.read_csv(EXAMPLES / "sample_sheet.tsv", sep="\t", dtype=str)
    runs = ["PRVA07", "PRVA01", "PRVA03"]  # metadata order, not sorted order
    rows = sheet.set_index("run").loc[runs].reset_index()
    rows["lib_layout"] = "paired"
    rows["nominal_length"] = ""
    abundances, infos = [], []
    for row in rows.to_dict("records"):
        reads = [ALPHA_FASTQ / f"{row['run']}_1.fastq.gz", ALPHA_FASTQ / f"{row['run']}_2.fastq.gz"]
        abundance, info = quant_run(run_step, tmp_path, indices["Demo_alpha"], row, reads)
        table = pd.read_csv(abundance, sep="\t").set_index("target_id")
        expected = truth(row["run"]).loc[table.index, "true_fragments"]
        # error-free simulated reads from distinct random transcripts: counts are exact
        np.testing.assert_allclose(table["est_counts"], expected, atol=1e-6)
        assert json.loads(info.read_text())["p_pseudoaligned"] == 100.0
        abundances.append(abundance)
        infos.append(info)
    meta = tmp_path / "metadata_selected.tsv"
    rows.to_csv(meta, sep="\t", index=False)
    merged = tmp_path / "merge"
    result = run_step("rna.merge", {}, inputs={"metadata": meta, "abundance": abundances[::-1],
                                               "run_info": infos},
                      outputs={"metadata": merged / "metadata.tsv",
                               "est_counts": merged / "Demo_alpha" / "Demo_alpha_est_counts.tsv"})
    assert result["status"] == "completed" and not result["warnings"]
    for quantity in ("est_counts", "tpm", "eff_length"):
        wide = pd.read_csv(merged / "Demo_alpha" / f"Demo_alpha_{quantity}.tsv", sep="\t")
        assert list(wide.columns) == ["target_id", *runs]
        for run, path in zip(runs, abundances):
            per_run = pd.read_csv(path, sep="\t")
            assert list(wide["target_id"]) == list(per_run["target_id"])
            np.testing.assert_array_equal(wide[run].to_numpy(), per_run[quantity].to_numpy())
    out_meta = pd.read_csv(merged / "metadata.tsv", sep="\t")
    assert list(out_meta["run"]) == runs
    assert list(out_meta["mapping_rate"]) == [100.0, 100.0, 100.0]


@needs_kallisto
def test_single_end_quant_uses_amalgkit_fragment_defaults(tmp_path, run_step, indices) -> None:
    row = {"run": "PRVB04", "lib_layout": "single", "nominal_length": ""}
    abundance, info = quant_run(run_step, tmp_path, indices["Demo_beta"], row,
                                [BETA_FASTQ / "PRVB04.fastq.gz"])
    log = (tmp_path / "ctx" / "PRVB04" / "x.log").read_text()
    assert "truncated gaussian with mean = 200, sd = 20" in log  # kallisto reports it
    table = pd.read_csv(abundance, sep="\t").set_index("target_id")
    expected = truth("PRVB04").loc[table.index, "true_fragments"]
    assert np.corrcoef(table["est_counts"], expected)[0, 1] > 0.99
    assert json.loads(info.read_text())["n_processed"] == 5000


def test_single_end_length_rule() -> None:
    base = {"fragment_length": None, "fragment_sd": None}
    assert single_end_lengths({**base, "nominal_length": None}) == (200.0, 20.0)
    assert single_end_lengths({**base, "nominal_length": "150"}) == (200.0, 20.0)
    assert single_end_lengths({**base, "nominal_length": 300}) == (300.0, 30.0)
    assert single_end_lengths({"fragment_length": 180, "fragment_sd": 15,
                               "nominal_length": 300}) == (180.0, 15.0)


def test_quant_without_kallisto_is_a_clear_failure(tmp_path, run_step, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    index = write(tmp_path / "x.idx", "not really an index")
    with pytest.raises(ToolMissingError, match="kallisto") as caught:
        quant_run(run_step, tmp_path, index, {"run": "PRVA01", "lib_layout": "paired"},
                  [ALPHA_FASTQ / "PRVA01_1.fastq.gz", ALPHA_FASTQ / "PRVA01_2.fastq.gz"])
    assert "apt-get install -y kallisto" in (caught.value.hint or "")


def test_quant_layout_mismatch(tmp_path, run_step) -> None:
    index = write(tmp_path / "x.idx", "")
    with pytest.raises(StepError, match="paired-end but 1 read file"):
        quant_run(run_step, tmp_path, index, {"run": "R1", "lib_layout": "paired"},
                  [ALPHA_FASTQ / "PRVA01_1.fastq.gz"])


def fake_quant(folder: Path, run: str, counts: list[float], rate: float) -> tuple[Path, Path]:
    abundance = write(folder / run / f"{run}_abundance.tsv",
                      "target_id\tlength\teff_length\test_counts\ttpm\n" + "".join(
                          f"t{i}\t1000\t801\t{c}\t{c * 10}\n" for i, c in enumerate(counts)))
    info = write(folder / run / f"{run}_run_info.json", json.dumps({"p_pseudoaligned": rate}))
    return abundance, info


def test_merge_two_species_missing_quant_and_checks(tmp_path: Path, run_step) -> None:
    meta = write(tmp_path / "meta.tsv", "run\tscientific_name\n"
                 "A1\tDemo alpha\nB1\tDemo beta var. x\nA2\tDemo alpha\nA3\tDemo alpha\n")
    a1 = fake_quant(tmp_path / "quant", "A1", [1, 2], 90.5)
    a2 = fake_quant(tmp_path / "quant", "A2", [3, 4], 80)
    b1 = fake_quant(tmp_path / "quant", "B1", [5, 6], 70)
    out = tmp_path / "merge"
    inputs = {"metadata": meta, "abundance": [a1[0], a2[0], b1[0]],
              "run_info": [a1[1], a2[1], b1[1]]}
    result = run_step("rna.merge", {}, inputs=inputs, outputs={"metadata": out / "metadata.tsv"})
    assert "A3" in result["warnings"][0]
    alpha = pd.read_csv(out / "Demo_alpha" / "Demo_alpha_est_counts.tsv", sep="\t")
    assert list(alpha.columns) == ["target_id", "A1", "A2"]
    assert list(alpha["A2"]) == [3, 4]
    beta = pd.read_csv(out / "Demo_beta" / "Demo_beta_tpm.tsv", sep="\t")
    assert list(beta["B1"]) == [50, 60]
    rates = pd.read_csv(out / "metadata.tsv", sep="\t", keep_default_na=False)
    assert list(rates["mapping_rate"].astype(str)) == ["90.5", "70", "80", ""]
    with pytest.raises(StepError, match="no quant output"):
        run_step("rna.merge", {"missing_quant": "error"}, inputs=inputs,
                 outputs={"metadata": out / "metadata.tsv"})
    with pytest.raises(StepError, match="was not produced"):
        run_step("rna.merge", {}, inputs=inputs,
                 outputs={"metadata": out / "metadata.tsv",
                          "tpm": out / "Demo_gamma" / "Demo_gamma_tpm.tsv"})
    with pytest.raises(StepError, match="no run_info"):
        run_step("rna.merge", {}, inputs={**inputs, "run_info": [a1[1]]},
                 outputs={"metadata": out / "metadata.tsv"})


@needs_kallisto
@pytest.mark.slow
def test_amalgkit_spec_end_to_end_on_example(tmp_path: Path, monkeypatch) -> None:
    """specs/rna/amalgkit.yaml on the bundled example (both species in one run): merge tables
    equal kallisto's per-run outputs, low-depth PRVA13 is not selected, the mislabelled PRVA03
    is curated out."""
    from engine.model import Status
    from engine.running.orchestrate import run_workflow
    from tests.helpers.rna import ROOT

    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    result = run_workflow(str(ROOT / "specs" / "rna" / "amalgkit.yaml"), jobs=2,
                          backend="threads", state_dir=str(tmp_path / ".mi"),
                          overrides={"work_dir": str(work)})
    assert result.ok, result.failed
    assert result.statuses["quant[PRVA01]"] is Status.COMPLETED
    selected = pd.read_csv(work / "metadata" / "metadata_selected.tsv", sep="\t")
    assert "PRVA13" not in set(selected["run"]) and len(selected) == 12 + 4
    counts = pd.read_csv(work / "merge" / "Demo_alpha" / "Demo_alpha_est_counts.tsv", sep="\t")
    alpha = selected[selected["scientific_name"] == "Demo alpha"]
    assert list(counts.columns[1:]) == list(alpha["run"])
    assert result.statuses["quant[PRVB04]"] is Status.COMPLETED
    assert (work / "cstmm" / "cstmm_orthogroup_genecount.tsv").is_file()  # cross-species
    for run in ("PRVA01", "PRVA12"):
        per_run = pd.read_csv(work / "quant" / run / f"{run}_abundance.tsv", sep="\t")
        np.testing.assert_array_equal(counts[run].to_numpy(), per_run["est_counts"].to_numpy())
    curated = pd.read_csv(work / "curate" / "Demo_alpha" / "tables" / "Demo_alpha.metadata.tsv",
                          sep="\t").set_index("run")
    assert curated.loc["PRVA03", "exclusion"] != "no"
    assert set(curated.drop(index="PRVA03")["exclusion"]) == {"no"}
    report = pd.read_csv(work / "sanity" / "sanity_report.tsv", sep="\t")
    assert set(report["has_quant"]) == {"yes"}


@needs_kallisto
@pytest.mark.slow
def test_amalgkit_spec_runs_single_species_without_an_orthogroup_table(
        tmp_path: Path, monkeypatch) -> None:
    """One species, --set orthogroup_table=null: cstmm normalises it and declares no genecount
    (issue #11: it failed with 'declared output ... was not created')."""
    from engine.running.orchestrate import run_workflow
    from tests.helpers.rna import ROOT

    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    result = run_workflow(str(ROOT / "specs" / "rna" / "amalgkit.yaml"), jobs=2,
                          backend="threads", state_dir=str(tmp_path / ".mi"), until=["cstmm"],
                          overrides={"work_dir": str(work), "orthogroup_table": None,
                                     "species_list": ["Demo_alpha"]})
    assert result.ok, result.failed
    assert (work / "cstmm" / "Demo_alpha" / "Demo_alpha_cstmm_counts.tsv").is_file()
    assert not (work / "cstmm" / "cstmm_orthogroup_genecount.tsv").exists()
    metadata = pd.read_csv(work / "cstmm" / "metadata.tsv", sep="\t")
    factors = metadata.loc[metadata["exclusion"] == "no", "tmm_normalization_factor"]
    assert len(factors) == 12 and bool((factors > 0).all()) and factors.notna().all()
    counts = pd.read_csv(work / "cstmm" / "Demo_alpha" / "Demo_alpha_cstmm_counts.tsv", sep="\t")
    assert sorted(counts.columns[1:]) == sorted(metadata.loc[metadata["exclusion"] == "no", "run"])
