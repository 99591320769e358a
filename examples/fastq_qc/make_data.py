"""Write the example's tiny paired-end FASTQ files (deterministic: same bytes on every run).

Three samples of 300 read pairs (2 x 75 bp) sampled from one random 5 kb "genome", with
different quality so fastp's filtering gives different results:

- good:   high quality throughout;
- medium: a quarter of the pairs end in a long low-quality tail, some have short inserts
          (adapter read-through);
- poor:   many pairs are mostly low quality, some carry runs of N.

Usage: python3 make_data.py [OUTDIR]   (default: the data/ directory next to this script)
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

READ_LENGTH = 75
PAIRS = 300
# Illumina TruSeq adapters: what a read runs into when the insert is shorter than the read.
ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")

# sample -> (fraction with a low-quality tail, fraction mostly low quality,
#            fraction with N runs, fraction with short inserts)
PROFILES = {
    "good": (0.0, 0.0, 0.0, 0.02),
    "medium": (0.25, 0.05, 0.02, 0.10),
    "poor": (0.20, 0.35, 0.15, 0.05),
}


def reverse_complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def qualities(rng: random.Random, length: int, tail: bool, poor: bool) -> list[int]:
    result = []
    for i in range(length):
        q = rng.randint(30, 40) - i // 25  # a mild decline along the read, like real runs
        if poor:
            q = rng.randint(2, 14) if rng.random() < 0.7 else q
        elif tail and i > length * 0.45:
            q = rng.randint(2, 12)
        result.append(max(2, q))
    return result


def fastq_record(name: str, seq: str, quals: list[int]) -> str:
    return f"@{name}\n{seq}\n+\n{''.join(chr(q + 33) for q in quals)}\n"


def add_ns(rng: random.Random, seq: str) -> str:
    start = rng.randrange(0, len(seq) - 10)
    return seq[:start] + "N" * 10 + seq[start + 10:]


def make_sample(name: str, genome: str, rng: random.Random, outdir: Path) -> None:
    tail_rate, poor_rate, n_rate, short_rate = PROFILES[name]
    r1_lines, r2_lines = [], []
    for i in range(PAIRS):
        short = rng.random() < short_rate
        insert = rng.randint(40, 70) if short else rng.randint(180, 320)
        start = rng.randrange(0, len(genome) - insert)
        fragment = genome[start:start + insert]
        if rng.random() < 0.5:
            fragment = reverse_complement(fragment)
        r1 = (fragment + ADAPTER_R1 + "A" * READ_LENGTH)[:READ_LENGTH]
        r2 = (reverse_complement(fragment) + ADAPTER_R2 + "A" * READ_LENGTH)[:READ_LENGTH]
        tail, poor = rng.random() < tail_rate, rng.random() < poor_rate
        if rng.random() < n_rate:
            r1, r2 = add_ns(rng, r1), add_ns(rng, r2)
        read_name = f"{name}.{i + 1}"
        r1_lines.append(fastq_record(f"{read_name}/1", r1, qualities(rng, READ_LENGTH, tail, poor)))
        r2_lines.append(fastq_record(f"{read_name}/2", r2, qualities(rng, READ_LENGTH, tail, poor)))
    for mate, lines in (("R1", r1_lines), ("R2", r2_lines)):
        path = outdir / f"{name}_{mate}.fastq.gz"
        # mtime=0 and no file name in the header: identical bytes on every run
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    mtime=0) as handle:
            handle.write("".join(lines).encode())


def main(argv: list[str]) -> None:
    outdir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "data"
    outdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240611)
    genome = "".join(rng.choice("ACGT") for _ in range(5000))
    for name in PROFILES:
        make_sample(name, genome, rng, outdir)
    print(f"wrote {len(PROFILES)} samples x 2 mates to {outdir}")


if __name__ == "__main__":
    main(sys.argv)
