"""Make the bundled DNA example: a seeded synthetic genome, 3 haploid samples, dwgsim reads.

Deterministic (fixed seeds; dwgsim with ``-z``). Needs ``dwgsim`` (Debian package dwgsim).
Run from anywhere::

    python examples/dna/make_example_data.py [OUT_DIR] [N_SAMPLES]

(the tests make a 12-sample cohort this way to run specs/gwas/gwas.yaml on the calls).

Writes (default: next to this script):
- ``reference.fa``: two contigs (chr1 16 kb, chr2 9 kb) of seeded random sequence;
- ``reads/<sample>_R1.fastq.gz``, ``reads/<sample>_R2.fastq.gz``: 1,500 read pairs of 100 bp
  per sample (about 12x), simulated by dwgsim from the sample's own genome;
- ``samples.tsv``: the sample sheet (``sample``, ``fastq_1``, ``fastq_2``; paths relative to
  this folder);
- ``truth/<sample>.mutations.vcf``: dwgsim's truth VCF of the sample's private mutations;
- ``truth.tsv``: every planted variant per sample (``sample CHROM POS REF ALT source``):
  ``shared`` SNPs that we plant into half of the sample genomes (2 of 3: joint calling has
  sites where a sample is reference; the first one is ``causal``, see phenotypes), and
  ``dwgsim`` mutations (SNPs and small indels, dwgsim ``-r 0.002 -R 0.1 -H``). Indel
  positions are as dwgsim writes them (not left-normalised: compare after ``bcftools norm``).
- ``sequences.fa`` (for specs/dna/phylo.yaml): 8 sequences of about 1,200 bp evolved along
  ``truth_tree.newick`` (Jukes-Cantor substitutions, a few deletions, so mafft has gaps to
  place) plus 2 short fragments that ``min_length: 500`` drops;
- ``phenotypes.tsv``: ``sample_id``, ``trait`` = 1.5 x carrier of the causal SNP + N(0, 0.3)
  (for running specs/gwas/gwas.yaml on the calls; GWAS needs 10 or more samples).
"""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
import sys
from pathlib import Path

SEED = 20261205
CONTIGS = {"chr1": 16_000, "chr2": 9_000}
N_PAIRS = 1_500
N_SHARED = 12  # SNPs each planted in half of the samples (rounded up)
CAUSAL_EFFECT = 1.5
DWGSIM = ["-N", str(N_PAIRS), "-1", "100", "-2", "100", "-r", "0.002", "-R", "0.1", "-H",
          "-e", "0.002", "-E", "0.002", "-y", "0"]


def random_genome(rng: random.Random) -> dict[str, str]:
    return {name: "".join(rng.choice("ACGT") for _ in range(length))
            for name, length in CONTIGS.items()}


def write_fasta(genome: dict[str, str], path: Path) -> None:
    with open(path, "w") as handle:
        for name, seq in genome.items():
            handle.write(f">{name}\n")
            handle.writelines(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))


