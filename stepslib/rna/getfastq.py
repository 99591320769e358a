"""rna.getfastq: reads of each run as ``getfastq/<RUN>/<RUN>[_1|_2].amalgkit.fastq.gz``.

Private runs (``private_file == yes``, from rna.integrate) need no download: their files are
linked into place, or cleaned with ``fastp`` when ``fastp: yes``. Public SRA runs are
downloaded by the ``amalgkit getfastq`` CLI (network, sra-tools); without amalgkit they fail
with a clear message. Works on one run (fan-out: ``context.item`` is the metadata row) or on
every row of input 'metadata'. The output directory is the parent of ``getfastq/``
(param ``out_dir``, amalgkit's convention).
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, step
from stepslib.rna.metadata import AMALGKIT_INSTALL_HINT
from stepslib.rna.metadata_io import YES_NO, yes


def run_files(out_dir: Path, run: str, paired: bool) -> list[Path]:
    """Where amalgkit's getfastq puts a run's reads."""
    folder = out_dir / "getfastq" / run
    if paired:
        return [folder / f"{run}_1.amalgkit.fastq.gz", folder / f"{run}_2.amalgkit.fastq.gz"]
    return [folder / f"{run}.amalgkit.fastq.gz"]


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if not source.name.lower().endswith(".gz"):
        raise StepError(f"private FASTQ '{source}' is not gzipped",
                        hint="gzip it, or set fastp: yes (fastp writes gzipped output)")
    os.symlink(source.resolve(), target)


def private_run(row: dict[str, str], out_dir: Path, config: dict[str, Any],
                context: StepContext) -> list[Path]:
    run = row["run"]
    sources = [Path(p) for p in (row.get("read1_path", ""), row.get("read2_path", "")) if p]
    if not sources:
        raise StepError(f"private run '{run}' has no read1_path in the metadata",
                        hint="private rows come from rna.integrate")
    for source in sources:
        if not source.exists():
            raise StepError(f"run '{run}': FASTQ file '{source}' does not exist")
    targets = run_files(out_dir, run, paired=len(sources) == 2)
    if not yes(config["fastp"]):
        for source, target in zip(sources, targets):
            _link(source, target)
        return targets
    fastp = context.require_tool("fastp")
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    argv: list[str | Path] = [fastp, "--thread", str(max(1, context.threads)),
                              "--length_required", str(config["min_read_length"])]
    argv += shlex.split(config["fastp_option"])
    argv += ["-i", sources[0], "-o", targets[0]]
    if len(sources) == 2:
        argv += ["-I", sources[1], "-O", targets[1]]
    context.run(argv)
    return targets


def public_runs(rows: list[dict[str, str]], out_dir: Path, config: dict[str, Any],
                context: StepContext) -> list[Path]:
    runs = [r["run"] for r in rows]
    if shutil.which("amalgkit") is None:
        raise StepError(f"run(s) {', '.join(runs[:5])} are public SRA runs; downloading them "
                        "needs the 'amalgkit' command, which is not on PATH",
                        hint=AMALGKIT_INSTALL_HINT.split("; it needs")[0]
                        + "; it also needs sra-tools (apt-get install sra-toolkit) and network "
                          "access. Offline: put the reads in a directory and use rna.integrate")
    import pandas as pd

    from stepslib.rna.metadata_io import write_metadata

    table = context.tmp_dir / "metadata_getfastq.tsv"
    write_metadata(pd.DataFrame(rows), table)
    context.run(["amalgkit", "getfastq", "--metadata", table, "--out_dir", out_dir,
                 "--threads", str(max(1, context.threads)), "--redo", config["redo"],
                 "--fastp", config["fastp"], "--min_read_length", str(config["min_read_length"]),
                 "--fastp_option", config["fastp_option"],
                 "--aws", config["aws"], "--gcp", config["gcp"], "--ncbi", config["ncbi"]])
    produced: list[Path] = []
    for row in rows:
        paired = row.get("lib_layout", "") == "paired"
        files = run_files(out_dir, row["run"], paired)
        if not all(f.exists() for f in files):
            raise StepError(f"amalgkit getfastq wrote no reads for run '{row['run']}' "
                            f"(expected {files[0]})", hint=f"see the log: {context.log_path}")
        produced += files
    return produced


@step(
    "rna.getfastq",
    inputs={
        "metadata": {"description": "the runs, when the step does not fan out over them",
                     "required": False},
    },
    outputs={
        "fastq": {"description": "the FASTQ files it must write under out_dir/getfastq/<RUN>/",
                  "required": False},
    },
    version="1",
    tools=["fastp", "amalgkit"],
    params={
        "properties": {
            "out_dir": {"type": "string", "description": "Directory that receives getfastq/"
                                                         "<RUN>/ (amalgkit's --out_dir)."},
            "fastp": {**YES_NO, "default": "no",
                      "description": "Clean reads with fastp (private runs: run here; public "
                                     "runs: passed to amalgkit)."},
            "fastp_option": {"type": "string", "default": "-j /dev/null -h /dev/null",
                             "description": "Extra fastp arguments (amalgkit default)."},
            "min_read_length": {"type": "integer", "minimum": 0, "default": 25,
                                "description": "fastp --length_required."},
            "redo": {**YES_NO, "default": "no", "description": "amalgkit: download again."},
            "aws": {**YES_NO, "default": "yes", "description": "amalgkit: try the AWS mirror."},
            "gcp": {**YES_NO, "default": "yes", "description": "amalgkit: try the GCP mirror."},
            "ncbi": {**YES_NO, "default": "yes", "description": "amalgkit: try NCBI."},
        },
        "required": ["out_dir"],
    },
)
def getfastq(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
             context: StepContext) -> dict[str, Any]:
    """Put each run's reads into out_dir/getfastq/<RUN>/ (link or fastp for private runs,
    amalgkit for public runs). Rows: the fan-out item, else input 'metadata'. Declared outputs
    must be among the files written."""
    from stepslib.rna.metadata_io import read_metadata

    if isinstance(context.item, dict):
        rows = [{k: str(v) for k, v in context.item.items()}]
    else:
        table = optional_path(inputs, "metadata")
        if table is None:
            raise StepError("rna.getfastq needs a fan-out over metadata rows or an input "
                            "'metadata'")
        rows = read_metadata(table).to_dict("records")
    out_dir = Path(config["out_dir"])
    written: list[Path] = []
    public = [r for r in rows if not yes(r.get("private_file", "no"))]
    for row in rows:
        if yes(row.get("private_file", "no")):
            written += private_run(row, out_dir, config, context)
    if public:
        written += public_runs(public, out_dir, config, context)
    declared = [Path(p) for v in outputs.values() for p in (v if isinstance(v, list | tuple)
                                                             else [v])]
    have = {os.path.abspath(p) for p in written}
    missing = [str(p) for p in declared if os.path.abspath(p) not in have and not p.exists()]
    if missing:
        raise StepError(f"declared outputs were not written: {', '.join(missing[:5])}",
                        hint="declare getfastq/<RUN>/<RUN>_1.amalgkit.fastq.gz (paired) or "
                             "<RUN>.amalgkit.fastq.gz (single) under out_dir")
    return {"status": "completed", "metadata": {"runs": len(rows), "files": len(written)}}
