"""``epigenome.load`` (count files -> CpG x sample store) and ``epigenome.bedgraph`` (a
bedGraph track summarised, as MetaInformAnt's ``--bedgraph``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, path_list, single_path, step
from stepslib.epigenome import formats, store


@step(
    "epigenome.load",
    version="1",
    params={"properties": {
        "group": {"type": "string", "default": "all",
                  "description": "Group of samples given as 'methylation' tables (no sheet)."},
    }},
    inputs={
        "sheet": {"description": "sample sheet TSV: sample, group, path [, format]",
                  "required": False},
        "data": {"description": "folder(s) holding the sheet's files: watched so that a "
                                "changed count file reruns load", "required": False},
        "methylation": {"description": "MetaInformAnt CpG table(s) 'chrom pos methylated "
                                       "unmethylated', one sample each", "required": False},
    },
    outputs={"counts": "CpG x sample store (TSV.gz: chrom, pos, M:<s>, N:<s>)",
             "samples": "sample, group, format, CpGs and reads per sample"},
)
def load(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Read one count file per sample (Bismark .cov/.cov.gz, Bismark CpG report, DSS
    ``chr pos N X`` or MetaInformAnt's CpG table) into one CpG x sample store."""
    import pandas as pd

    sheet_path = optional_path(inputs, "sheet")
    tables = path_list(inputs.get("methylation"))
    if sheet_path is not None:
        sheet = formats.read_sample_sheet(sheet_path)
    elif tables:
        sheet = pd.DataFrame({"sample": [p.name.split(".")[0] for p in tables],
                              "group": config["group"], "path": [str(p) for p in tables],
                              "format": "auto"})
    else:
        raise StepError("no input: give a sample sheet (samples) or a CpG table (methylation)",
                        hint="--set samples=sheet.tsv or --set methylation=cpgs.tsv")
    watched = [p.resolve() for p in path_list(inputs.get("data"))]
    unwatched = [p for p in sheet["path"] if sheet_path is not None and not any(
        Path(p).resolve().is_relative_to(w) for w in watched)]
    warnings = [f"{len(unwatched)} count file(s) outside data_dir ({unwatched[0]}): a change to "
                "them does not rerun load; set data_dir to their folder"] if unwatched else []
    for warning in warnings:
        context.log.warning(warning)
    per_sample: dict[str, Any] = {}
    formats_used = []
    for row in sheet.itertuples(index=False):
        fmt = formats.detect_format(Path(row.path)) if row.format in ("", "auto") else row.format
        per_sample[row.sample] = formats.read_counts(Path(row.path), fmt)
        formats_used.append(fmt)
        context.log.info("%s (%s): %d CpGs from %s", row.sample, fmt, len(per_sample[row.sample]),
                         row.path)
    counts = store.merge_samples(per_sample)
    store.write_counts(counts, single_path(outputs, "counts", output=True))
    info = sheet.assign(format=formats_used, cpgs=(counts.n > 0).sum(axis=0),
                        reads=counts.n.sum(axis=0).astype(int),
                        mean_coverage=counts.n.mean(axis=0).round(3))
    info.to_csv(single_path(outputs, "samples", output=True), sep="\t", index=False)
    return {"status": "completed",
            "output": {"samples": len(sheet), "groups": sorted(set(sheet["group"])),
                       "cpgs": len(counts.pos), "chromosomes": len(set(counts.chrom))},
            "warnings": warnings, "metadata": {"formats": sorted(set(formats_used))}}


@step(
    "epigenome.bedgraph",
    version="1",
    inputs={"bedgraph": "bedGraph track(s): chrom, start, end, value"},
    outputs={"summary": "JSON: per track n_regions, chromosomes, mean value (.json)"},
)
def bedgraph(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
             context: StepContext) -> dict[str, Any]:
    """Summarise bedGraph tracks as MetaInformAnt's ``bedgraph_analysis.json`` does. A bedGraph
    holds values, not read counts, so it never enters the count store (MetaInformAnt makes up
    coverage from β there)."""
    tracks = {}
    for path in path_list(inputs.get("bedgraph")):
        table = formats.read_bedgraph(path)
        tracks[path.name] = {
            "n_regions": len(table), "chromosomes": sorted(set(table["chrom"])),
            "mean_value": float(table["value"].mean()) if len(table) else None,
            "covered_bp": int((table["end"] - table["start"]).sum())}
    out = single_path(outputs, "summary", output=True)
    out.write_text(json.dumps(tracks, indent=2) + "\n")
    return {"status": "completed", "output": {"tracks": len(tracks),
            "regions": sum(t["n_regions"] for t in tracks.values())},
            "warnings": [], "metadata": {}}
