"""specs/simulation/coalescent.yaml through mi-run: the bundled example end to end, metrics in
the run record, byte-identical reruns, MetaInformAnt's models and names, the Python entry."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.simulation import EXAMPLE, SPEC, run_spec

COALESCENT_STEPS = ("demography", "ancestry", "mutations", "export", "stats", "phenotype",
                    "report", "summary")


def test_spec_validates_and_lists_its_steps(tmp_path: Path) -> None:
    proc = run_spec(SPEC, tmp_path, extra=("--dry-run",))
    for name in COALESCENT_STEPS:
        assert f"  {name} " in proc.stdout
    assert "reads       disabled" in proc.stdout


def test_an_unknown_model_is_a_located_error_with_a_suggestion(tmp_path: Path) -> None:
    proc = run_spec(SPEC, tmp_path, "model=coalesent", extra=("--dry-run",), check=False)
    assert proc.returncode == 2
    # located where the user set it (the --set), not in the spec
    assert proc.stderr.startswith("--set model=coalesent: error:")
    assert "not one of 'coalescent'" in proc.stderr
    assert "did you mean 'coalescent'?" in proc.stderr


def _run_example(cwd: Path) -> Path:
    cwd.mkdir(parents=True, exist_ok=True)
    run_spec(SPEC, cwd)
    return cwd / "output" / "simulation"


def test_example_runs_end_to_end_with_metrics_in_the_run_record(tmp_path: Path) -> None:
    out = _run_example(tmp_path)
    for name in ("sim.vcf.gz", "sim.vcf.gz.tbi", "samples.tsv", "haplotypes.fa", "reference.fa",
                 "stats/stats.tsv", "stats/sfs.tsv", "stats/windows.tsv", "report/sfs.png",
                 "report/windowed_pi.png", "gwas/phenotypes.tsv", "gwas/truth.tsv",
                 "workflow_summary.json"):
        assert (out / name).stat().st_size > 0, name
    samples = pd.read_csv(out / "samples.tsv", sep="\t")
    assert samples["population"].value_counts().to_dict() == {"A": 100, "B": 100}
    fasta = (out / "haplotypes.fa").read_text()
    assert fasta.count(">") == 400 and ">A_0001_1\n" in fasta and ">B_0100_2\n" in fasta
    reference = "".join((out / "reference.fa").read_text().splitlines()[1:])
    assert len(reference) == 1_000_000
    truth = pd.read_csv(EXAMPLE / "truth.tsv", sep="\t").set_index(["quantity", "population"])
    stats = json.loads((out / "stats" / "stats.json").read_text())
    expected_pi = float(truth.loc[("expected_pi", "A"), "value"])
    assert 0.5 * expected_pi < stats["A"]["pi"] < 2 * expected_pi  # one replicate: loose
    expected_fst = float(truth.loc[("expected_fst_hudson", "A/B"), "value"])
    assert 0.3 * expected_fst < stats["A/B"]["fst_hudson"] < 3 * expected_fst
    record = json.loads(Path(sorted(glob.glob(str(tmp_path / ".mi" / "runs" / "*.json")))[-1])
                        .read_text())
    by_step = {i["step"]: i for i in record["instances"]}
    for name in COALESCENT_STEPS:
        assert by_step[name]["status"] == "completed"
        assert isinstance(by_step[name]["output"], dict) and by_step[name]["output"], name
    assert by_step["stats"]["output"]["pi"] == stats["all"]["pi"]
    assert by_step["phenotype"]["output"]["causal_sites"] == 3
    summary = json.loads((out / "workflow_summary.json").read_text())
    assert summary["model"] == "coalescent" and summary["seed"] == 42


@pytest.mark.slow
def test_reruns_with_the_same_seed_are_byte_identical(tmp_path: Path) -> None:
    first = _run_example(tmp_path / "one")
    second = _run_example(tmp_path / "two")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) >= 15
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other = tmp_path / "three"
    other.mkdir()
    run_spec(SPEC, other, "seed=43")
    assert (other / "output/simulation/sim.vcf.gz").read_bytes() != (first / "sim.vcf.gz").read_bytes()


@pytest.mark.parametrize("model,files", [
    ("sequences", ["simulated_sequences.fasta", "sequence_mutations.tsv"]),
    ("expression", ["simulated_expression.csv", "merge/metadata.tsv",
                    "merge/Simulated_species/Simulated_species_est_counts.tsv"]),
    ("agents", ["agent_simulation.json"]),
])
def test_metainformant_models_with_its_flag_names(tmp_path: Path, model: str,
                                                  files: list[str]) -> None:
    settings = {"sequences": ["n=7", "length=120", "gc_content=0.6", "mutations=3"],
                "expression": ["num_genes=50", "num_samples=6", "mean_expression=20",
                               "dispersion=0.2"],
                "agents": ["width=10", "height=8", "num_agents=5", "agent_steps=30"]}[model]
    run_spec(SPEC, tmp_path, f"model={model}", "seed=42", "output=sim_out", *settings)
    out = tmp_path / "sim_out"
    for name in files:
        assert (out / name).stat().st_size > 0
    assert not (out / "sim.trees").exists()  # the coalescent steps did not run
    summary = json.loads((out / "workflow_summary.json").read_text())
    assert summary["model"] == model
    if model == "sequences":
        assert (out / "simulated_sequences.fasta").read_text().count(">") == 7
        assert len(pd.read_csv(out / "sequence_mutations.tsv", sep="\t")) == 21
    if model == "agents":
        frames = json.loads((out / "agent_simulation.json").read_text())["frames"]
        assert [f["step"] for f in frames] == [0, 10, 20, 30]


def test_metainformant_config_names_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "mi.yaml").write_text(
        "model: sequences\nn: 3\nseed: 42\noutput: mi_out\nlength: 50\ngc_content: 0.4\n"
        "mutations: 1\ntype: sequence_evolution\nbenchmark: {replicates: 3}\n")
    proc = run_spec(SPEC, tmp_path, extra=("--config", "mi.yaml", "--strict"))
    assert (tmp_path / "mi_out" / "simulated_sequences.fasta").read_text().count(">") == 3
    proc = run_spec(SPEC, tmp_path, extra=("--config", "mi.yaml", "--dry-run"))
    assert "accepted, not used: type" in proc.stdout
    assert "accepted, not used: benchmark" in proc.stdout


def test_execute_simulation_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stepslib.simulation import execute_simulation_workflow

    monkeypatch.chdir(tmp_path)
    result = execute_simulation_workflow({"model": "agents", "num_agents": 3, "agent_steps": 5},
                                         work_dir=tmp_path / "entry", jobs=1)
    assert result.ok, result.failed
    assert result["status"] == "completed" and result["errors"] == []  # the seed's shape
    assert (tmp_path / "entry" / "agent_simulation.json").exists()
