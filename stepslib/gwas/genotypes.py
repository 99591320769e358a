"""Genotype readers and the on-disk dosage store the GWAS steps share.

The store written by ``gwas.load`` is three files:

- ``dosages.npy``: an int8 matrix, variants x samples, the ALT allele count 0/1/2 and
  ``MISSING`` (-1) for a missing call. Variant-major so that a block of variants is one
  contiguous slice of a memory map; every later step opens it with ``mmap_mode="r"``.
- ``variants.tsv``: ``CHR POS SNP REF ALT`` in the row order of the matrix.
- the aligned ``phenotypes.tsv`` whose ``sample_id`` column gives the column order.

Readers stream in chunks of variants (PLINK via bed-reader, VCF/BCF via cyvcf2, one numpy row
per record), so memory stays at one chunk plus the output map.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine import StepError

MISSING = -1
VARIANT_COLUMNS = ["CHR", "POS", "SNP", "REF", "ALT"]
_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


@dataclass
class GenotypeSource:
    """An opened genotype file: its samples, variants and a chunked dosage iterator."""

    path: Path
    kind: str  # "plink" or "vcf"
    sample_ids: list[str]
    variants: pd.DataFrame | None  # known up front for PLINK; None for VCF (read while streaming)
    parts: tuple[Path, ...] = ()  # VCF/BCF: every file, read one after the other


def genotype_files(paths: list[Path]) -> list[Path]:
    """The genotype files named: a directory stands for every VCF/BCF in it (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith(_VCF_SUFFIXES))
            if not found:
                raise StepError(f"no VCF/BCF file in {path}",
                                hint="put the genotype VCFs there, or list them under "
                                     "variants.vcf_files")
            files += found
        else:
            files.append(path)
    return files


def open_sources(paths: list[Path]) -> GenotypeSource:
    """One source over several files (e.g. one VCF per chromosome) with the same samples."""
    files = genotype_files(paths)
    if not files:
        raise StepError("no genotype file given", hint="set variants.vcf_files")
    if len(files) == 1:
        return open_source(files[0])
    sources = [open_source(f) for f in files]
    if any(s.kind != "vcf" for s in sources):
        raise StepError("several genotype files must all be VCF/BCF: "
                        + ", ".join(str(f) for f in files),
                        hint="merge PLINK filesets first (plink2 --pmerge-list)")
    first = sources[0]
    for other in sources[1:]:
        if other.sample_ids != first.sample_ids:
            raise StepError(f"{other.path} has other samples (or another order) than "
                            f"{first.path}", hint="the VCFs of one study must list the same "
                                                   "samples in the same order (bcftools merge)")
    return GenotypeSource(first.path, "vcf", first.sample_ids, None, tuple(files))


def plink_prefix(path: Path) -> Path | None:
    """``x.bed``/``x.bim``/``x.fam``/``x`` -> ``x`` when the three PLINK files exist."""
    base = path.with_suffix("") if path.suffix in (".bed", ".bim", ".fam") else path
    if all(base.with_suffix(s).exists() for s in (".bed", ".bim", ".fam")):
        return base
    return None


def open_source(path: Path) -> GenotypeSource:
    prefix = plink_prefix(path)
    if prefix is not None:
        fam = pd.read_csv(prefix.with_suffix(".fam"), sep=r"\s+", header=None, dtype=str)
        bim = pd.read_csv(prefix.with_suffix(".bim"), sep=r"\s+", header=None,
                          dtype={0: str, 1: str, 3: np.int64, 4: str, 5: str})
        if fam.shape[1] < 2 or bim.shape[1] != 6:
            raise StepError(f"malformed PLINK fileset {prefix}: .fam needs >= 2 columns and "
                            f".bim 6 columns", hint="check the .bim/.fam files")
        # PLINK 2 convention: .bim column 5 is ALT (the counted allele 1), column 6 is REF.
        variants = pd.DataFrame({"CHR": bim[0], "POS": bim[3], "SNP": bim[1],
                                 "REF": bim[5], "ALT": bim[4]})
        return GenotypeSource(prefix, "plink", fam[1].tolist(), variants)
    if path.name.endswith(_VCF_SUFFIXES):
        if not path.exists():
            raise StepError(f"genotype file not found: {path}")
        from cyvcf2 import VCF

        reader = VCF(str(path), lazy=True)
        samples = list(reader.samples)
        reader.close()
        return GenotypeSource(path, "vcf", samples, None, (path,))
    raise StepError(f"cannot read genotypes from {path}",
                    hint="give a PLINK .bed (with .bim/.fam next to it) or a .vcf/.vcf.gz/.bcf")


def iter_plink(source: GenotypeSource, columns: np.ndarray, chunk: int,
               threads: int) -> Iterator[np.ndarray]:
    """Chunks (variants x selected samples, int8, -1 missing) of a PLINK .bed."""
    from bed_reader import open_bed

    assert source.variants is not None
    n_var = len(source.variants)
    with open_bed(source.path.with_suffix(".bed"), count_A1=True, num_threads=threads,
                  iid_count=len(source.sample_ids), sid_count=n_var) as bed:
        for start in range(0, n_var, chunk):
            stop = min(start + chunk, n_var)
            block = bed.read(index=np.s_[:, start:stop], dtype="int8", order="C",
                             num_threads=threads)  # samples x variants, -127 = missing
            block = np.ascontiguousarray(block[columns].T)
            block[block < 0] = MISSING
            yield block


