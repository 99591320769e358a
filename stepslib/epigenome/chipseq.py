"""ChIP-seq steps: bowtie2 index and alignment with samtools sort/markdup/index, MACS2 peak
calling (Debian ``macs``), FRiP, consensus peaks over replicates, report."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, path_list, require_tool, require_tools, single_path, step


@step("epigenome.bowtie2_index", version="1", tools=["bowtie2-build"],
      inputs={"genome": "genome FASTA (.fa or .fa.gz)"},
      outputs={"index": "folder holding the bowtie2 index 'genome.*.bt2'"})
def bowtie2_index(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                  context: StepContext) -> dict[str, Any]:
    """bowtie2-build the genome (fixed seed: the same index every time)."""
    require_tool("bowtie2-build")
    folder = single_path(outputs, "index", output=True)
    folder.mkdir(parents=True, exist_ok=True)
    context.run(["bowtie2-build", "-q", "--seed", "1", "--threads", str(context.threads),
                 single_path(inputs, "genome"), folder / "genome"])
    return {"status": "completed", "output": {"index": str(folder)}, "warnings": [],
            "metadata": {}}


def _bowtie2_rates(log_text: str) -> dict[str, float]:
    for line in log_text.splitlines():
        if "overall alignment rate" in line:
            return {"alignment_rate": float(line.split("%")[0]) / 100}
    return {}


@step("epigenome.align", version="1", tools=["bowtie2", "samtools"],
      params={"properties": {"remove_duplicates": {
          "type": "boolean", "default": False,
          "description": "Remove marked duplicates (samtools markdup -r) instead of marking."}}},
      inputs={"index": "epigenome.bowtie2_index's folder", "reads": "FASTQ(.gz), single end"},
      outputs={"bam": "sorted, duplicate-marked BAM (.bam)", "bai": "its index (.bai)",
               "flagstat": "samtools flagstat (.txt)"})
def align(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """bowtie2 -> samtools sort -n/fixmate -> sort -> markdup -> index, flagstat."""
    require_tools("bowtie2", "samtools")
    tmp = context.tmp_dir
    index = single_path(inputs, "index") / "genome"
    raw = tmp / "aligned.bam"
    aln_log = tmp / "bowtie2.log"
    with open(aln_log, "w") as err, open(raw, "wb") as out:
        bowtie = subprocess.Popen(["bowtie2", "-p", str(context.threads), "--seed", "1", "-x",
                                   str(index), "-U", str(single_path(inputs, "reads"))],
                                  stdout=subprocess.PIPE, stderr=err)
        view = subprocess.run(["samtools", "view", "-b", "-o", "-", "-"], stdin=bowtie.stdout,
                              stdout=out)
        assert bowtie.stdout is not None
        bowtie.stdout.close()
        code = bowtie.wait()
    text = aln_log.read_text()
    context.log.info("bowtie2: %s", text.strip())
    if code != 0 or view.returncode != 0:
        raise StepError(f"bowtie2 failed (exit {code}): {text[-500:]}",
                        hint="check the reads and the index")
    bam = single_path(outputs, "bam", output=True)
    context.run(["samtools", "sort", "-n", "-o", tmp / "byname.bam", raw])
    context.run(["samtools", "fixmate", "-m", tmp / "byname.bam", tmp / "fixed.bam"])
    context.run(["samtools", "sort", "-o", tmp / "sorted.bam", tmp / "fixed.bam"])
    markdup = ["samtools", "markdup", "-s"] + (["-r"] if config["remove_duplicates"] else [])
    context.run([*markdup, tmp / "sorted.bam", bam])
    context.run(["samtools", "index", bam, single_path(outputs, "bai", output=True)])
    flagstat = single_path(outputs, "flagstat", output=True)
    context.run(["samtools", "flagstat", bam], stdout=flagstat)
    stats = _flagstat(flagstat.read_text())
    return {"status": "completed", "output": {**_bowtie2_rates(text), **stats},
            "warnings": [], "metadata": {}}


def _flagstat(text: str) -> dict[str, int]:
    found = {}
    for line in text.splitlines():
        count = int(line.split(" ")[0])
        if "in total" in line:
            found["reads"] = count
        elif " duplicates" in line and "primary" not in line:
            found["duplicates"] = count
        elif " mapped (" in line and "primary" not in line:
            found["mapped"] = count
    return found


MACS_PARAMS = {"properties": {
    "qvalue": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.05,
               "description": "MACS2 -q (MetaInformAnt chipseq_qvalue_threshold)."},
    "extsize": {"type": "integer", "minimum": 1, "default": 200,
                "description": "MACS2 --nomodel --extsize: fragment length."},
    "genome_size": {"type": ["integer", "string", "null"], "default": None,
                    "description": "MACS2 -g; null: the sum of the genome FASTA's lengths."},
    "min_peak_length": {"type": "integer", "minimum": 0, "default": 50,
                        "description": "Drop shorter peaks (MetaInformAnt min_peak_length)."},
    "max_peak_length": {"type": "integer", "minimum": 1, "default": 10000,
                        "description": "Drop longer peaks (MetaInformAnt max_peak_length)."},
}}


def _genome_length(index: Path) -> int:
    out = subprocess.run(["bowtie2-inspect", "-s", str(index / "genome")], capture_output=True,
                         text=True, check=True).stdout
    return sum(int(line.split("\t")[-1]) for line in out.splitlines()
               if line.startswith("Sequence-"))


@step("epigenome.macs2", params=MACS_PARAMS, version="1", tools=["macs2"],
      inputs={"treatment": "ChIP BAM", "control": {"description": "input BAM",
                                                   "required": False},
              "index": "bowtie2 index folder (genome size)"},
      outputs={"peaks": "filtered narrowPeak (.narrowPeak)",
               "raw": "MACS2's own output folder"})
def macs2(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """MACS2 callpeak --nomodel (model building fails on few peaks), length filter."""
    import pandas as pd

    require_tool("macs2")
    raw = single_path(outputs, "raw", output=True)
    raw.mkdir(parents=True, exist_ok=True)
    size = config["genome_size"] or _genome_length(single_path(inputs, "index"))
    control = path_list(inputs.get("control"))
    with_control: list[str | Path] = ["-c", *control] if control else []
    argv: list[str | Path] = ["macs2", "callpeak", "-t", single_path(inputs, "treatment"),
                              *with_control, "-f", "BAM",
                              "-g", str(size), "-n", "sample", "--outdir", raw, "--nomodel",
                              "--extsize", str(config["extsize"]), "-q", str(config["qvalue"]),
                              "--seed", "1"]
    context.run(argv)
    called = pd.read_csv(raw / "sample_peaks.narrowPeak", sep="\t", header=None,
                         dtype={0: str})
    length = called[2] - called[1]
    kept = called[(length >= config["min_peak_length"]) & (length <= config["max_peak_length"])]
    kept.to_csv(single_path(outputs, "peaks", output=True), sep="\t", header=False, index=False)
    return {"status": "completed",
            "output": {"peaks": len(kept), "peaks_called": len(called),
                       "median_length": float(length.median()) if len(called) else None},
            "warnings": [] if len(kept) else ["MACS2 found no peak"],
            "metadata": {"genome_size": size, "control": bool(control)}}


@step("epigenome.frip", version="1", tools=["samtools"],
      inputs={"bam": "ChIP BAM (indexed)", "peaks": "its peaks"},
      outputs={"frip": "TSV: reads, reads_in_peaks, frip (.tsv)"})
def frip(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Fraction of mapped reads in peaks (samtools view -c -F 4 [-L peaks])."""
    require_tool("samtools")
    bam, peaks = single_path(inputs, "bam"), single_path(inputs, "peaks")

    def count(*extra: str | Path) -> int:
        argv = ["samtools", "view", "-c", "-F", "4", *map(str, extra), str(bam)]
        return int(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)

    total = count()
    inside = count("-L", peaks) if peaks.stat().st_size else 0
    value = inside / total if total else float("nan")
    single_path(outputs, "frip", output=True).write_text(
        f"reads\treads_in_peaks\tfrip\n{total}\t{inside}\t{value:.6f}\n")
    return {"status": "completed", "output": {"frip": round(value, 4), "reads": total,
                                              "reads_in_peaks": inside},
            "warnings": [], "metadata": {}}
