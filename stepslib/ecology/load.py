"""``ecology.load``: a TSV/CSV/BIOM community table into a sites x species count table.

MetaInformAnt's script reads columns as sites and its library reads rows as sites; here the
orientation is explicit. ``auto`` matches the table's labels against the group file's sites
(or, without groups, against the tree's tips, which are species) and stops when neither
decides it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.ecology.common import completed, need_skbio, write_table

PARAMS = {
    "properties": {
        "orientation": {"enum": ["auto", "sites_by_species", "species_by_sites"],
                        "default": "auto",
                        "description": "Rows are sites (sites_by_species) or species "
                                       "(species_by_sites); auto decides from the group file "
                                       "(or the tree) and fails when it cannot. BIOM tables "
                                       "are always species (observations) x sites."},
        "group_column": {"type": ["string", "null"], "default": None,
                         "description": "Column of the groups table holding the group; default "
                                        "'group', else its second column."},
        "drop_empty_species": {"type": "boolean", "default": True,
                               "description": "Drop species never observed in any site."},
    },
}


def read_any_table(path: Path) -> Any:
    """A TSV/CSV (first column: labels) or BIOM file as a DataFrame; BIOM gives species x sites."""
    import pandas as pd

    name = path.name.lower()
    if name.endswith(".biom"):
        try:
            import biom
        except ImportError as exc:
            raise StepError("reading BIOM needs biom-format", hint="pip install 'biom-format>=2.1' "
                            "(make dev installs it)") from exc
        table = biom.load_table(str(path))
        return table.to_dataframe(dense=True)
    sep = "," if name.endswith(".csv") or name.endswith(".csv.gz") else "\t"
    try:
        frame = pd.read_csv(path, sep=sep, index_col=0, skiprows=_comment_lines(path))
    except (ValueError, pd.errors.ParserError) as exc:
        raise StepError(f"{path}: cannot read as a {'CSV' if sep == ',' else 'TSV'} table: {exc}",
                        hint="the first column holds labels, the others numbers") from exc
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    return frame


def _comment_lines(path: Path) -> int:
    """Leading '# ...' lines (``biom convert --to-tsv`` writes '# Constructed from biom file'
    above its '#OTU ID' header), skipped."""
    import gzip

    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    skipped = 0
    with opener(path, "rt") as handle:
        for line in handle:
            if not line.startswith("# "):
                break
            skipped += 1
    return skipped


def _orient(raw: Any, orientation: str, is_biom: bool, group_sites: set[str] | None,
            tips: set[str] | None, path: Path) -> tuple[Any, str]:
    if is_biom:
        return raw.T, "species_by_sites (BIOM: observations x samples)"
    if orientation == "sites_by_species":
        return raw, orientation
    if orientation == "species_by_sites":
        return raw.T, orientation
    rows, cols = set(raw.index), set(raw.columns)
    for known, labels_are in ((group_sites, "sites"), (tips, "species")):
        if not known:
            continue
        in_rows, in_cols = len(rows & known), len(cols & known)
        if in_rows != in_cols:
            sites_in_rows = (in_rows > in_cols) == (labels_are == "sites")
            return ((raw, "sites_by_species (auto)") if sites_in_rows
                    else (raw.T, "species_by_sites (auto)"))
    raise StepError(
        f"{path}: cannot tell whether rows are sites or species (orientation: auto): "
        + ("no groups file or tree to match its labels against" if not (group_sites or tips)
           else "the group file's sites (and tree tips) match neither its row nor column labels"),
        hint="set orientation: sites_by_species (rows are sites) or species_by_sites "
             "(rows are species; MetaInformAnt's script layout)")


def _read_side_table(path: Path) -> Any:
    import pandas as pd

    sep = "," if path.name.lower().endswith(".csv") else "\t"
    frame = pd.read_csv(path, sep=sep, dtype=str, index_col=0)
    frame.index = frame.index.astype(str).str.strip()
    return frame


def _groups(path: Path, column: str | None) -> Any:
    frame = _read_side_table(path)
    if column is None:
        column = "group" if "group" in frame.columns else (frame.columns[0] if len(
            frame.columns) else None)
    if column is None or column not in frame.columns:
        raise StepError(f"{path}: no group column '{column}' (columns: {list(frame.columns)})",
                        hint="give a table 'site<TAB>group' or set group_column")
    return frame[column].rename("group")


def _checked_counts(table: Any, path: Path) -> Any:
    import numpy as np
    import pandas as pd

    numeric = table.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & table.notna()
    if bad.to_numpy().any():
        row, col = next(zip(*np.nonzero(bad.to_numpy()), strict=False))
        raise StepError(f"{path}: not a number at site '{table.index[row]}', species "
                        f"'{table.columns[col]}': {table.iat[row, col]!r}",
                        hint="counts must be numbers (check the orientation and the header)")
    numeric = numeric.fillna(0.0)
    if (numeric.to_numpy() < 0).any():
        raise StepError(f"{path}: negative abundances", hint="give counts (>= 0)")
    return numeric


@step(
    "ecology.load",
    params=PARAMS,
    version="1",
    inputs={
        "table": "community table: .tsv/.txt, .csv or .biom",
        "groups": {"description": "site -> group table (TSV/CSV, header)", "required": False},
        "env": {"description": "site x variable environment table (TSV/CSV)", "required": False},
        "tree": {"description": "Newick tree whose tips are the species", "required": False},
    },
    outputs={
        "counts": {"description": "sites x species counts (TSV)", "suffixes": [".tsv"]},
        "groups": {"description": "site, group (TSV)", "required": False},
        "env": {"description": "environment table aligned to the sites", "required": False},
        "tree": {"description": "the tree (Newick)", "required": False},
    },
)
def load(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """Read the community table (orientation explicit or decided from the group file), the
    optional groups, environment and tree; write them aligned to the same sites."""
    import numpy as np

    path = single_path(inputs, "table")
    raw = read_any_table(path)
    groups_path, env_path = optional_path(inputs, "groups"), optional_path(inputs, "env")
    tree_path = optional_path(inputs, "tree")
    groups = _groups(groups_path, config["group_column"]) if groups_path else None
    tips = None
    tree = None
    if tree_path is not None:
        tree = need_skbio().TreeNode.read(str(tree_path))
        tips = {tip.name for tip in tree.tips()}
    table, orientation = _orient(raw, config["orientation"], path.name.lower().endswith(".biom"),
                                 set(groups.index) if groups is not None else None, tips, path)
    table = _checked_counts(table, path)
    warnings: list[str] = []
    if config["drop_empty_species"]:
        empty = table.columns[table.sum(axis=0) == 0]
        if len(empty):
            warnings.append(f"{len(empty)} species never observed were dropped")
            table = table.drop(columns=empty)
    if not np.allclose(table.to_numpy(), np.round(table.to_numpy())):
        warnings.append("abundances are not whole counts: Chao1, ACE and rarefaction assume "
                        "counts of individuals")
    empty_sites = list(table.index[table.sum(axis=1) == 0])
    if empty_sites:
        raise StepError(f"{path}: sites with no individuals: {empty_sites[:5]}",
                        hint="remove empty sites (diversity of an empty site is undefined)")
    write_table(table, single_path(outputs, "counts", output=True))
    if groups is not None:
        warnings += _write_groups(groups, table.index, groups_path, outputs)
    if env_path is not None:
        env = _read_side_table(env_path)
        missing = [s for s in table.index if s not in env.index]
        if missing:
            raise StepError(f"{env_path}: no row for sites {missing[:5]}",
                            hint="the first column of the environment table names the sites")
        write_table(env.loc[list(table.index)], _declared(outputs, "env"))
    if tree is not None and tips is not None and tree_path is not None:
        absent = [s for s in table.columns if s not in tips]
        if absent:
            raise StepError(f"{tree_path}: species not among the tree's tips: {absent[:5]}",
                            hint="every species of the table needs a tip (Faith's PD, UniFrac)")
        shutil.copyfile(tree_path, _declared(outputs, "tree"))
    totals = table.sum(axis=1)
    n_groups = int(groups.nunique()) if groups is not None else 0
    context.log.info("%d sites x %d species (%s), %d groups", *table.shape, orientation,
                     n_groups)
    return completed({"sites": int(table.shape[0]), "species": int(table.shape[1]),
                      "orientation": orientation, "groups": n_groups,
                      "min_site_total": float(totals.min()),
                      "max_site_total": float(totals.max()), "tree": tree is not None},
                     warnings, total_individuals=float(totals.sum()))


def _declared(outputs: dict[str, Any], name: str) -> Path:
    found = optional_path(outputs, name, output=True)
    if found is None:
        raise StepError(f"input '{name}' was given but output '{name}' is not declared",
                        hint=f"declare outputs: {{{name}: PATH}}")
    return found


def _write_groups(groups: Any, sites: Any, path: Path | None, outputs: dict[str, Any]
                  ) -> list[str]:
    missing = [s for s in sites if s not in groups.index or groups.get(s) is None]
    if missing:
        raise StepError(f"{path}: no group for sites {missing[:5]}",
                        hint="list every site of the table in the groups file")
    extra = sorted(set(groups.index) - set(sites))
    aligned = groups.loc[list(sites)].to_frame()
    write_table(aligned, _declared(outputs, "groups"))
    return [f"{len(extra)} sites of the groups file are not in the table"] if extra else []
