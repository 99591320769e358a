"""MetaInformAnt's names: the multiomics template verbatim, ``mi-run multiomics run`` with the
seed's flags, ``execute_multiomics_workflow``; and the other workflows' outputs read as they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.multiomics import EXAMPLE, ROOT, mi_run, read_tsv, run_spec

TEMPLATE = """\
inputs:
  genomics: {{file: null, required: false}}
  transcriptomics: {{file: {ex}/transcriptomics.tsv, required: true}}
  proteomics: {{file: {ex}/proteomics.csv, required: true}}
  metabolomics: {{file: {ex}/metabolomics.tsv, required: false}}
integration:
  joint_pca: true
  joint_nmf: false
  canonical_correlation: false
  n_components: 5
samples:
  id_column: sample_id
  require_all_omics: true
output:
  directory: {out}
  save_integrated_data: false
  save_plots: true
performance:
  threads: 2
"""


@pytest.mark.slow
def test_the_template_keys_verbatim(tmp_path: Path) -> None:
    config = tmp_path / "multiomics_template.yaml"
    config.write_text(TEMPLATE.format(ex=EXAMPLE, out=tmp_path / "out"))
    proc = mi_run(tmp_path, "multiomics", "run", "--config", str(config),
                  "--set", "integration.mofa=false", "--set", "counts_layers=[transcriptomics]")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "out"
    embeddings = read_tsv(out / "joint_pca" / "joint_pca_embeddings.tsv")
    assert embeddings.shape == (90, 5)  # inner join of three layers, n_components 5
    assert not (out / "cca").exists() and not (out / "nmf").exists()
    assert (out / "plots" / "factor_scatter.png").exists()


def test_a_required_layer_without_file_fails_saying_what_to_set(tmp_path: Path) -> None:
    proc = run_spec(tmp_path, f"output.directory={tmp_path / 'o'}",
                    f"inputs.proteomics.file={EXAMPLE / 'proteomics.csv'}",
                    f"inputs.metabolomics.file={EXAMPLE / 'metabolomics.tsv'}",
                    "inputs.transcriptomics.required=true", "integration.mofa=false")
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "layer 'transcriptomics' is required but has no file" in text
    assert "--transcriptomics FILE" in text


@pytest.mark.slow
def test_the_seed_flags(tmp_path: Path) -> None:
    out = tmp_path / "flags"
    proc = mi_run(tmp_path, "multiomics", "run", "--transcriptomics",
                  str(EXAMPLE / "transcriptomics.tsv"), "--proteomics",
                  str(EXAMPLE / "proteomics.csv"), "--output", str(out), "--joint-pca",
                  "--joint-nmf", "--canonical-correlation", "--n-components", "3",
                  "--set", "integration.mofa=false", "--set", "counts_layers=[transcriptomics]")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert read_tsv(out / "joint_pca" / "joint_pca_embeddings.tsv").shape == (120, 3)  # outer join
    assert len(read_tsv(out / "cca" / "canonical_correlations.tsv", index=False)) == 3
    assert read_tsv(out / "nmf" / "joint_nmf_sample_factors.tsv").shape[1] == 3


@pytest.mark.slow
def test_execute_multiomics_workflow(tmp_path: Path) -> None:
    from stepslib.multiomics import execute_multiomics_workflow

    result = execute_multiomics_workflow(
        {"integration": {"mofa": False}, "counts_layers": ["transcriptomics"]},
        work_dir=tmp_path / "py", transcriptomics=EXAMPLE / "transcriptomics.tsv",
        metabolomics=EXAMPLE / "metabolomics.tsv", canonical_correlation=False,
        n_components=4)
    assert result["status"] == "completed", result
    embeddings = read_tsv(tmp_path / "py" / "joint_pca" / "joint_pca_embeddings.tsv")
    assert embeddings.shape == (120, 4)  # the layers miss disjoint samples: outer join keeps all


@pytest.mark.slow
def test_reads_the_gwas_store_and_the_rna_table_directly(tmp_path: Path) -> None:
    """gwas.yaml's dosage store and amalgkit.yaml's cstmm table feed the load step as they are."""
    gwas, rna = tmp_path / "gwas", tmp_path / "rna"
    for spec, work in (("gwas/gwas.yaml", gwas), ("rna/amalgkit.yaml", rna)):
        proc = run_spec(tmp_path, f"work_dir={work}", spec=ROOT / "specs" / spec)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    store = gwas / "store"
    out = tmp_path / "from_gwas"
    proc = run_spec(tmp_path, f"output.directory={out}", "integration.mofa=false",
                    "integration.canonical_correlation=false",
                    f"inputs.genomics.file={store / 'dosages.npy'}",
                    f"inputs.metabolomics.file={store / 'phenotypes.tsv'}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    layers = read_tsv(out / "store" / "layers.tsv")
    samples = pd.read_csv(store / "phenotypes.tsv", sep="\t", dtype=str)["sample_id"]
    variants = pd.read_csv(store / "variants.tsv", sep="\t", dtype=str)["SNP"]
    dosages = np.load(store / "dosages.npy").astype(float)
    dosages[dosages < 0] = np.nan
    genomics = layers.loc[list(samples), [f"genomics:{v}" for v in variants]].to_numpy()
    np.testing.assert_array_equal(genomics, dosages.T)

    cstmm = rna / "cstmm" / "Demo_alpha" / "Demo_alpha_cstmm_counts.tsv"
    truth = pd.read_csv(ROOT / "examples" / "rna" / "truth.tsv", sep="\t")
    tpm = truth[truth["scientific_name"] == "Demo alpha"].pivot(
        index="run", columns="target_id", values="true_tpm")
    tpm.rename_axis("sample_id").reset_index().to_csv(tmp_path / "tpm.tsv", sep="\t", index=False)
    out = tmp_path / "from_rna"
    proc = run_spec(tmp_path, f"output.directory={out}", "integration.mofa=false",
                    "integration.canonical_correlation=false",
                    f"inputs.transcriptomics.file={cstmm}",
                    f"inputs.proteomics.file={tmp_path / 'tpm.tsv'}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    layers = read_tsv(out / "store" / "layers.tsv")
    table = pd.read_csv(cstmm, sep="\t", index_col=0).drop(columns=["length"], errors="ignore")
    ours = layers[[f"transcriptomics:{g}" for g in table.index]].loc[list(table.columns)]
    np.testing.assert_allclose(ours.to_numpy(), table.T.to_numpy(), rtol=1e-15)


def test_a_missing_library_names_the_package_to_install() -> None:
    from engine import StepError
    from stepslib.multiomics.common import need

    with pytest.raises(StepError) as caught:
        need("mofapy2_not_installed_here", "mofapy2>=0.7")
    assert "mofapy2>=0.7 is not installed" in str(caught.value)
    assert "pip install 'mofapy2>=0.7'" in str(caught.value.hint)
