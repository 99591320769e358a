"""Write the bundled epigenome examples (seeded).

Methylation (specs/epigenome/methylation.yaml): four Bismark coverage files (two control, two
treated samples) on two chromosomes plus an unmethylated lambda control contig, with planted
differentially methylated regions (truth.tsv), a sample sheet, and a peak file.

ChIP-seq (specs/epigenome/chipseq.yaml), in chipseq/: a random 500 kb genome (two
chromosomes), two ChIP replicates with 20 planted binding sites (chipseq/truth.tsv) over a
uniform background, and an input control; 50 bp single-end reads.

    python examples/epigenome/make_example_data.py [OUT_DIR]

Per CpG a baseline β (bimodal, as in mammalian genomes), per sample reads from a beta-binomial
(dispersion 0.02, coverage ~ Poisson(25), some CpGs uncovered). In the planted DMRs the treated
samples' β moves by ±0.5. Peaks cover unmethylated 'promoter' stretches (β ~ 0.1).
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import numpy as np

SEED = 42
CHROMS = {"chr1": 2400, "chr2": 1600}  # CpGs per chromosome
SAMPLES = {"ctrl_1": "control", "ctrl_2": "control", "treat_1": "treated", "treat_2": "treated"}
DMRS = [("chr1", 300, 14, 0.6), ("chr1", 1200, 12, -0.6), ("chr1", 2000, 16, 0.6),
        ("chr2", 500, 12, -0.6), ("chr2", 1300, 14, 0.6)]  # chrom, first CpG, CpGs, Δ treated
PEAKS = [("chr1", 700, 20), ("chr1", 1600, 25), ("chr2", 200, 20), ("chr2", 900, 18)]
DISPERSION = 0.02


def layout(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {c: 1000 + np.cumsum(rng.integers(8, 90, n)) for c, n in CHROMS.items()}


def true_beta(rng: np.random.Generator, positions: dict[str, np.ndarray]
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    base, treated = {}, {}
    for chrom, pos in positions.items():
        high = rng.random(len(pos)) < 0.7
        b = np.where(high, rng.beta(8, 2, len(pos)), rng.beta(2, 8, len(pos)))
        for c, first, n, _ in DMRS:  # planted regions start from intermediate-high/low levels
            if c == chrom:
                b[first:first + n] = 0.15 if _ > 0 else 0.85
        for c, first, n in PEAKS:
            if c == chrom:
                b[first:first + n] = rng.beta(1.5, 12, n)
        t = b.copy()
        for c, first, n, delta in DMRS:
            if c == chrom:
                t[first:first + n] = np.clip(b[first:first + n] + delta, 0.02, 0.98)
        base[chrom], treated[chrom] = b, t
    return base, treated


def reads(rng: np.random.Generator, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cov = rng.poisson(25, len(beta))
    cov[rng.random(len(beta)) < 0.03] = 0
    a = beta * (1 / DISPERSION - 1)
    b = (1 - beta) * (1 / DISPERSION - 1)
    p = rng.beta(np.maximum(a, 1e-3), np.maximum(b, 1e-3))
    return rng.binomial(cov, p), cov


def _gz_text(path: Path, level: int = 6) -> io.TextIOWrapper:
    """A gzip text file with no timestamp in its header: the same seed, the same bytes."""
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", compresslevel=level, mtime=0))


def write_cov(path: Path, rows: list[tuple[str, int, int, int]]) -> None:
    with _gz_text(path) as handle:
        for chrom, pos, m, n in rows:
            if n > 0:
                handle.write(f"{chrom}\t{pos}\t{pos}\t{100 * m / n:.6g}\t{m}\t{n - m}\n")


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    positions = layout(rng)
    base, treated = true_beta(rng, positions)
    lambda_pos = np.arange(100, 48_000, 900)
    for sample, group in SAMPLES.items():
        rows = []
        for chrom, pos in positions.items():
            m, n = reads(rng, (treated if group == "treated" else base)[chrom])
            rows += list(zip([chrom] * len(pos), pos.tolist(), m.tolist(), n.tolist()))
        n = rng.poisson(30, len(lambda_pos))
        m = rng.binomial(n, 0.004)  # 99.6 % conversion
        rows += list(zip(["lambda"] * len(n), lambda_pos.tolist(), m.tolist(), n.tolist()))
        write_cov(out / f"{sample}.bismark.cov.gz", rows)
    with open(out / "samples.tsv", "w") as handle:
        handle.write("sample\tgroup\tpath\n")
        for sample, group in SAMPLES.items():
            handle.write(f"{sample}\t{group}\t{sample}.bismark.cov.gz\n")
    with open(out / "truth.tsv", "w") as handle:
        handle.write("kind\tchrom\tstart\tend\tn_cpgs\tdelta_treated\n")
        for chrom, first, n, delta in DMRS:
            p = positions[chrom]
            handle.write(f"dmr\t{chrom}\t{p[first]}\t{p[first + n - 1]}\t{n}\t{delta}\n")
    with open(out / "peaks.bed", "w") as handle:
        for chrom, first, n in PEAKS:
            p = positions[chrom]
            handle.write(f"{chrom}\t{p[first] - 150}\t{p[first + n - 1] + 150}\tpeak_{chrom}_{first}\n")


CHIP_GENOME = {"chrA": 300_000, "chrB": 200_000}
CHIP_SITES = 20
CHIP_READS_PER_SITE = 100
CHIP_BACKGROUND = 25_000  # reads per library spread uniformly (ChIP and input)
READ_LENGTH = 50
FRAGMENT = 200


def _revcomp(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def _fragment_reads(rng: np.random.Generator, genome: dict[str, str], starts: list[tuple[str, int]]
                    ) -> list[str]:
    reads = []
    for chrom, start in starts:
        length = int(rng.normal(FRAGMENT, 20))
        start = min(max(start, 0), len(genome[chrom]) - length)
        fragment = genome[chrom][start:start + length]
        reads.append(fragment[:READ_LENGTH] if rng.random() < 0.5
                     else _revcomp(fragment[-READ_LENGTH:]))
    return reads


def _background(rng: np.random.Generator, n: int) -> list[tuple[str, int]]:
    names = list(CHIP_GENOME)
    sizes = np.array([CHIP_GENOME[c] for c in names], dtype=float)
    chroms = rng.choice(len(names), n, p=sizes / sizes.sum())
    return [(names[c], int(rng.integers(0, CHIP_GENOME[names[c]] - FRAGMENT))) for c in chroms]


def _write_fastq(path: Path, name: str, reads: list[str]) -> None:
    quality = "I" * READ_LENGTH
    with _gz_text(path, 9) as handle:
        for k, read in enumerate(reads):
            handle.write(f"@{name}.{k}\n{read}\n+\n{quality}\n")


def chipseq(out: Path, rng: np.random.Generator) -> None:
    out.mkdir(parents=True, exist_ok=True)
    genome = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CHIP_GENOME.items()}
    with _gz_text(out / "genome.fa.gz") as handle:
        for chrom, seq in genome.items():
            handle.write(f">{chrom}\n")
            handle.writelines(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))
    sites = []
    for chrom, size in CHIP_GENOME.items():
        n = round(CHIP_SITES * size / sum(CHIP_GENOME.values()))
        grid = np.linspace(5_000, size - 5_000, n).astype(int)  # well apart, jittered
        sites += [(chrom, int(c + rng.integers(-2_000, 2_000))) for c in grid]
    libraries = {"chip_rep1": True, "chip_rep2": True, "input": False}
    for name, bound in libraries.items():
        starts = _background(rng, CHIP_BACKGROUND)
        if bound:
            for chrom, centre in sites:
                offsets = rng.normal(0, 40, CHIP_READS_PER_SITE).astype(int)
                starts += [(chrom, centre + int(o) - FRAGMENT // 2) for o in offsets]
        order = rng.permutation(len(starts))
        _write_fastq(out / f"{name}.fastq.gz", name,
                     _fragment_reads(rng, genome, [starts[i] for i in order]))
    with open(out / "samples.tsv", "w") as handle:
        handle.write("sample\ttype\tfastq\tcontrol\n")
        for name, bound in libraries.items():
            kind, control = ("chip", "input") if bound else ("input", "")
            handle.write(f"{name}\t{kind}\t{name}.fastq.gz\t{control}\n")
    with open(out / "truth.tsv", "w") as handle:
        handle.write("chrom\tstart\tend\tname\n")
        for k, (chrom, centre) in enumerate(sites):
            handle.write(f"{chrom}\t{centre - 150}\t{centre + 150}\tsite{k + 1}\n")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    main(target)
    chipseq(target / "chipseq", np.random.default_rng(SEED + 1))
