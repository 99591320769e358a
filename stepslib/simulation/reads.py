"""``simulation.reads``: paired-end Illumina-like reads per sample from its two haplotypes,
with dwgsim (Debian ``dwgsim``), plus the reference and the truth VCF for a variant caller."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

from engine import StepError, single_path, step
from stepslib.simulation._common import SEED_OFFSET, SEED_PARAM, completed

PARAMS = {
    "properties": {
        "samples": {"type": "integer", "minimum": 1, "default": 2,
                    "description": "Reads for the first N samples of the samples table."},
        "coverage": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                     "description": "Mean depth per sample (half from each haplotype)."},
        "read_length": {"type": "integer", "minimum": 20, "default": 100},
        "insert_size": {"type": "integer", "minimum": 50, "default": 350},
        "error_rate": {"type": "number", "minimum": 0, "maximum": 0.1, "default": 0.001},
        "seed": SEED_PARAM,
    },
}


@step("simulation.reads", params=PARAMS, version="1", tools=["dwgsim"],
      inputs={"haplotypes": "FASTA of simulation.export", "samples": "its samples table",
              "reference": "its reference FASTA", "vcf": "its bgzipped VCF (the truth)"},
      outputs={"dir": "reads/: <sample>_R1.fastq.gz, <sample>_R2.fastq.gz, reference.fa, "
                      "truth.vcf.gz(.tbi), samples.tsv"})
def reads(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: Any) -> dict[str, Any]:
    """dwgsim per haplotype (haploid mode, no extra mutations), both pooled per sample."""
    dwgsim = context.require_tool("dwgsim")
    out = Path(single_path(outputs, "dir", output=True))
    out.mkdir(parents=True, exist_ok=True)
    haplotypes = _read_fasta(Path(single_path(inputs, "haplotypes")))
    sample_rows = Path(single_path(inputs, "samples")).read_text().splitlines()[1:]
    names = [row.split("\t")[0] for row in sample_rows][: config["samples"]]
    tmp = Path(context.tmp_dir)
    pairs = 0
    for s_index, name in enumerate(names):
        haps = [h for h in haplotypes if h.startswith(f"{name}_")]
        if not haps:
            raise StepError(f"no haplotype of sample '{name}' in the FASTA")
        ends: dict[int, list[Path]] = {1: [], 2: []}
        for h_index, hap in enumerate(haps):
            fasta = tmp / f"{hap}.fa"
            fasta.write_text(f">{hap}\n{haplotypes[hap]}\n")
            prefix = tmp / hap
            seed = config["seed"] + SEED_OFFSET["reads"] + 2 * s_index + h_index
            context.run([dwgsim, "-H", "-r", "0", "-R", "0", "-X", "0", "-y", "0", "-o", "1",
                         "-C", str(config["coverage"] / len(haps)), "-1", str(config["read_length"]),
                         "-2", str(config["read_length"]), "-d", str(config["insert_size"]),
                         "-e", str(config["error_rate"]), "-E", str(config["error_rate"]),
                         "-z", str(seed), str(fasta), str(prefix)])
            for end in (1, 2):
                ends[end].append(_find_end(prefix, end))
        pairs += _pool(ends[1], out / f"{name}_R1.fastq.gz")
        _pool(ends[2], out / f"{name}_R2.fastq.gz")
    shutil.copyfile(single_path(inputs, "reference"), out / "reference.fa")
    vcf = Path(single_path(inputs, "vcf"))
    shutil.copyfile(vcf, out / "truth.vcf.gz")
    if Path(f"{vcf}.tbi").exists():
        shutil.copyfile(f"{vcf}.tbi", out / "truth.vcf.gz.tbi")
    (out / "samples.tsv").write_text("sample\tfastq_1\tfastq_2\n" + "".join(
        f"{n}\t{n}_R1.fastq.gz\t{n}_R2.fastq.gz\n" for n in names))
    return completed({"samples": len(names), "read_pairs": pairs,
                      "coverage": config["coverage"], "read_length": config["read_length"]})


def _read_fasta(path: Path) -> dict[str, str]:
    records: dict[str, list[str]] = {}
    current = None
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                current = line[1:].split()[0]
                records[current] = []
            elif current is not None:
                records[current].append(line)
    return {k: "".join(v) for k, v in records.items()}


def _find_end(prefix: Path, end: int) -> Path:
    for suffix in (f".bwa.read{end}.fastq.gz", f".bwa.read{end}.fastq"):
        path = Path(f"{prefix}{suffix}")
        if path.exists():
            return path
    raise StepError(f"dwgsim wrote no read-{end} file for {prefix.name}",
                    hint="see the step log for dwgsim's messages")


def _pool(parts: list[Path], target: Path) -> int:
    """Concatenate FASTQ parts into one gzip (mtime 0: reruns are byte-identical); records."""
    lines = 0
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                  compresslevel=4) as out:
        for part in parts:
            opener = gzip.open if part.suffix == ".gz" else open
            with opener(part, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    out.write(block)
                    lines += block.count(b"\n")
    return lines // 4