def plant_shared(genome: dict[str, str], rng: random.Random,
                 samples: list[str]) -> list[tuple[str, int, str, str, tuple[str, ...]]]:
    """Shared SNPs, each carried by two samples, away from contig ends (1-based positions)."""
    planted = []
    names = list(CONTIGS)
    for index in range(N_SHARED):
        chrom = names[index % len(names)]
        pos = rng.randrange(500, CONTIGS[chrom] - 500)
        ref = genome[chrom][pos - 1]
        alt = rng.choice([b for b in "ACGT" if b != ref])
        carriers = tuple(rng.sample(samples, (len(samples) + 1) // 2))
        planted.append((chrom, pos, ref, alt, carriers))
    return planted


def sample_genome(genome: dict[str, str], planted: list, sample: str) -> dict[str, str]:
    seqs = {name: list(seq) for name, seq in genome.items()}
    for chrom, pos, _ref, alt, carriers in planted:
        if sample in carriers:
            seqs[chrom][pos - 1] = alt
    return {name: "".join(seq) for name, seq in seqs.items()}


def dwgsim_records(vcf: Path) -> list[tuple[str, int, str, str]]:
    rows = []
    for line in vcf.read_text().splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            rows.append((fields[0], int(fields[1]), fields[3], fields[4]))
    return rows


def simulate(out: Path, n_samples: int = 3) -> None:
    if shutil.which("dwgsim") is None:
        sys.exit("dwgsim is not installed: apt-get install -y dwgsim")
    rng = random.Random(SEED)
    genome = random_genome(rng)
    samples = [f"S{i}" for i in range(1, n_samples + 1)]
    planted = plant_shared(genome, rng, samples)
    (out / "reads").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    write_fasta(genome, out / "reference.fa")
    truth = ["sample\tCHROM\tPOS\tREF\tALT\tsource"]
    sheet = ["sample\tfastq_1\tfastq_2"]
    for number, sample in enumerate(samples):
        work = out / f".tmp_{sample}"
        work.mkdir(exist_ok=True)
        write_fasta(sample_genome(genome, planted, sample), work / "genome.fa")
        subprocess.run(["dwgsim", "-z", str(SEED % 10_000 + number), *DWGSIM, "genome.fa", "sim"],
                       cwd=work, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mutated = dwgsim_records(work / "sim.mutations.vcf")
        mutated_at = {(c, p) for c, p, _r, _a in mutated}
        for number_planted, (chrom, pos, ref, alt, carriers) in enumerate(planted):
            if sample in carriers and (chrom, pos) not in mutated_at:
                source = "causal" if number_planted == 0 else "shared"
                truth.append(f"{sample}\t{chrom}\t{pos}\t{ref}\t{alt}\t{source}")
        for chrom, pos, ref, alt in mutated:
            # REF is the sample genome's base; at a planted site it differs from the reference
            base = genome[chrom][pos - 1: pos - 1 + len(ref)]
            truth.append(f"{sample}\t{chrom}\t{pos}\t{base}\t{alt}\tdwgsim")
        shutil.copy(work / "sim.mutations.vcf", out / "truth" / f"{sample}.mutations.vcf")
        for read in (1, 2):
            # re-gzip without a timestamp: the files are byte-identical on every run
            data = gzip.decompress((work / f"sim.bwa.read{read}.fastq.gz").read_bytes())
            target = out / "reads" / f"{sample}_R{read}.fastq.gz"
            target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        sheet.append(f"{sample}\treads/{sample}_R1.fastq.gz\treads/{sample}_R2.fastq.gz")
        shutil.rmtree(work)
    (out / "truth.tsv").write_text("\n".join(truth) + "\n")
    (out / "samples.tsv").write_text("\n".join(sheet) + "\n")
    carriers = planted[0][4]
    trait = [f"{s}\t{CAUSAL_EFFECT * (s in carriers) + rng.gauss(0, 0.3):.4f}" for s in samples]
    (out / "phenotypes.tsv").write_text("sample_id\ttrait\n" + "\n".join(trait) + "\n")


# the planted tree: ((A,B),(C,D)) and ((E,F),(G,H)) with branch lengths in substitutions/site
TRUE_TREE = ("(((A:0.02,B:0.03):0.04,(C:0.025,D:0.02):0.05):0.03,"
             "((E:0.03,F:0.02):0.06,(G:0.02,H:0.035):0.04):0.03);")


def evolve(seq: str, length: float, rng: random.Random) -> str:
    """Jukes-Cantor substitutions for a branch of ``length`` substitutions per site."""
    import math

    changed = 0.75 * (1 - math.exp(-4 * length / 3))  # P(site differs at the end)
    return "".join(rng.choice([b for b in "ACGT" if b != base]) if rng.random() < changed
                   else base for base in seq)


def simulate_sequences(out: Path) -> None:
    rng = random.Random(SEED + 1)
    root = "".join(rng.choice("ACGT") for _ in range(1_200))
    tips: dict[str, str] = {}

    def walk(newick: str, seq: str) -> None:  # a tiny recursive reader of TRUE_TREE's shape
        if not newick.startswith("("):
            name, length = newick.split(":")
            tips[name] = evolve(seq, float(length), rng)
            return
        depth, body_end = 0, 0
        for index, char in enumerate(newick):
            depth += (char == "(") - (char == ")")
            if depth == 0:
                body_end = index
                break
        body = newick[1:body_end]
        length = float(newick[body_end + 2:]) if newick[body_end + 1:].startswith(":") else 0.0
        seq = evolve(seq, length, rng)
        depth, start = 0, 0
        for index, char in enumerate(body):
            depth += (char == "(") - (char == ")")
            if char == "," and depth == 0:
                walk(body[start:index], seq)
                start = index + 1
        walk(body[start:], seq)

    walk(TRUE_TREE.rstrip(";"), root)
    for name in ("B", "E", "G"):  # a few deletions of 3-9 bp
        pos, size = rng.randrange(100, 1_000), rng.randrange(3, 10)
        tips[name] = tips[name][:pos] + tips[name][pos + size:]
    tips["frag1"] = tips["A"][200:420]
    tips["frag2"] = tips["H"][600:900]
    write_fasta(tips, out / "sequences.fa")
    (out / "truth_tree.newick").write_text(TRUE_TREE + "\n")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    simulate(target, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    simulate_sequences(target)
