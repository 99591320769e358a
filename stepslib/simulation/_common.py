"""Shared pieces of the simulation steps: lazy imports with a clear hint, tree-sequence I/O,
sample naming, seeds, the result standard."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepError

if TYPE_CHECKING:
    import tskit

# MetaInformAnt's seed default (``--seed 42``); every random draw of a step derives from it.
DEFAULT_SEED = 42
SEED_PARAM = {"type": "integer", "minimum": 1, "maximum": 2**32 - 1, "default": DEFAULT_SEED,
              "description": "Random seed (msprime needs 1 <= seed < 2^32); same seed, same bytes."}

# Offsets keep the draws of different steps independent while one `seed` drives them all.
SEED_OFFSET = {"ancestry": 0, "mutations": 1, "reference": 2, "phenotype": 3, "reads": 4}

_PIP_HINT = {
    "msprime": "pip install msprime (a dependency of mi-run: reinstall it, or run make dev)",
    "tskit": "pip install tskit (it comes with msprime)",
    "demes": "pip install demes (it comes with msprime)",
    "stdpopsim": "pip install 'metainformant-flow[sim]' or pip install stdpopsim (catalogue "
                 "models; no recombination maps are used)",
}


def need(module: str) -> Any:
    """Import a Python library a step needs, or fail saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise StepError(f"the Python library '{module}' is not installed",
                        hint=_PIP_HINT.get(module, f"pip install {module}")) from None


def load_trees(path: Path) -> tskit.TreeSequence:
    tskit = need("tskit")
    try:
        return tskit.load(str(path))
    except (tskit.FileFormatError, OSError) as exc:
        raise StepError(f"cannot read tree sequence '{path}': {exc}",
                        hint="give the .trees written by sim.ancestry or sim.mutations") from None


def dump_trees(ts: tskit.TreeSequence, path: Path) -> None:
    """Write ``ts`` so that a rerun is byte-identical: msprime stamps the wall-clock time in
    the provenance (fixed here; parameters and versions are kept) and tskit writes a random
    file UUID (replaced by one derived from the file's other bytes)."""
    import hashlib
    import uuid

    tskit = need("tskit")
    tables = ts.dump_tables()
    records = [(row.record) for row in tables.provenances]
    tables.provenances.clear()
    for record in records:
        tables.provenances.add_row(record=record, timestamp="1970-01-01T00:00:00")
    tables.tree_sequence().dump(str(path))
    data = Path(path).read_bytes()
    random_id = tskit.load(str(path)).file_uuid.encode()
    if data.count(random_id) == 1:
        rest = data.replace(random_id, b"")
        fixed = str(uuid.uuid5(uuid.NAMESPACE_OID, hashlib.sha256(rest).hexdigest())).encode()
        Path(path).write_bytes(data.replace(random_id, fixed))


def individual_names(ts: tskit.TreeSequence) -> list[str]:
    """``<population>_<k>`` per individual, k counting from 1 within each population."""
    counts: dict[str, int] = {}
    names = []
    for ind in ts.individuals():
        pop = population_name(ts, int(ts.node(ind.nodes[0]).population))
        counts[pop] = counts.get(pop, 0) + 1
        names.append(f"{pop}_{counts[pop]:04d}")
    return names


def population_name(ts: tskit.TreeSequence, index: int) -> str:
    meta = ts.population(index).metadata
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name) if name else f"pop{index}"


def sampled_populations(ts: tskit.TreeSequence) -> dict[str, Any]:
    """Population name -> sample node ids, for the populations that have samples."""
    import numpy as np

    groups: dict[str, Any] = {}
    for index in range(ts.num_populations):
        nodes = ts.samples(population=index)
        if len(nodes):
            groups[population_name(ts, index)] = np.asarray(nodes)
    return groups


def completed(output: dict[str, Any], warnings: list[str] | None = None,
              **metadata: Any) -> dict[str, Any]:
    """The seed's step-result standard."""
    return {"status": "completed", "output": output, "warnings": warnings or [],
            "metadata": metadata}
