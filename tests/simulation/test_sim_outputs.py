"""What the simulation hands to other domains: a phenotype that specs/gwas/gwas.yaml finds,
reads a variant caller can use, expression counts rna.cstmm reads; and failures that say
what to do."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import StepError, ToolMissingError
from engine.testing import call_step
from tests.helpers.simulation import GWAS_SPEC, SPEC, needs_dwgsim, run_spec, simulate


@pytest.mark.slow
def test_gwas_spec_finds_the_planted_causal_sites(tmp_path: Path) -> None:
    run_spec(SPEC, tmp_path)
    sim = tmp_path / "output" / "simulation"
    run_spec(GWAS_SPEC, tmp_path, "work_dir=gwas_out", f"genotypes={sim / 'sim.vcf.gz'}",
             f"phenotypes={sim / 'gwas' / 'phenotypes.tsv'}")  # nothing else, as the issue says
    truth = pd.read_csv(sim / "gwas" / "truth.tsv", sep="\t", dtype={"SNP": str})
    hits = pd.read_csv(tmp_path / "gwas_out" / "results" / "significant_hits.tsv", sep="\t",
                       dtype={"SNP": str})
    assert len(truth) == 3
    assert set(truth["SNP"]) <= set(hits["SNP"])
    merged = truth.merge(hits, on="SNP", suffixes=("", "_gwas"))
    assert (merged["POS"] == merged["POS_gwas"]).all()
    # each planted site lies in its own peak, and the strongest hit is within 50 kb of a planted one
    top = hits.sort_values("P").iloc[0]
    assert (truth["POS"] - top["POS"]).abs().min() < 50_000


def _small(tmp_path: Path) -> dict:
    return simulate(tmp_path, demography={"populations": [{"name": "P", "initial_size": 1000}]},
                    ancestry={"n": 4, "sequence_length": 20_000, "seed": 11},
                    mutations={"rate": 5e-7, "seed": 11})


@needs_dwgsim
def test_reads_come_from_the_sample_haplotypes(tmp_path: Path) -> None:
    sim = _small(tmp_path)
    paths = sim["paths"]
    out = tmp_path / "reads"
    result = call_step("simulation.reads", {"samples": 2, "coverage": 4, "read_length": 80,
                                            "error_rate": 0.0},
                       inputs={k: paths[k] for k in ("haplotypes", "samples", "reference", "vcf")},
                       outputs={"dir": out}, work_dir=tmp_path)
    assert result["status"] == "completed"
    expected_pairs = 4 * 20_000 / (2 * 80)  # coverage x length / bases per pair
    assert 0.8 * expected_pairs < result["output"]["read_pairs"] / 2 < 1.2 * expected_pairs
    table = pd.read_csv(out / "samples.tsv", sep="\t")
    assert list(table["sample"]) == ["P_0001", "P_0002"]
    haplotypes = (paths["haplotypes"].read_text().split(">"))
    own = [h.split("\n", 1)[1].replace("\n", "") for h in haplotypes if h.startswith("P_0001_")]
    complement = str.maketrans("ACGT", "TGCA")
    with gzip.open(out / "P_0001_R1.fastq.gz", "rt") as handle:
        reads = [line.strip() for k, line in enumerate(handle) if k % 4 == 1][:200]
    found = sum(any(r in h or r.translate(complement)[::-1] in h for h in own) for r in reads)
    assert found == len(reads)  # error-free reads are substrings of the sample's own haplotypes
    assert (out / "truth.vcf.gz").read_bytes() == paths["vcf"].read_bytes()
    assert (out / "reference.fa").read_bytes() == paths["reference"].read_bytes()


def test_a_missing_tool_names_the_debian_package(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sim = simulate(tmp_path, demography={"populations": [{"name": "P", "initial_size": 1000}]},
                   ancestry={"n": 2, "sequence_length": 1000}, export=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolMissingError, match="bgzip") as caught:
        call_step("simulation.export", {}, inputs={"trees": sim["paths"]["mutated"]},
                  outputs={k: tmp_path / f"x.{k}{s}" for k, s in [
                      ("vcf", ".vcf.gz"), ("samples", ".tsv"), ("haplotypes", ".fa"),
                      ("reference", ".fa")]}, work_dir=tmp_path)
    assert "apt-get install -y tabix" in caught.value.hint


def test_bad_demography_and_phenotype_requests_fail_clearly(tmp_path: Path) -> None:
    bad = {"populations": [{"name": "A", "initial_size": 100}],
           "splits": [{"time": 10, "derived": ["A"], "ancestral": "ANC"}]}
    with pytest.raises(StepError, match="unknown population"):
        call_step("simulation.demography", bad, inputs={"demes_file": []},
                  outputs={"demography": tmp_path / "d.yaml", "model": tmp_path / "d.json"},
                  work_dir=tmp_path)
    with pytest.raises(StepError, match="unknown stdpopsim model"):
        pytest.importorskip("stdpopsim")
        call_step("simulation.demography", {"catalogue": "HomSap/NoSuchModel"},
                  inputs={"demes_file": []},
                  outputs={"demography": tmp_path / "d.yaml", "model": tmp_path / "d.json"},
                  work_dir=tmp_path)
    sim = _small(tmp_path / "small")
    with pytest.raises(StepError, match="causal sites were asked for"):
        call_step("simulation.phenotype", {"n_causal": 500},
                  inputs={"trees": sim["paths"]["mutated"]},
                  outputs={"phenotypes": tmp_path / "p.tsv", "truth": tmp_path / "t.tsv"},
                  work_dir=tmp_path)


def test_phenotype_realises_the_heritability(tmp_path: Path) -> None:
    sim = simulate(tmp_path, ancestry={"n": 300, "sequence_length": 500_000, "seed": 2},
                   export=False)
    result = call_step("simulation.phenotype", {"heritability": 0.4, "n_causal": 4},
                       inputs={"trees": sim["paths"]["mutated"]},
                       outputs={"phenotypes": tmp_path / "p.tsv", "truth": tmp_path / "t.tsv"},
                       work_dir=tmp_path)
    pheno = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    truth = pd.read_csv(tmp_path / "t.tsv", sep="\t")
    assert list(pheno.columns) == ["sample_id", "height"] and len(pheno) == 300
    assert list(truth.columns[:6]) == ["CHR", "POS", "SNP", "REF", "ALT", "BETA"]
    assert len(truth) == 4 and (truth["FREQ"].clip(upper=0.5) >= 0.1).all()
    # planted h² is realised in the sample to sampling noise (genetic vs noise covariance)
    assert abs(result["output"]["realised_heritability"] - 0.4) < 0.1


def test_expression_counts_have_the_planted_moments_and_feed_rna_cstmm(tmp_path: Path) -> None:
    out = {"counts_csv": tmp_path / "simulated_expression.csv",
           "est_counts": tmp_path / "merge/Sim_sp/Sim_sp_est_counts.tsv",
           "eff_length": tmp_path / "merge/Sim_sp/Sim_sp_eff_length.tsv",
           "metadata": tmp_path / "merge/metadata.tsv", "truth": tmp_path / "truth.tsv"}
    out["est_counts"].parent.mkdir(parents=True)
    call_step("simulation.expression", {"num_genes": 4000, "num_samples": 40, "dispersion": 0.2,
                                        "mean_expression": 50, "de_fraction": 0.0,
                                        "species": "Sim sp"},
              inputs={}, outputs=out, work_dir=tmp_path)
    counts = pd.read_csv(out["counts_csv"], index_col=0)
    assert counts.shape == (4000, 40) and list(counts.columns[:2]) == ["sample_0", "sample_1"]
    truth = pd.read_csv(out["truth"], sep="\t")
    mu = truth["mean_a"].to_numpy()[:, None]
    # NB(μ, φ): E[(x - μ)² - x] = φμ², so φ is recovered from the planted means (moments)
    phi = ((counts.to_numpy() - mu) ** 2 - counts.to_numpy()).sum() / (mu**2 * 40).sum()
    assert abs(phi - 0.2) < 0.01
    assert abs(counts.to_numpy().mean() / 50 - 1) < 0.03
    cstmm = tmp_path / "cstmm"
    result = call_step("rna.cstmm", {}, inputs={"counts": [out["est_counts"]],
                                                "eff_length": [out["eff_length"]],
                                                "metadata": out["metadata"]},
                       outputs={"counts": [cstmm / "Sim_sp" / "Sim_sp_cstmm_counts.tsv"],
                                "eff_length": [cstmm / "Sim_sp" / "Sim_sp_eff_length.tsv"],
                                "metadata": cstmm / "metadata.tsv"}, work_dir=tmp_path)
    assert result is None or result.get("status", "completed") == "completed"
    normalised = pd.read_csv(cstmm / "Sim_sp" / "Sim_sp_cstmm_counts.tsv", sep="\t", index_col=0)
    assert normalised.shape == (4000, 40)


def test_sequences_gc_content_and_mutations(tmp_path: Path) -> None:
    result = call_step("simulation.sequences", {"n": 50, "length": 2000, "gc_content": 0.7,
                                                "mutations": 5},
                       inputs={}, outputs={"fasta": tmp_path / "s.fasta", "truth": tmp_path / "m.tsv"},
                       work_dir=tmp_path)
    lines = (tmp_path / "s.fasta").read_text().splitlines()
    text = "".join(line for line in lines if not line.startswith(">"))
    gc = (text.count("G") + text.count("C")) / len(text)
    assert abs(gc - 0.7) < 0.01 and result["output"]["gc_content"] == pytest.approx(gc)
    mutations = pd.read_csv(tmp_path / "m.tsv", sep="\t")
    assert len(mutations) == 250 and (mutations["original"] != mutations["mutated"]).all()


def test_agents_stay_on_the_grid(tmp_path: Path) -> None:
    call_step("simulation.agents", {"width": 7, "height": 5, "num_agents": 30, "steps": 50},
              inputs={}, outputs={"json": tmp_path / "a.json"}, work_dir=tmp_path)
    frames = json.loads((tmp_path / "a.json").read_text())["frames"]
    positions = np.array([f["positions"] for f in frames])
    assert positions.shape == (6, 30, 2)
    assert positions[..., 0].max() < 7 and positions[..., 1].max() < 5 and positions.min() >= 0
    steps = np.abs(np.diff(positions, axis=0)).sum(axis=2)
    assert steps.max() <= 2 * 10  # at most one cell per step (10 steps between frames)
