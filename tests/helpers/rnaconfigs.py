"""Put the bundled RNA example where a MetaInformAnt amalgkit config points (issue #13).

A config names real species (``Pogonomyrmex_barbatus``) and real places (a genome download
folder, a getfastq directory); the tests give the i-th species of the config the data of the
i-th example species (Demo_alpha, Demo_beta), renamed, at the paths the config names.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from tests.helpers.rna import EXAMPLES

DEMO = ("Demo_alpha", "Demo_beta")

needs_edger = subprocess.run(
    ["sh", "-c", "Rscript -e 'library(edgeR)' >/dev/null 2>&1"], check=False).returncode == 0


def place_fastq(root: Path, species: Sequence[str], fastq_dir: str, *,
                getfastq_layout: bool = False) -> None:
    """The example runs of each species in ``fastq_dir``: flat (``RUN_1.fastq.gz``), or as
    amalgkit getfastq writes them (``RUN/RUN_1.amalgkit.fastq.gz``)."""
    target = root / fastq_dir
    for demo, _ in zip(DEMO, species):
        for source in sorted((EXAMPLES / "fastq" / demo).glob("*.fastq.gz")):
            if getfastq_layout:
                stem = source.name.split(".")[0]
                run = stem[:-2] if stem[-2:] in ("_1", "_2") else stem
                name = source.name.replace(".fastq.gz", ".amalgkit.fastq.gz")
                destination = target / run / name
            else:
                destination = target / source.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def place_fasta(root: Path, fastas: Mapping[str, str], species: Sequence[str]) -> None:
    """Each species' example transcriptome at its path (gzipped when the name ends in .gz)."""
    for demo, name in zip(DEMO, species):
        if name not in fastas:
            continue
        destination = root / fastas[name]
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = (EXAMPLES / "fasta" / f"{demo}.fa").read_bytes()
        destination.write_bytes(gzip.compress(data) if destination.name.endswith(".gz")
                                else data)


def place_orthogroups(root: Path, path: str, species: Sequence[str]) -> None:
    table = pd.read_csv(EXAMPLES / "Orthogroups.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    table = table.rename(columns=dict(zip(DEMO, species)))
    destination = root / path
    destination.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(destination, sep="\t", index=False)


def write_sample_sheet(root: Path, path: str, species: Sequence[str]) -> Path:
    """The example sheet, its species renamed; rows of example species the config lacks
    are left out."""
    sheet = pd.read_csv(EXAMPLES / "sample_sheet.tsv", sep="\t", dtype=str)
    names = {d.replace("_", " "): s.replace("_", " ") for d, s in zip(DEMO, species)}
    sheet = sheet[sheet["scientific_name"].isin(names)]
    sheet["scientific_name"] = sheet["scientific_name"].map(names)
    destination = root / path
    destination.parent.mkdir(parents=True, exist_ok=True)
    sheet.to_csv(destination, sep="\t", index=False)
    return destination
