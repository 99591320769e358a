"""Plain helpers for the simulation tests: run a spec through the CLI, chain the coalescent
steps directly, and read a VCF with the independent tools (scikit-allel, vcftools)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.testing import call_step

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "simulation" / "coalescent.yaml"
GWAS_SPEC = ROOT / "specs" / "gwas" / "gwas.yaml"
EXAMPLE = ROOT / "examples" / "simulation"

needs_vcftools = pytest.mark.skipif(shutil.which("vcftools") is None,
                                    reason="vcftools is not installed (make tools)")
needs_dwgsim = pytest.mark.skipif(shutil.which("dwgsim") is None,
                                  reason="dwgsim is not installed (make tools)")


def run_spec(spec: Path, cwd: Path, *settings: str, check: bool = True,
             extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``mi-run SPEC -j 2 --set ...`` in ``cwd`` (a fresh state dir there)."""
    argv = [sys.executable, "-m", "engine.cli", "run", str(spec), "-j", "2", *extra,
            *(x for s in settings for x in ("--set", s))]
    proc = subprocess.run(argv, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def simulate(root: Path, *, demography: Mapping[str, Any] | None = None,
             ancestry: Mapping[str, Any] | None = None,
             mutations: Mapping[str, Any] | None = None, export: bool = True,
             demes_file: Path | None = None) -> dict[str, Any]:
    """demography -> ancestry -> mutations (-> export) -> stats called as the engine calls them;
    returns the paths and every step's result."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {"demography": root / "demography.yaml", "model": root / "demography.json",
             "trees": root / "sim.trees", "mutated": root / "sim_mut.trees",
             "vcf": root / "sim.vcf.gz", "samples": root / "samples.tsv",
             "haplotypes": root / "haplotypes.fa", "reference": root / "reference.fa",
             "stats": root / "stats.tsv", "sfs": root / "sfs.tsv", "windows": root / "windows.tsv",
             "summary": root / "stats.json"}
    results = {}
    results["demography"] = call_step(
        "simulation.demography", demography or {},
        inputs={"demes_file": [demes_file] if demes_file else []},
        outputs={"demography": paths["demography"], "model": paths["model"]}, work_dir=root)
    results["ancestry"] = call_step(
        "simulation.ancestry", ancestry or {},
        inputs={"demography": paths["demography"], "model": paths["model"]},
        outputs={"trees": paths["trees"]}, work_dir=root)
    results["mutations"] = call_step(
        "simulation.mutations", mutations or {},
        inputs={"trees": paths["trees"], "model": paths["model"]},
        outputs={"trees": paths["mutated"]}, work_dir=root)
    if export:
        results["export"] = call_step(
            "simulation.export", {}, inputs={"trees": paths["mutated"]},
            outputs={k: paths[k] for k in ("vcf", "samples", "haplotypes", "reference")},
            work_dir=root)
    results["stats"] = call_step(
        "simulation.stats", {}, inputs={"trees": paths["mutated"]},
        outputs={k: paths[k] for k in ("stats", "sfs", "windows", "summary")}, work_dir=root)
    return {"paths": paths, "results": results,
            "stats": json.loads(paths["summary"].read_text())}


def two_populations(split: int = 2000, ne: int = 10_000) -> dict[str, Any]:
    return {"populations": [{"name": "A", "initial_size": ne}, {"name": "B", "initial_size": ne},
                            {"name": "ANC", "initial_size": ne}],
            "splits": [{"time": split, "derived": ["A", "B"], "ancestral": "ANC"}]}


def allel_statistics(vcf: Path, samples: Path, length: int) -> dict[str, dict[str, float]]:
    """π (per-site sum / length), Tajima's D, Hudson and Weir-Cockerham F_ST by scikit-allel."""
    import allel
    import numpy as np
    import pandas as pd

    callset = allel.read_vcf(str(vcf), fields=["samples", "calldata/GT", "variants/POS"])
    genotypes = allel.GenotypeArray(callset["calldata/GT"])
    positions = callset["variants/POS"]
    names = list(callset["samples"])
    table = pd.read_csv(samples, sep="\t")
    groups = {pop: [names.index(s) for s in part["sample_id"]]
              for pop, part in table.groupby("population", sort=False)}
    if len(groups) > 1:
        groups = {"all": list(range(len(names))), **groups}
    out: dict[str, dict[str, float]] = {}
    for pop, index in groups.items():
        counts = genotypes.count_alleles(subpop=index)
        out[pop] = {"pi": float(allel.sequence_diversity(positions, counts, start=1, stop=length)),
                    "tajimas_d": float(allel.tajima_d(counts))}
    pops = [p for p in groups if p != "all"]
    for i, a in enumerate(pops):
        for b in pops[i + 1:]:
            num, den = allel.hudson_fst(genotypes.count_alleles(subpop=groups[a]),
                                        genotypes.count_alleles(subpop=groups[b]))
            wa, wb, wc = allel.weir_cockerham_fst(genotypes, [groups[a], groups[b]])
            out[f"{a}/{b}"] = {"fst_hudson": float(num.sum() / den.sum()),
                               "fst_weir_cockerham": float(np.nansum(wa) / np.nansum(wa + wb + wc))}
    return out


def vcftools_statistics(vcf: Path, samples: Path, length: int, out: Path) -> dict[str, float]:
    """vcftools --site-pi (sum / length), --TajimaD over one bin, --weir-fst-pop (weighted)."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(samples, sep="\t")
    lists = []
    for pop, part in table.groupby("population", sort=False):
        path = out / f"{pop}.txt"
        path.write_text("\n".join(part["sample_id"]) + "\n")
        lists.append(path)

    def run(*args: str) -> str:
        proc = subprocess.run(["vcftools", "--gzvcf", str(vcf), *args], capture_output=True,
                              text=True, check=True)
        return proc.stderr

    run("--site-pi", "--out", str(out / "all"))
    pi = pd.read_csv(out / "all.sites.pi", sep="\t")["PI"].sum() / length
    run("--TajimaD", str(length), "--out", str(out / "all"))
    tajima = pd.read_csv(out / "all.Tajima.D", sep="\t")["TajimaD"].iloc[0]
    log = run(*(x for p in lists[:2] for x in ("--weir-fst-pop", str(p))), "--out", str(out / "wc"))
    weighted = re.search(r"weighted Fst estimate: (\S+)", log)
    assert weighted, log
    return {"pi": float(pi), "tajimas_d": float(tajima), "fst_weir_cockerham": float(weighted[1])}
