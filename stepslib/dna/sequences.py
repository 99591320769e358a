"""Sequence steps of specs/dna/phylo.yaml: length filter, composition (seqkit), MSA (mafft)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, require_tool, single_path, step
from stepslib.dna._tools import capture, result


def read_fasta(path: Path) -> dict[str, str]:
    """Name (first word of the header) -> sequence, upper case, in file order."""
    records: dict[str, list[str]] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0] if line[1:].split() else ""
            if not name or name in records:
                raise StepError(f"{path}: empty or repeated sequence name '{name}'")
            records[name] = []
        elif name is not None:
            records[name].append(line.strip().upper())
        elif line.strip():
            raise StepError(f"{path} is not FASTA (no '>' header before the first sequence)")
    return {n: "".join(parts) for n, parts in records.items()}


def write_fasta(records: dict[str, str], path: Path) -> None:
    path.write_text("".join(f">{n}\n" + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60))
                            for n, s in records.items()))


@step(
    "dna.filter",
    version="1",
    tools=["seqkit"],
    params={"properties": {"min_length": {"type": "integer", "minimum": 0, "default": 0,
                                          "description": "drop sequences shorter than this"}}},
    inputs={"fasta": "sequences (FASTA, aligned or not)"},
    outputs={"fasta": {"description": "the sequences at least min_length long",
                       "suffixes": [".fa", ".fasta", ".fna"]}},
)
def length_filter(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                  context: StepContext) -> dict[str, Any]:
    """``seqkit seq -m min_length`` (MetaInformAnt's ``--min-length``; gaps count as length)."""
    seqkit = require_tool("seqkit")
    source, target = single_path(inputs, "fasta"), single_path(outputs, "fasta", output=True)
    n_in = len(read_fasta(source))
    context.run([seqkit, "seq", "-m", str(config["min_length"]), "-w", "60", source], stdout=target)
    kept = read_fasta(target)
    if len(kept) < 3:
        raise StepError(f"{len(kept)} of {n_in} sequences are at least {config['min_length']} long; "
                        "a tree needs 3 or more", hint="lower min_length")
    return result({"n_sequences": n_in, "n_kept": len(kept), "min_length": config["min_length"]})


@step(
    "dna.composition",
    version="1",
    tools=["seqkit"],
    inputs={"fasta": "sequences"},
    outputs={"table": {"description": "name, length, GC (%)", "suffixes": [".tsv"]},
             "json": {"description": "composition_analysis.json", "suffixes": [".json"]}},
)
def composition(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
                context: StepContext) -> dict[str, Any]:
    """``seqkit fx2tab -n -i -l -g -B ACGT``: length and GC per sequence (gaps removed first)."""
    import pandas as pd

    seqkit = require_tool("seqkit")
    source = single_path(inputs, "fasta")
    ungapped = Path(context.tmp_dir) / "ungapped.fa"
    context.run([seqkit, "seq", "-g", source], stdout=ungapped)
    text = capture(context, [seqkit, "fx2tab", "-n", "-i", "-l", "-g", "-H", ungapped])
    rows = [line.rstrip("\t").split("\t") for line in text.splitlines()[1:] if line]
    table = pd.DataFrame(rows, columns=["name", "length", "gc_percent"]).astype(
        {"length": int, "gc_percent": float})
    table.to_csv(single_path(outputs, "table", output=True), sep="\t", index=False)
    total = int(table["length"].sum())
    gc_overall = float((table["gc_percent"] * table["length"]).sum() / total) if total else 0.0
    document = {"n_sequences": len(table), "total_length": total,
                "mean_length": float(table["length"].mean()),
                "min_length": int(table["length"].min()), "max_length": int(table["length"].max()),
                "gc_percent_overall": round(gc_overall, 4),
                "sequences": table.to_dict(orient="records")}
    single_path(outputs, "json", output=True).write_text(json.dumps(document, indent=2) + "\n")
    return result({k: v for k, v in document.items() if k != "sequences"})


@step(
    "dna.msa",
    version="1",
    tools=["mafft"],
    params={"properties": {"method": {
        "enum": ["mafft", "none"], "default": "mafft",
        "description": "mafft --auto, or none: the input is already aligned (equal lengths)"}}},
    inputs={"fasta": "sequences"},
    outputs={"alignment": {"description": "aligned FASTA", "suffixes": [".fa", ".fasta", ".fna"]}},
)
def msa(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
        context: StepContext) -> dict[str, Any]:
    """Multiple sequence alignment with mafft (``--auto``), or an alignment passed through."""
    source, target = single_path(inputs, "fasta"), single_path(outputs, "alignment", output=True)
    if config["method"] == "mafft":
        mafft = require_tool("mafft")
        context.run([mafft, "--auto", "--thread", str(max(1, context.threads)), source],
                    stdout=target)
    records = read_fasta(target if config["method"] == "mafft" else source)
    lengths = {len(s) for s in records.values()}
    if len(lengths) != 1:
        raise StepError(f"the sequences of {source} have different lengths {sorted(lengths)[:5]}: "
                        "not an alignment", hint="set msa_method: mafft to align them")
    write_fasta(records, target)
    width = lengths.pop()
    gapped = sum(1 for i in range(width) if any(s[i] not in "ACGT" for s in records.values()))
    return result({"n_sequences": len(records), "alignment_length": width,
                   "columns_with_gap_or_ambiguity": gapped}, method=config["method"])