def _records(source: GenotypeSource, threads: int) -> Iterator[Any]:
    from cyvcf2 import VCF

    for part in source.parts or (source.path,):
        reader = VCF(str(part), gts012=True, lazy=True, threads=max(1, threads))
        yield from reader
        reader.close()


def iter_vcf(source: GenotypeSource, columns: np.ndarray, chunk: int, threads: int,
             rows: list[tuple[str, int, str, str, str]], log: logging.Logger,
             min_qual: float | None = None) -> Iterator[np.ndarray]:
    """Chunks of the VCF/BCF files in turn; appends one (CHR, POS, SNP, REF, ALT) per kept
    record to ``rows``.

    Multi-allelic records are skipped (counted in the log): a 0/1/2 dosage needs one ALT.
    Records with a QUAL below ``min_qual`` are skipped too (a missing QUAL is kept).
    """
    buffer = np.empty((chunk, len(columns)), dtype=np.int8)
    filled = skipped = low_qual = 0
    for record in _records(source, threads):
        if len(record.ALT) != 1:
            skipped += 1
            continue
        quality = record.QUAL  # None when the VCF has '.'
        if min_qual is not None and quality is not None and quality < min_qual:
            low_qual += 1
            continue
        calls = record.gt_types[columns]  # gts012: 0 hom-ref, 1 het, 2 hom-alt, 3 unknown
        buffer[filled] = np.where(calls == 3, MISSING, calls)
        alt = record.ALT[0]
        snp = record.ID or f"{record.CHROM}:{record.POS}:{record.REF}:{alt}"
        rows.append((record.CHROM, record.POS, snp, record.REF, alt))
        filled += 1
        if filled == chunk:
            yield buffer.copy()
            filled = 0
    if filled:
        yield buffer[:filled].copy()
    if skipped:
        log.warning("skipped %d multi-allelic VCF records (split them with "
                    "'bcftools norm -m-' to test each ALT allele)", skipped)
    if low_qual:
        log.info("skipped %d VCF records with QUAL < %s (qc.min_qual)", low_qual, min_qual)


def write_store(source: GenotypeSource, columns: np.ndarray, dosage_path: Path,
                variants_path: Path, *, chunk: int, threads: int, tmp_dir: Path,
                log: logging.Logger, min_qual: float | None = None) -> tuple[int, int]:
    """Stream the selected sample columns into ``dosage_path`` (.npy); returns its shape."""
    n_samples = len(columns)
    if source.kind == "plink":
        assert source.variants is not None
        n_var = len(source.variants)
        out = np.lib.format.open_memmap(dosage_path, mode="w+", dtype=np.int8,
                                        shape=(n_var, n_samples))
        start = 0
        for block in iter_plink(source, columns, chunk, threads):
            out[start:start + len(block)] = block
            start += len(block)
        out.flush()
        del out
        source.variants.to_csv(variants_path, sep="\t", index=False)
        return n_var, n_samples
    # VCF: the record count is unknown until the end, so stream raw bytes, then wrap in .npy.
    rows: list[tuple[str, int, str, str, str]] = []
    raw = tmp_dir / "dosages.raw"
    with open(raw, "wb") as handle:
        for block in iter_vcf(source, columns, chunk, threads, rows, log, min_qual):
            handle.write(block.tobytes())
    n_var = len(rows)
    out = np.lib.format.open_memmap(dosage_path, mode="w+", dtype=np.int8,
                                    shape=(n_var, n_samples))
    flat = np.memmap(raw, dtype=np.int8, mode="r", shape=(n_var, n_samples)) if n_var else None
    for start in range(0, n_var, chunk):
        assert flat is not None
        out[start:start + chunk] = flat[start:start + chunk]
    out.flush()
    del out, flat
    raw.unlink()
    pd.DataFrame(rows, columns=VARIANT_COLUMNS).to_csv(variants_path, sep="\t", index=False)
    return n_var, n_samples


# ---- reading the store back -------------------------------------------------------------


def open_dosages(path: Path) -> np.ndarray:
    """The dosage matrix as a read-only memory map (variants x samples, int8)."""
    try:
        matrix = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise StepError(f"cannot open dosage matrix {path}: {exc}",
                        hint="produce it with gwas.load") from exc
    if matrix.dtype != np.int8 or matrix.ndim != 2:
        raise StepError(f"{path} is not an int8 variants x samples matrix")
    return matrix


def read_variants(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"CHR": str, "SNP": str, "REF": str, "ALT": str})


def read_index(path: Path) -> np.ndarray:
    """Row indices from a kept-variants / kept-samples / pruned table (column ``index``)."""
    table = pd.read_csv(path, sep="\t")
    if "index" not in table.columns:
        raise StepError(f"{path} has no 'index' column", hint="produce it with gwas.qc")
    return table["index"].to_numpy(dtype=np.int64)


def read_rows(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
    """``matrix[rows][:, cols]`` for a block, reading contiguous runs of the memory map."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        block = np.asarray(matrix[rows[0]:rows[-1] + 1])
    else:
        block = np.asarray(matrix[rows])
    if cols is not None and len(cols) != matrix.shape[1]:
        block = block[:, cols]
    return block


def iter_blocks(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray | None,
                size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row indices, int8 block) over ``rows`` in blocks of ``size`` variants."""
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        yield chunk, read_rows(matrix, chunk, cols)
