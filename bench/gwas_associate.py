"""Benchmark: gwas.associate beside ``plink2 --glm`` on the same PLINK files, same run.

    PYTHONPATH=. .venv/bin/python bench/gwas_associate.py [--samples 2000] [--variants 100000]

Generates (numpy, seeded) a PLINK .bed of N samples x M variants with 0.1% missing calls,
a quantitative trait and 10 PC-like covariates; then times, each in its own process so that
peak memory (max RSS) is per phase:

- ``load``: gwas.load, .bed -> int8 dosage store (a one-off cost shared by every later step);
- ``qc``: gwas.qc with every filter off (only to produce the kept lists the step reads);
- ``associate``: gwas.associate (linear, 10 covariates), called as the engine calls it;
- ``plink2``: ``plink2 --bfile --pheno --covar --glm hide-covar`` (its .bed is its store).

Prints a Markdown table; the figures in bench/gwas.md came from this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generate(out: Path, n_samples: int, n_variants: int, seed: int = 7) -> None:
    import numpy as np
    import pandas as pd
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.5, n_variants).astype(np.float32)
    geno = np.empty((n_samples, n_variants), dtype=np.int8)
    step = 10_000
    for start in range(0, n_variants, step):  # in chunks: the float draws stay small
        stop = min(start + step, n_variants)
        u = rng.random((n_samples, stop - start), dtype=np.float32)
        v = rng.random((n_samples, stop - start), dtype=np.float32)
        f = freq[start:stop]
        geno[:, start:stop] = (u < f).astype(np.int8) + (v < f).astype(np.int8)
        geno[:, start:stop][rng.random((n_samples, stop - start), dtype=np.float32) < 0.001] = -127
    ids = [f"s{i}" for i in range(n_samples)]
    chrom = np.repeat(np.arange(1, 11), -(-n_variants // 10))[:n_variants].astype(str)
    to_bed(out / "bench.bed", geno, properties={
        "fid": ids, "iid": ids, "chromosome": chrom.tolist(),
        "sid": [f"v{i}" for i in range(n_variants)],
        "bp_position": (np.arange(n_variants) * 100 + 1).tolist(),
        "allele_1": ["A"] * n_variants, "allele_2": ["G"] * n_variants}, count_A1=True)
    pcs = rng.normal(0, 1, (n_samples, 10))
    causal = geno[:, 123].astype(float)
    causal[causal < 0] = 1
    y = 0.2 * causal + pcs @ rng.normal(0, 0.2, 10) + rng.normal(0, 1, n_samples)
    pd.DataFrame({"sample_id": ids, "y": np.round(y, 6)}).to_csv(out / "pheno.tsv", sep="\t",
                                                                  index=False)
    cov = pd.DataFrame(np.round(pcs, 6), columns=[f"PC{i + 1}" for i in range(10)])
    cov.insert(0, "sample_id", ids)
    cov.to_csv(out / "covar.tsv", sep="\t", index=False)
    for name in ("pheno", "covar"):  # plink2 flavour: #FID IID ...
        table = pd.read_csv(out / f"{name}.tsv", sep="\t").rename(columns={"sample_id": "IID"})
        table.insert(0, "#FID", table["IID"])
        table.to_csv(out / f"{name}.plink.tsv", sep="\t", index=False)


def run_phase(phase: str, work: Path) -> None:
    """One phase in this process (the parent measures wall time and max RSS)."""
    import logging

    from engine import StepContext
    from engine.params import fill_defaults
    from engine.registry import get_step

    store = work / "store"
    steps = {
        "load": ("gwas.load", {}, {"genotypes": work / "bench.bed",
                                   "phenotypes": work / "pheno.tsv",
                                   "covariates": work / "covar.tsv"},
                 {k: store / f"{k}{s}" for k, s in (("dosages", ".npy"), ("variants", ".tsv"),
                                                    ("phenotypes", ".p.tsv"),
                                                    ("covariates", ".c.tsv"),
                                                    ("dropped", ".d.tsv"))}),
        "qc": ("gwas.qc", {"min_call_rate": None, "max_missing": None, "min_maf": None,
                           "hwe_pval": None},
               {"dosages": store / "dosages.npy", "variants": store / "variants.tsv",
                "phenotypes": store / "phenotypes.p.tsv"},
               {k: store / f"{k}.qc.tsv" for k in ("variant_qc", "sample_qc", "kept_variants",
                                                   "kept_samples", "summary")}),
        "associate": ("gwas.associate", {"trait": "y"},
                      {"dosages": store / "dosages.npy", "variants": store / "variants.tsv",
                       "phenotypes": store / "phenotypes.p.tsv",
                       "covariates": store / "covariates.c.tsv",
                       "kept_variants": store / "kept_variants.qc.tsv",
                       "kept_samples": store / "kept_samples.qc.tsv", "pcs": []},
                      {"results": work / "ours.assoc.tsv"}),
    }
    name, params, inputs, outputs = steps[phase]
    info = get_step(name)
    tmp = work / f"tmp-{phase}"
    tmp.mkdir(exist_ok=True)
    context = StepContext(instance_id=phase, step=name, threads=os.cpu_count() or 1,
                          work_dir=work, tmp_dir=tmp, log_path=work / f"{phase}.log",
                          log=logging.getLogger(phase))
    info.function(fill_defaults(info.params_schema, params), inputs=inputs, outputs=outputs,
                  context=context)


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "generate":
        generate(args.work, args.samples, args.variants)
        return
    if args.phase:
        run_phase(args.phase, args.work)
        return
    if shutil.which("plink2") is None:
        raise SystemExit("plink2 is not installed (apt-get install plink2)")
    with tempfile.TemporaryDirectory(prefix="gwas-bench-") as tmp:
        work = Path(tmp)
        # Every phase runs in a child process of this small parent (no numpy imported here),
        # so each child's max RSS is its own.
        me = [sys.executable, __file__, "--work", str(work), "--samples", str(args.samples),
              "--variants", str(args.variants), "--phase"]
        wall, _ = measure([*me, "generate"])
        print(f"generated {args.samples} x {args.variants} in {wall:.1f} s", file=sys.stderr)
        rows = []
        for phase in ("load", "qc", "associate"):
            rows.append((f"mi-run gwas.{phase}", *measure([*me, phase])))
        plink = ["plink2", "--bfile", str(work / "bench"), "--pheno",
                 str(work / "pheno.plink.tsv"), "--covar", str(work / "covar.plink.tsv"),
                 "--glm", "hide-covar", "--out", str(work / "plink"), "--silent"]
        rows.append(("plink2 --glm", *measure(plink)))
        subprocess.run(["plink2", "--bfile", str(work / "bench"), "--freq", "--out",
                        str(work / "plink"), "--silent"], check=True)
        check = compare(work)
    print(f"| {args.samples} samples x {args.variants} variants, 10 covariates | wall (s) "
          f"| peak RSS (MiB) |\n|---|---:|---:|")
    for name, wall, rss in rows:
        print(f"| {name} | {wall:.2f} | {rss:.0f} |")
    print(f"\nagreement with plink2: {check}")


def compare(work: Path) -> str:
    import numpy as np
    import pandas as pd

    ours = pd.read_csv(work / "ours.assoc.tsv", sep="\t")
    theirs = pd.read_csv(work / "plink.y.glm.linear", sep="\t")
    same = ours["SNP"].tolist() == theirs["ID"].tolist()
    flipped = ours["A1"].to_numpy() != theirs["A1"].to_numpy()
    freq = pd.read_csv(work / "plink.afreq", sep="\t")["ALT_FREQS"].to_numpy()
    ties = int((flipped & (freq == 0.5)).sum())
    sign = np.where(flipped, -1.0, 1.0)  # an A1 swap flips the sign of BETA only
    rel = np.nanmax(np.abs(sign * ours["BETA"] - theirs["BETA"])
                    / np.abs(theirs["BETA"]).clip(1e-3))
    lp = np.nanmax(np.abs(np.log10(ours["P"]) - np.log10(theirs["P"])))
    return (f"same variants: {same}; A1 differs at {int(flipped.sum())} ({ties} of them exact "
            f"0.5 frequency ties); max |dBETA|/max(|BETA|,1e-3) = {rel:.2g}; "
            f"max |d log10 P| = {lp:.2g}")


if __name__ == "__main__":
    main()
