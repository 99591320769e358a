#!/usr/bin/env python3
"""Make the bundled RNA-seq example data (deterministic: fixed seed, numpy only).

Two made-up species, each with a random transcriptome and simulated reads:

* ``Demo alpha``: 40 transcripts; tissues brain and muscle x BioProjects PRJDEMO01/02 x 3 runs
  (PRVA01-12, paired 2x75 bp, fragments ~N(200, 20)). Transcripts 1-6 are 6x up in brain,
  7-12 6x up in muscle. **PRVA03 is labelled brain but was simulated as muscle** (a swapped
  label that curation must remove). PRVA13 has only 400 pairs (``select`` drops it as
  low_nspots with ``min_nspots: 1000``).
* ``Demo beta``: 36 transcripts (28 one-to-one orthologs of alpha 1-28, two duplicated
  orthologs of alpha 29-30, four species-specific); PRVB01-04 in PRJDEMO03, brain/muscle x 2;
  PRVB04 is single-end. The same ortholog families carry the tissue signal.

Writes ``fasta/<Genus_species>.fa``, ``fastq/<Genus_species>/<RUN>[_1|_2].fastq.gz``,
``sample_sheet.tsv``, ``Orthogroups.tsv`` (OrthoFinder layout) and ``truth.tsv`` (per run and
transcript: simulated fragments and true TPM). Run: ``python examples/rna/make_example_data.py``.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240611
READ_LEN = 75
FRAG_MEAN, FRAG_SD = 200, 20
PAIRS = 5000
FOLD = 6.0
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def random_transcripts(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [rng.integers(0, 4, size=int(rng.integers(600, 2001))) for _ in range(n)]


def mutate(rng: np.random.Generator, seq: np.ndarray, rate: float) -> np.ndarray:
    out = seq.copy()
    hit = rng.random(len(out)) < rate
    out[hit] = (out[hit] + rng.integers(1, 4, size=int(hit.sum()))) % 4
    return out


def write_fasta(path: Path, names: list[str], seqs: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for name, seq in zip(names, seqs):
            text = _BASES[seq].tobytes().decode()
            handle.write(f">{name}\n")
            for i in range(0, len(text), 70):
                handle.write(text[i:i + 70] + "\n")


def gzip_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=9) as handle:
        handle.write(data)


def fastq(run: str, mate: str, reads: np.ndarray) -> bytes:
    buf = io.BytesIO()
    qual = b"I" * reads.shape[1]
    seqs = _BASES[reads]
    for i in range(reads.shape[0]):
        buf.write(b"@%s.%d/%s\n%s\n+\n%s\n" % (run.encode(), i + 1, mate.encode(),
                                               seqs[i].tobytes(), qual))
    return buf.getvalue()


def simulate_run(rng: np.random.Generator, seqs: list[np.ndarray], expr: np.ndarray,
                 pairs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(read1, read2, fragments per transcript, true tpm); reads as base-index arrays."""
    lengths = np.array([len(s) for s in seqs])
    eff = lengths - FRAG_MEAN + 1
    weight = expr * eff
    counts = rng.multinomial(pairs, weight / weight.sum())
    tx = np.repeat(np.arange(len(seqs)), counts)
    rng.shuffle(tx)
    frag = np.clip(np.rint(rng.normal(FRAG_MEAN, FRAG_SD, pairs)), 140, 280).astype(int)
    frag = np.minimum(frag, lengths[tx])
    start = (rng.random(pairs) * (lengths[tx] - frag + 1)).astype(int)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    genome = np.concatenate(seqs)
    steps = np.arange(READ_LEN)
    left = genome[(offsets[tx] + start)[:, None] + steps]
    right_pos = (offsets[tx] + start + frag - READ_LEN)[:, None] + steps
    right = (3 - genome[right_pos])[:, ::-1]  # reverse complement (A<->T is 0<->3, C<->G 1<->2)
    flip = rng.random(pairs) < 0.5
    read1 = np.where(flip[:, None], right, left)
    read2 = np.where(flip[:, None], left, right)
    tpm = expr / expr.sum() * 1e6
    return read1, read2, counts, tpm


def expression(rng: np.random.Generator, base: np.ndarray, up: dict[str, list[int]],
               tissue: str, project_effect: np.ndarray) -> np.ndarray:
    expr = base.copy()
    expr[up[tissue]] *= FOLD
    return expr * project_effect * np.exp(rng.normal(0, 0.1, len(base)))


