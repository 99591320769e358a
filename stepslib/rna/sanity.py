"""rna.sanity: which runs lack reads or quant output, which species lack an index.

Like ``amalgkit sanity --all``: checks ``<out_dir>/getfastq/<RUN>/`` (private runs: their
``read1_path``/``read2_path`` count too), ``<out_dir>/index/<Genus_species>*.idx`` and
``<out_dir>/quant/<RUN>/<RUN>_abundance.tsv``, writes amalgkit's lists
(``SRA_IDs_without_fastq.txt``, ``species_without_index.txt``, ``SRA_IDs_without_quant.txt``)
next to the report TSV, and warns about what is missing. Duplicate run ids are an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, single_path, step

CHECKS = ("getfastq", "index", "quant")


def has_fastq(row: dict[str, str], getfastq_dir: Path) -> bool:
    run = row["run"]
    folder = getfastq_dir / run
    if folder.is_dir() and any(p.name.startswith(run) and ".fastq" in p.name
                               for p in folder.iterdir()):
        return True
    paths = [row.get(k, "") for k in ("read1_path", "read2_path")]
    paths = [p for p in paths if p]
    return bool(paths) and all(Path(p).exists() for p in paths)


def has_index(species: str, index_dir: Path) -> bool:
    return index_dir.is_dir() and any(index_dir.glob(f"{species}*.idx"))


def has_quant(run: str, quant_dir: Path) -> bool:
    return (quant_dir / run / f"{run}_abundance.tsv").exists()


def _dir(config: dict[str, Any], key: str, out_dir: Path) -> Path:
    return Path(config[f"{key}_dir"]) if config[f"{key}_dir"] else out_dir / key


@step(
    "rna.sanity",
    inputs={
        "metadata": "the runs that should be there",
    },
    outputs={
        "report": "TSV: run, scientific_name, has_fastq, has_index, has_quant",
    },
    version="1",
    params={
        "properties": {
            "out_dir": {"type": "string",
                        "description": "amalgkit work directory holding getfastq/, index/ and "
                                       "quant/."},
            "check": {"type": "array", "items": {"type": "string", "enum": list(CHECKS)},
                      "default": list(CHECKS),
                      "description": "What to check (amalgkit --getfastq --index --quant)."},
            "getfastq_dir": {"type": ["string", "null"], "default": None,
                             "description": "Override of <out_dir>/getfastq."},
            "index_dir": {"type": ["string", "null"], "default": None,
                          "description": "Override of <out_dir>/index."},
            "quant_dir": {"type": ["string", "null"], "default": None,
                          "description": "Override of <out_dir>/quant."},
            "fail_on_missing": {"type": "boolean", "default": False,
                                "description": "Fail the step (instead of warning) when "
                                               "anything is missing."},
        },
        "required": ["out_dir"],
    },
)
def sanity(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Input 'metadata' (the runs that should be there); output 'report' (TSV: run,
    scientific_name, has_fastq, has_index, has_quant) plus amalgkit's text lists beside it."""
    from stepslib.rna.metadata_io import duplicated_runs, read_metadata, species_dir_name

    meta = read_metadata(single_path(inputs, "metadata"))
    dupes = duplicated_runs(meta)
    if dupes:
        raise StepError(f"duplicate run ids in the metadata: {', '.join(dupes[:10])}",
                        hint="every run must appear once; remove the duplicate rows")
    out_dir = Path(config["out_dir"])
    checks = set(config["check"])
    dirs = {key: _dir(config, key, out_dir) for key in CHECKS}
    lines = ["run\tscientific_name\thas_fastq\thas_index\thas_quant"]
    missing: dict[str, list[str]] = {key: [] for key in CHECKS}
    species_seen: dict[str, bool] = {}
    for row in meta.to_dict("records"):
        species = species_dir_name(row["scientific_name"]) if row.get("scientific_name") else ""
        flags = {}
        if "getfastq" in checks:
            flags["getfastq"] = has_fastq(row, dirs["getfastq"])
        if "index" in checks:
            if species not in species_seen:
                species_seen[species] = bool(species) and has_index(species, dirs["index"])
            flags["index"] = species_seen[species]
        if "quant" in checks:
            flags["quant"] = has_quant(row["run"], dirs["quant"])
        for key, ok in flags.items():
            if not ok and key != "index":
                missing[key].append(row["run"])
        cells = [("yes" if flags[k] else "no") if k in flags else "" for k in CHECKS]
        lines.append("\t".join([row["run"], row.get("scientific_name", ""), *cells]))
    missing["index"] = sorted(s or "(no scientific_name)" for s, ok in species_seen.items()
                              if not ok)
    report = single_path(outputs, "report", output=True)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines) + "\n")
    names = {"getfastq": "SRA_IDs_without_fastq.txt", "index": "species_without_index.txt",
             "quant": "SRA_IDs_without_quant.txt"}
    warnings = []
    for key in CHECKS:
        if key not in checks:
            continue
        (report.parent / names[key]).write_text("".join(f"{x}\n" for x in missing[key]))
        if missing[key]:
            what = "species without index" if key == "index" else f"runs without {key} output"
            warnings.append(f"{len(missing[key])} {what}: {', '.join(missing[key][:10])}")
    for warning in warnings:
        context.log.warning(warning)
    if warnings and config["fail_on_missing"]:
        raise StepError("; ".join(warnings), hint=f"see {report}")
    return {"status": "completed", "warnings": warnings,
            "metadata": {key: len(missing[key]) for key in CHECKS if key in checks}}
