"""MetaInformAnt's GWAS config shape, read natively by specs/gwas/gwas.yaml (issue #13): the
real template dry-runs and runs with data placed where it points, every key it sets is used
or listed as accepted, values reach the steps, value errors point at the user's file,
several traits fan out, several VCFs are read together."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.testing import call_step
from tests.helpers.gwas_configs import EXAMPLE, SPEC, TEMPLATE, mi_run


def _template_tree(root: Path) -> None:
    """The files gwas_template.yaml points at, made from the bundled example: the VCF in
    variants.dest_dir (where MetaInformAnt's download would put it), data/phenotypes.tsv with
    its trait 'trait1', data/covariates.tsv (age, sex) and data/samples.txt (400 of 600)."""
    (root / "data").mkdir()
    (root / "output" / "gwas" / "variants").mkdir(parents=True)
    shutil.copy(EXAMPLE / "example.vcf.gz", root / "output" / "gwas" / "variants")
    pheno = pd.read_csv(EXAMPLE / "phenotypes.tsv", sep="\t")
    pheno.rename(columns={"height": "trait1"}).to_csv(root / "data" / "phenotypes.tsv",
                                                      sep="\t", index=False)
    shutil.copy(EXAMPLE / "covariates.tsv", root / "data" / "covariates.tsv")
    (root / "data" / "samples.txt").write_text("\n".join(pheno["sample_id"][:400]) + "\n")


def _record(root: Path) -> dict[str, dict[str, Any]]:
    """The last run record's instances by id."""
    runs = sorted((root / ".mi" / "runs").glob("*.json"))
    return {i["id"]: i for i in json.loads(runs[-1].read_text())["instances"]}


def test_template_dry_runs_cleanly_listing_what_it_does_not_use(tmp_path: Path) -> None:
    _template_tree(tmp_path)
    proc = mi_run(tmp_path, str(SPEC), "-c", str(TEMPLATE), "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr and "error" not in proc.stderr, proc.stderr
    for key in ("log_dir", "genome", "variants.download", "output.format"):
        assert f"accepted, not used: {key} (" in proc.stdout
    assert "associate[trait1]" in proc.stdout
    assert any(line.split()[:2] == ["call_variants", "disabled"]  # bam_files: []
               for line in proc.stdout.splitlines())
    strict = mi_run(tmp_path, str(SPEC), "-c", str(TEMPLATE), "--dry-run", "--strict")
    assert strict.returncode == 0, strict.stderr


@pytest.mark.slow
def test_template_run_puts_the_configs_values_into_the_steps(tmp_path: Path) -> None:
    _template_tree(tmp_path)
    proc = mi_run(tmp_path, str(SPEC), "-c", str(TEMPLATE), "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = _record(tmp_path)
    assert steps["qc"]["params"].items() >= {"min_maf": 0.01, "max_missing": 0.05,
                                          "min_call_rate": 0.95, "hwe_pval": 1e-6,
                                          "exclude_indels": True}.items()
    assert steps["load"]["params"]["min_qual"] == 30.0
    assert steps["load"]["inputs"][0]["path"].endswith("output/gwas/variants")
    assert steps["structure"]["params"]["n_components"] == 10
    assoc = steps["associate[trait1]"]
    assert assoc["params"].items() >= {"trait": "trait1", "model": "linear", "min_samples": 50,
                                    "covariates": ["age", "sex", "PC1", "PC2", "PC3"]}.items()
    assert assoc["metadata"]["n_covariates"] == 5 and assoc["metadata"]["n_pcs"] == 3
    assert assoc["metadata"]["n_samples"] <= 400  # samples.sample_list
    assert steps["correct[trait1]"]["params"].items() >= {"method": "bonferroni",
                                                          "alpha": 0.05}.items()
    # MetaInformAnt's places: work under work_dir, results and plots where output says
    results = tmp_path / "output" / "gwas" / "results"
    summary = json.loads((results / "results_summary.json").read_text())
    assert summary["hits_by"] == "bonferroni" and summary["n_hits"] >= 3
    table = pd.read_csv(results / "summary_statistics.tsv", sep="\t")
    assert {"CHR", "POS", "SNP", "REF", "ALT", "BETA", "SE", "P", "Q_FDR", "N", "MAF"} <= set(
        table.columns)
    assert table["N"].max() <= 400
    qc = pd.read_csv(tmp_path / "output" / "gwas" / "work" / "qc" / "qc_summary.tsv", sep="\t")
    assert set(qc["filter"]) >= {"min_maf", "hwe_pval", "exclude_indels"}
    assert ((table["REF"].str.len() == 1) & (table["ALT"].str.len() == 1)).all()  # no indels
    for name in ("manhattan.png", "qq.svg", "pca.png"):
        assert (tmp_path / "output" / "gwas" / "plots" / name).stat().st_size > 1000
    assert (tmp_path / "output" / "gwas" / "work" / "store" / "dosages.npy").exists()


def test_a_bad_value_is_located_in_the_users_file_and_1e_6_is_a_number(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("qc:\n  hwe_pval: 1e-6\n  max_missing: lots\n"
                                     "structure:\n  kinship_method: astle\n")
    proc = mi_run(tmp_path, str(SPEC), "-c", "c.yaml", "--dry-run")
    assert proc.returncode == 2
    assert "c.yaml:3:3: error: step 'qc' (gwas.qc): param 'max_missing' must be a number" \
        in proc.stderr
    assert "    max_missing: lots" in proc.stderr  # the user's line, with a caret under it
    assert "c.yaml:5:3: error: step 'structure' (gwas.structure): param 'kinship_method'" \
        in proc.stderr
    assert "hwe_pval" not in proc.stderr and "gwas.yaml" not in proc.stderr
    (tmp_path / "c.yaml").write_text("qc:\n  hwe_pval: 1e-6\n  min_mafx: 0.1\n")
    proc = mi_run(tmp_path, str(SPEC), "-c", "c.yaml", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "c.yaml:3:3: warning: unknown config key 'qc.min_mafx' (did you mean 'qc.min_maf'?)" \
        in proc.stderr


@pytest.mark.slow
def test_three_traits_fan_out_association_correction_and_plots(tmp_path: Path) -> None:
    pheno = pd.read_csv(EXAMPLE / "phenotypes.tsv", sep="\t")
    rng = np.random.default_rng(3)
    pheno["noise"] = np.round(rng.normal(0, 1, len(pheno)), 5)  # no signal anywhere
    pheno.to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    (tmp_path / "three.yaml").write_text(f"""\
work_dir: out/work
variants:
  vcf_files: [{EXAMPLE / 'example.bed'}]
samples:
  phenotype_file: pheno.tsv
  covariates_file: {EXAMPLE / 'covariates.tsv'}
structure: {{n_components: 5}}
association:
  model: linear
  traits: [height, disease, noise]
correction: {{method: fdr, alpha: 0.05}}
output: {{results_dir: out/results, plots_dir: out/plots}}
""")
    proc = mi_run(tmp_path, str(SPEC), "-c", "three.yaml", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = _record(tmp_path)
    truth = set(pd.read_csv(EXAMPLE / "truth.tsv", sep="\t")["SNP"])
    for trait in ("height", "disease", "noise"):
        assert steps[f"associate[{trait}]"]["params"]["trait"] == trait
        assert steps[f"correct[{trait}]"]["params"]["method"] == "fdr"
        assert (tmp_path / "out" / "plots" / trait / "manhattan.png").stat().st_size > 1000
    hits = {t: set(pd.read_csv(tmp_path / "out" / "results" / t / "significant_hits.tsv",
                               sep="\t")["SNP"]) for t in ("height", "noise")}
    assert truth <= hits["height"] and not hits["noise"]


def _split_by_chromosome(vcf: Path, root: Path) -> list[Path]:
    """One plain VCF per chromosome (header repeated), in chromosome order."""
    header: list[str] = []
    bodies: dict[str, list[str]] = {}
    with gzip.open(vcf, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                header.append(line)
            else:
                bodies.setdefault(line.split("\t", 1)[0], []).append(line)
    paths = []
    for chrom, lines in bodies.items():
        path = root / f"chr{chrom}.vcf"
        path.write_text("".join(header + lines))
        paths.append(path)
    return paths


def test_several_vcfs_are_read_together_as_one(tmp_path: Path) -> None:
    parts = _split_by_chromosome(EXAMPLE / "example.vcf.gz", tmp_path)
    assert len(parts) == 5

    def load(genotypes: list[Path], out: Path) -> dict[str, Path]:
        outputs = {k: out / f"{k}.{'npy' if k == 'dosages' else 'tsv'}"
                   for k in ("dosages", "variants", "phenotypes", "covariates", "dropped")}
        call_step("gwas.load", inputs={"genotypes": [str(g) for g in genotypes],
                                       "phenotypes": str(EXAMPLE / "phenotypes.tsv")},
                  outputs={k: str(v) for k, v in outputs.items()}, work_dir=tmp_path)
        return outputs

    one = load([EXAMPLE / "example.vcf.gz"], tmp_path / "one")
    many = load(list(reversed(parts)), tmp_path / "many")  # the files' order is the rows' order
    ref_rows = pd.read_csv(one["variants"], sep="\t", dtype=str)
    rows = pd.read_csv(many["variants"], sep="\t", dtype=str)
    order = rows.reset_index().set_index("SNP").loc[ref_rows["SNP"], "index"].to_numpy()
    assert len(rows) == len(ref_rows) == 5692
    assert np.array_equal(np.load(many["dosages"])[order], np.load(one["dosages"]))
    assert rows["CHR"].iloc[0] == "5"
    folder = load([tmp_path], tmp_path / "folder")  # a directory: its VCFs sorted by name
    assert np.array_equal(np.load(folder["dosages"]), np.load(one["dosages"]))


def test_vcfs_with_other_samples_are_refused(tmp_path: Path) -> None:
    parts = _split_by_chromosome(EXAMPLE / "example.vcf.gz", tmp_path)
    text = parts[1].read_text().replace("\tS0001\tS0002", "\tS0002\tS0001", 1)
    parts[1].write_text(text)
    with pytest.raises(Exception, match="other samples"):
        call_step("gwas.load", inputs={"genotypes": [str(p) for p in parts],
                                       "phenotypes": str(EXAMPLE / "phenotypes.tsv")},
                  outputs={"dosages": str(tmp_path / "d.npy"), "variants": str(tmp_path / "v"),
                           "phenotypes": str(tmp_path / "p"), "covariates": str(tmp_path / "c"),
                           "dropped": str(tmp_path / "x")}, work_dir=tmp_path)


def test_the_optional_metainformant_sections_are_used_or_listed(tmp_path: Path) -> None:
    """The keys of MetaInformAnt's richer GWAS configs (gwas_pbarbatus_synthetic.yaml's shape):
    ld_pruning, include_pcs/n_pcs and default_trait are used; the rest listed with why."""
    (tmp_path / "rich.yaml").write_text(f"""\
work_dir: out/work
log_dir: out/logs
genome: {{accession: GCF_000187915.1, dest_dir: out/genome, fasta: out/genome/g.fna}}
variants:
  vcf_files: [{EXAMPLE / 'example.vcf.gz'}]
  download: {{source: custom, region: "1:1-1000"}}
samples:
  phenotype_file: {EXAMPLE / 'phenotypes.tsv'}
  covariates_file: {EXAMPLE / 'covariates.tsv'}
  subset: {{caste: worker}}
  metadata_file: meta.tsv
  phenotypes: {{default_trait: disease}}
ld_pruning: {{enabled: true, window_size: 40, step_size: 4, r2_threshold: 0.3}}
association: {{model: logistic, include_pcs: true, n_pcs: 4}}
correction: {{method: both, alpha: 0.01, apply_genomic_control: true}}
haplodiploidy: {{enabled: true, het_threshold: 0.05, exclude_haploid: true}}
annotation: {{enabled: true, gff3_file: x.gff3, window_kb: 50}}
finemapping: {{enabled: true, credible_level: 0.95}}
significance_threshold: 1.0e-6
output: {{results_dir: out/results, plots_dir: out/plots, format: json,
          plots: [manhattan, qq, regional]}}
""")
    proc = mi_run(tmp_path, str(SPEC), "-c", "rich.yaml", "--dry-run", "--strict")
    assert proc.returncode == 0, proc.stderr
    for key in ("log_dir", "genome", "variants.download", "samples.subset",
                "samples.metadata_file", "haplodiploidy", "annotation", "finemapping",
                "output.format", "output.plots", "correction.apply_genomic_control"):
        assert f"accepted, not used: {key} (" in proc.stdout, key
    assert "associate[disease]" in proc.stdout


def test_short_forms_win_over_the_metainformant_keys(tmp_path: Path) -> None:
    """genotypes/phenotypes/covariates/trait/model/use_pcs (what execute_gwas_workflow and
    earlier mi-run commands set) override the sections they stand for."""
    (tmp_path / "c.yaml").write_text("""\
variants: {vcf_files: [elsewhere.vcf.gz]}
samples: {phenotype_file: elsewhere.tsv}
association: {trait: height, model: linear}
structure: {compute_pca: true}
""")
    vcf, pheno = EXAMPLE / "example.vcf.gz", EXAMPLE / "phenotypes.tsv"
    proc = mi_run(tmp_path, str(SPEC), "-c", "c.yaml", "--dry-run", "--json",
                  "--set", f"genotypes={vcf}", "--set", f"phenotypes={pheno}",
                  "--set", "trait=disease", "--set", "model=logistic", "--set", "use_pcs=false")
    assert proc.returncode == 0, proc.stderr
    steps = {s["id"]: s for s in json.loads(proc.stdout)["steps"]}
    assert steps["load"]["inputs"]["genotypes"] == [str(vcf)]
    assert steps["load"]["inputs"]["phenotypes"] == str(pheno)
    assert steps["load"]["inputs"]["covariates"] == []  # the example's are not used
    assert "associate[disease]" in steps and steps["structure"]["action"] == "disabled"