def main() -> None:
    rng = np.random.default_rng(SEED)
    alpha = random_transcripts(rng, 40)
    alpha_ids = [f"Dalp_t{i + 1:03d}" for i in range(40)]
    beta = [mutate(rng, alpha[i], 0.08) for i in range(28)]
    beta_ids = [f"Dbet_t{i + 1:03d}" for i in range(28)]
    for i in (28, 29):  # two duplicated orthologs in beta
        for copy in "ab":
            beta.append(mutate(rng, alpha[i], 0.1))
            beta_ids.append(f"Dbet_t{i + 1:03d}{copy}")
    beta += random_transcripts(rng, 4)
    beta_ids += [f"Dbet_s{i + 1:03d}" for i in range(4)]
    write_fasta(HERE / "fasta" / "Demo_alpha.fa", alpha_ids, alpha)
    write_fasta(HERE / "fasta" / "Demo_beta.fa", beta_ids, beta)

    orthogroups = ["Orthogroup\tDemo_alpha\tDemo_beta"]
    for i in range(28):
        orthogroups.append(f"OG{i:07d}\t{alpha_ids[i]}\t{beta_ids[i]}")
    for n, i in enumerate((28, 29)):
        copies = ", ".join(beta_ids[28 + 2 * n: 30 + 2 * n])
        orthogroups.append(f"OG{i:07d}\t{alpha_ids[i]}\t{copies}")
    for i in range(30, 40):
        orthogroups.append(f"OG{i:07d}\t{alpha_ids[i]}\t")
    for j in range(4):
        orthogroups.append(f"OG{40 + j:07d}\t\t{beta_ids[32 + j]}")
    (HERE / "Orthogroups.tsv").write_text("\n".join(orthogroups) + "\n")

    base_alpha = np.exp(rng.normal(0, 1.0, 40))
    up_alpha = {"brain": list(range(0, 6)), "muscle": list(range(6, 12))}
    # beta: ortholog families share alpha's base level and tissue signal
    family = [*range(28), 28, 28, 29, 29]
    base_beta = np.concatenate([base_alpha[family] * np.exp(rng.normal(0, 0.3, 32)),
                                np.exp(rng.normal(0, 1.0, 4))])
    up_beta = {t: [k for k, f in enumerate(family) if f in idx] for t, idx in up_alpha.items()}

    runs = []  # (species, run, label, simulated tissue, bioproject, pairs, layout)
    number = 0
    for project in ("PRJDEMO01", "PRJDEMO02"):
        for tissue in ("brain", "muscle"):
            for _ in range(3):
                number += 1
                run = f"PRVA{number:02d}"
                simulated = "muscle" if run == "PRVA03" else tissue
                runs.append(("Demo_alpha", run, tissue, simulated, project, PAIRS, "paired"))
    runs.append(("Demo_alpha", "PRVA13", "brain", "brain", "PRJDEMO02", 400, "paired"))
    for k, tissue in enumerate(("brain", "brain", "muscle", "muscle")):
        layout = "single" if k == 3 else "paired"
        runs.append(("Demo_beta", f"PRVB{k + 1:02d}", tissue, tissue, "PRJDEMO03", PAIRS, layout))

    project_effects = {p: np.exp(rng.normal(0, 0.15, n)) for p, n in
                       (("PRJDEMO01", 40), ("PRJDEMO02", 40), ("PRJDEMO03", 36))}
    sheet = ["run\tscientific_name\tsample_group\ttissue\tbioproject\tbiosample\tsample_title"]
    truth = ["scientific_name\trun\tsimulated_tissue\ttarget_id\ttrue_fragments\ttrue_tpm"]
    for n, (species, run, label, simulated, project, pairs, layout) in enumerate(runs):
        seqs, ids, base, up = ((alpha, alpha_ids, base_alpha, up_alpha)
                               if species == "Demo_alpha" else (beta, beta_ids, base_beta, up_beta))
        expr = expression(rng, base, up, simulated, project_effects[project])
        read1, read2, counts, tpm = simulate_run(rng, seqs, expr, pairs)
        folder = HERE / "fastq" / species
        if layout == "paired":
            gzip_bytes(folder / f"{run}_1.fastq.gz", fastq(run, "1", read1))
            gzip_bytes(folder / f"{run}_2.fastq.gz", fastq(run, "2", read2))
        else:
            gzip_bytes(folder / f"{run}.fastq.gz", fastq(run, "1", read1))
        name = species.replace("_", " ")
        sheet.append(f"{run}\t{name}\t{label}\t{label}\t{project}\tSAMDEMO{n + 1:04d}\t"
                     f"{name} {label} replicate {run}")
        truth += [f"{name}\t{run}\t{simulated}\t{t}\t{c}\t{v:.4f}"
                  for t, c, v in zip(ids, counts, tpm)]
    (HERE / "sample_sheet.tsv").write_text("\n".join(sheet) + "\n")
    (HERE / "truth.tsv").write_text("\n".join(truth) + "\n")


if __name__ == "__main__":
    main()
