"""rna.merge: per-run kallisto tables -> one wide table per species and quantity.

Like ``amalgkit merge``: ``merge/<Sp>/<Sp>_{est_counts,tpm,eff_length}.tsv`` (``target_id`` then
one column per run, in metadata order) and ``merge/metadata.tsv`` with ``mapping_rate`` =
kallisto's ``p_pseudoaligned`` (a percent, 0-100; empty for runs without quant). The species
tables go next to the metadata output, whatever is declared; declared table outputs are checked.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, path_list, single_path, step

QUANTITIES = ("est_counts", "tpm", "eff_length")
_ABUNDANCE = re.compile(r"^(?P<run>.+)_abundance\.tsv$")
_RUN_INFO = re.compile(r"^(?P<run>.+)_run_info\.json$")


def _by_run(paths: list[Path], pattern: re.Pattern[str], what: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        match = pattern.match(path.name)
        # kallisto's own names (quant/<RUN>/abundance.tsv) name the run by their folder
        run = match.group("run") if match else path.parent.name
        if run in found:
            raise StepError(f"two {what} files for run '{run}': {found[run]} and {path}")
        found[run] = path
    return found


@step(
    "rna.merge",
    inputs={
        "metadata": "the selected runs",
        "abundance": {"description": "rna.quant's abundance files", "required": False},
        "run_info": {"description": "rna.quant's run_info files", "required": False},
    },
    outputs={
        "metadata": "merge/metadata.tsv (tables go next to it)",
        "est_counts": {"description": "<species>/<species>_est_counts.tsv, to check it is written",
                       "required": False},
        "tpm": {"description": "<species>/<species>_tpm.tsv, to check it is written",
                "required": False},
        "eff_length": {"description": "<species>/<species>_eff_length.tsv, to check it is written",
                       "required": False},
    },
    version="1",
    params={
        "properties": {
            "missing_quant": {
                "type": "string", "enum": ["warn", "error"], "default": "warn",
                "description": "A selected run without quant output: 'warn' leaves it out of the "
                               "tables (mapping_rate empty), 'error' fails the step.",
            },
        },
    },
)
def merge(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """Inputs 'abundance' (list of <RUN>_abundance.tsv), 'run_info' (list of
    <RUN>_run_info.json), 'metadata' (selected rows). Output 'metadata' (merge/metadata.tsv);
    optional 'est_counts', 'tpm', 'eff_length' (paths the step must produce)."""
    import pandas as pd

    from stepslib.rna.metadata_io import read_metadata, species_dir_name, write_metadata

    meta = read_metadata(single_path(inputs, "metadata"))
    if meta["run"].duplicated().any():
        raise StepError("the metadata lists a run more than once: "
                        + ", ".join(sorted(set(meta.loc[meta['run'].duplicated(), 'run']))))
    abundance = _by_run(path_list(inputs.get("abundance")), _ABUNDANCE, "abundance")
    run_info = _by_run(path_list(inputs.get("run_info")), _RUN_INFO, "run_info")
    unknown = sorted(set(abundance) - set(meta["run"]))
    if unknown:
        raise StepError(f"quant output for runs not in the metadata: {', '.join(unknown[:10])}")
    missing = [r for r in meta["run"] if r not in abundance]
    warnings = []
    if missing:
        message = f"{len(missing)} run(s) have no quant output: {', '.join(missing[:10])}"
        if config["missing_quant"] == "error":
            raise StepError(message)
        warnings.append(message)
    out_meta = single_path(outputs, "metadata", output=True)
    out_dir = out_meta.parent
    rates = []
    for run in meta["run"]:
        info_path = run_info.get(run)
        if run in abundance and info_path is None:
            raise StepError(f"run '{run}' has an abundance table but no run_info.json")
        rate = json.loads(info_path.read_text()).get("p_pseudoaligned") if info_path else None
        rates.append("" if rate is None else f"{float(rate):g}")
    meta = meta.copy()
    meta["mapping_rate"] = rates
    written: list[Path] = []
    species_of = {r: species_dir_name(s) if s else "" for r, s in
                  zip(meta["run"], meta.get("scientific_name", [""] * len(meta)))}
    if any(not species_of[r] for r in abundance):
        raise StepError("runs with quant output but no scientific_name in the metadata: "
                        + ", ".join(r for r in abundance if not species_of[r]))
    for species in dict.fromkeys(species_of[r] for r in meta["run"] if r in abundance):
        runs = [r for r in meta["run"] if r in abundance and species_of[r] == species]
        columns: dict[str, dict[str, Any]] = {q: {} for q in QUANTITIES}
        targets = None
        for run in runs:
            table = pd.read_csv(abundance[run], sep="\t", dtype={"target_id": str})
            absent = [c for c in ("target_id", *QUANTITIES) if c not in table.columns]
            if absent:
                raise StepError(f"{abundance[run]} is not a kallisto abundance table "
                                f"(no column {absent[0]})")
            if targets is None:
                targets = table["target_id"]
            elif not table["target_id"].equals(targets):
                raise StepError(f"run '{run}' was quantified against other transcripts than "
                                f"run '{runs[0]}' of {species}", hint="use one index per species")
            for quantity in QUANTITIES:
                columns[quantity][run] = table[quantity].to_numpy()
        for quantity in QUANTITIES:
            wide = pd.DataFrame({"target_id": targets, **columns[quantity]})
            path = out_dir / species / f"{species}_{quantity}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            wide.to_csv(path, sep="\t", index=False)
            written.append(path)
        context.log.info("%s: %d runs x %d transcripts", species, len(runs),
                         0 if targets is None else len(targets))
    write_metadata(meta, out_meta)
    have = {os.path.abspath(p) for p in written}
    for key in QUANTITIES:
        for path in path_list(outputs.get(key)):
            if os.path.abspath(path) not in have:
                raise StepError(f"output '{key}' {path} was not produced; merge wrote: "
                                + ", ".join(str(p) for p in written[:6]),
                                hint="tables go to <dir of metadata output>/<Genus_species>/")
    return {"status": "completed", "warnings": warnings,
            "metadata": {"runs": len(abundance), "species": len(written) // 3}}
