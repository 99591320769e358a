"""``rna.csca``: cross-species/cross-sample summaries of curate outputs (amalgkit csca, lite).

Reads every ``<curate>/<Sp>/tables/<Sp>.<alg>.tc.tsv`` with its ``<Sp>.metadata.tsv`` (runs with
exclusion ``no``), joins the species on single-copy orthogroups (an OrthoFinder-style table) or,
without one, on shared target ids, and writes under the output directory:

- ``csca_ortholog_unaveraged.tsv`` (gene/orthogroup x run), ``csca_ortholog_averaged.tsv``
  (x ``<Sp>_<sample_group>`` means) and ``csca_samples.tsv`` (run, species, group, BioProject);
- ``csca_pca``, ``csca_correlation_heatmap``, ``csca_dendrogram`` and ``csca_boxplot`` as PNG
  and PDF: PCA coloured by sample_group with one marker per species, the run-run Pearson
  correlation heatmap in dendrogram order, an average-linkage (1 - r) dendrogram, and boxplots
  of within-group correlations per sample_group next to amalgkit's four classes.

matplotlib is used without pyplot (``Figure`` + Agg), so no display and no global state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepContext, StepError, path_list, step

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

MARKERS = "osD^vP*Xh<>p"


def _group_column(meta: pd.DataFrame, groups: list[str] | str | None,
                  ) -> tuple[str, list[str] | None]:
    """(the column that groups runs, the groups to keep). amalgkit's ``--sample_group`` lists
    group values (comma-separated); MetaInformAnt configs also write a metadata column there
    (``sample_group: tissue``): then runs are grouped by that column."""
    if isinstance(groups, str):
        if groups in meta.columns:
            return groups, None
        groups = [g.strip() for g in groups.split(",") if g.strip()]
    return "sample_group", groups


def _load(curate_dirs: list[Path], alg: str,
          groups: list[str] | str | None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Per species the expression of kept runs, and one sample table for all species."""
    import pandas as pd

    tables: dict[str, pd.DataFrame] = {}
    samples = []
    for base in curate_dirs:
        for tc_path in sorted(base.glob(f"*/tables/*.{alg}.tc.tsv")):
            sp = tc_path.name[: -len(f".{alg}.tc.tsv")]
            meta_path = tc_path.parent / f"{sp}.metadata.tsv"
            if not meta_path.is_file():
                raise StepError(f"rna.csca: '{meta_path}' is missing next to '{tc_path}'")
            if sp in tables:
                raise StepError(f"rna.csca: species {sp} appears in two curate directories")
            tc = pd.read_csv(tc_path, sep="\t", index_col=0)
            meta = pd.read_csv(meta_path, sep="\t", dtype={"run": str})
            meta = meta[(meta["exclusion"] == "no") & meta["run"].isin(tc.columns)]
            column, keep = _group_column(meta, groups)
            meta = meta.assign(sample_group=meta[column])
            if keep is not None:
                meta = meta[meta["sample_group"].isin(keep)]
            if meta.empty:
                continue
            tables[sp] = tc[list(meta["run"])]
            bioproject = meta.get("bioproject", "not_provided")
            samples.append(pd.DataFrame({"run": meta["run"], "species": sp,
                                         "sample_group": meta["sample_group"].astype(str),
                                         "bioproject": bioproject}))
    if not tables:
        raise StepError(f"rna.csca found no '*/tables/*.{alg}.tc.tsv' with kept runs under "
                        f"{', '.join(map(str, curate_dirs))}",
                        hint="point input 'curate' at rna.curate's output directory")
    sample_table = pd.concat(samples, ignore_index=True)
    if sample_table["run"].duplicated().any():
        raise StepError("rna.csca: the same run id occurs in two species")
    return tables, sample_table


def _join(tables: dict[str, pd.DataFrame], orthogroups: Path | None) -> pd.DataFrame:
    """One matrix over species: rows single-copy orthogroups (or shared ids), columns runs."""
    import pandas as pd

    from stepslib.rna.cstmm import gene_counts

    if len(tables) == 1:
        return next(iter(tables.values()))
    if orthogroups is None:
        shared = sorted(set.intersection(*(set(t.index) for t in tables.values())))
        if not shared:
            raise StepError("rna.csca: the species share no target id",
                            hint="give an orthogroup table (param or input "
                                 "'orthogroup_table')")
        return pd.concat([t.loc[shared] for t in tables.values()], axis=1)
    table = pd.read_csv(orthogroups, sep="\t", dtype=str, keep_default_na=False)
    table = table.set_index(table.columns[0])
    table.columns = [str(c).replace(" ", "_") for c in table.columns]
    missing = [sp for sp in tables if sp not in table.columns]
    if missing:
        raise StepError(f"rna.csca: species {', '.join(missing)} not in the orthogroup table")
    table = table[list(tables)]
    single = table[(gene_counts(table) == 1).all(axis=1)]
    blocks = []
    for sp, frame in tables.items():
        block = frame.reindex(single[sp].str.strip().to_numpy())
        block.index = single.index
        blocks.append(block)
    joined = pd.concat(blocks, axis=1).dropna()
    joined.index.name = "orthogroup_id"
    if joined.empty:
        raise StepError("rna.csca: no single-copy orthogroup has values in every species")
    return joined


@step(
    "rna.csca",
    inputs={
        "curate": "rna.curate's directory (or several)",
        "orthogroup_table": {"description": "Orthogroups.tsv joining several species",
                             "required": False},
    },
    outputs={
        "dir": "the csca directory",
    },
    version="1",
    params={
        "properties": {
            "batch_effect_alg": {"type": "string", "default": "no",
                                 "description": "Which curate tables to read: <Sp>.<alg>.tc."},
            "orthogroup_table": {"type": ["string", "null"], "default": None,
                                 "description": "Orthogroups.tsv joining several species (or "
                                                "input 'orthogroup_table')."},
            "sample_group": {"type": ["array", "string", "null"], "items": {"type": "string"},
                             "default": None,
                             "description": "Groups to show (a list or amalgkit's comma-"
                                            "separated text; default all); a metadata column "
                                            "name (e.g. tissue) groups runs by that column."},
            "dpi": {"type": "integer", "minimum": 30, "maximum": 600, "default": 120,
                    "description": "PNG resolution."},
        },
    },
)
def csca(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
         context: StepContext) -> dict[str, Any]:
    """PCA, correlation heatmap, dendrogram and boxplots across species from curate tables."""
    import numpy as np

    curate_dirs = path_list(inputs.get("curate"))
    targets = path_list(outputs.get("dir"))
    if not curate_dirs or len(targets) != 1:
        raise StepError("rna.csca needs input 'curate' (rna.curate's directory) and one "
                        "output 'dir'")
    table_inputs = path_list(inputs.get("orthogroup_table"))
    param_table = Path(config["orthogroup_table"]) if config["orthogroup_table"] else None
    if table_inputs and param_table and table_inputs[0].resolve() != param_table.resolve():
        raise StepError("rna.csca: one orthogroup table as input, another as param",
                        hint="keep one of them")
    orthogroups = table_inputs[0] if table_inputs else param_table
    tables, samples = _load(curate_dirs, config["batch_effect_alg"], config["sample_group"])
    matrix = _join(tables, orthogroups)[list(samples["run"])]
    out = targets[0]
    out.mkdir(parents=True, exist_ok=True)
    label = matrix.index.name or "target_id"
    matrix.rename_axis(label).reset_index().to_csv(out / "csca_ortholog_unaveraged.tsv",
                                                   sep="\t", index=False)
    keys = samples["species"] + "_" + samples["sample_group"]
    averaged = matrix.T.groupby(keys.to_numpy(), sort=False).mean().T
    averaged.rename_axis(label).reset_index().to_csv(out / "csca_ortholog_averaged.tsv",
                                                     sep="\t", index=False)
    samples.to_csv(out / "csca_samples.tsv", sep="\t", index=False)
    values = matrix.to_numpy(dtype=float)
    values = values[np.isfinite(values).all(axis=1) & (values.std(axis=1) > 0)]
    if values.shape[0] < 2 or values.shape[1] < 2:
        raise StepError(f"rna.csca: {values.shape[1]} runs x {values.shape[0]} variable genes "
                        "are too few to summarise (need 2 x 2)")
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(values.T), nan=0.0)
    figures = {"csca_pca": pca(values, samples),
               **dendrogram_and_heatmap(corr, samples),
               "csca_boxplot": boxplots(corr, samples)}
    for name, figure in figures.items():
        _save(figure, out / name, config["dpi"])
    context.log.info("csca: %d species, %d runs, %d genes/orthogroups", len(tables),
                     values.shape[1], values.shape[0])
    return {"status": "completed",
            "metadata": {"species": len(tables), "runs": int(values.shape[1]),
                         "genes": int(values.shape[0])}}


def _save(figure: Figure, stem: Path, dpi: int) -> None:
    figure.tight_layout()
    figure.savefig(stem.with_suffix(".png"), format="png", dpi=dpi)
    figure.savefig(stem.with_suffix(".pdf"), format="pdf", metadata={"CreationDate": None})


def group_colors(groups: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    unique = sorted(set(groups))
    cmap = colormaps["tab10" if len(unique) <= 10 else "tab20"]
    return {g: cmap(i % cmap.N) for i, g in enumerate(unique)}


def class_masks(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """Off-diagonal run pairs: between/within species x between/within sample_group."""
    import numpy as np

    same_sp = np.equal.outer(samples["species"].to_numpy(), samples["species"].to_numpy())
    same_g = np.equal.outer(samples["sample_group"].to_numpy(),
                            samples["sample_group"].to_numpy())
    off = ~np.eye(len(samples), dtype=bool)
    return {"bw sp\nbw group": off & ~same_sp & ~same_g, "wi sp\nbw group": off & same_sp & ~same_g,
            "bw sp\nwi group": off & ~same_sp & same_g, "wi sp\nwi group": off & same_sp & same_g}


def pca(values: np.ndarray, samples: pd.DataFrame) -> Figure:
    """PC1 x PC2 of the runs (genes centred), coloured by group, one marker per species."""
    import numpy as np
    from matplotlib.figure import Figure

    centred = values.T - values.T.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    scores = u * s
    if scores.shape[1] < 2:
        scores = np.column_stack([scores, np.zeros(len(scores))])
    share = s**2 / max(float((s**2).sum()), 1e-300) * 100
    figure = Figure(figsize=(6.4, 4.8))
    axes = figure.add_subplot()
    colors = group_colors(samples["sample_group"].tolist())
    species = list(dict.fromkeys(samples["species"]))
    for (sp, group), rows in samples.groupby(["species", "sample_group"], sort=True):
        index = rows.index.to_numpy()
        axes.scatter(scores[index, 0], scores[index, 1], color=colors[group], s=36,
                     marker=MARKERS[species.index(sp) % len(MARKERS)],
                     label=f"{group} ({sp})" if len(species) > 1 else group,
                     edgecolors="black", linewidths=0.4)
    axes.set_xlabel(f"PC 1 ({share[0]:.1f}%)")
    axes.set_ylabel(f"PC 2 ({share[1] if share.size > 1 else 0:.1f}%)")
    axes.legend(fontsize="small", loc="best")
    return figure


def dendrogram_and_heatmap(corr: np.ndarray, samples: pd.DataFrame) -> dict[str, Figure]:
    """Average-linkage dendrogram on 1 - r, and the correlation heatmap in its leaf order."""
    import numpy as np
    from matplotlib.figure import Figure
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    distance = np.clip(1 - corr, 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform(distance, checks=False), method="average")
    labels = samples["run"].tolist()
    colors = group_colors(samples["sample_group"].tolist())
    n = len(labels)
    tree_figure = Figure(figsize=(max(6.4, 0.18 * n), 4.8))
    axes = tree_figure.add_subplot()
    leaves = dendrogram(tree, labels=labels, ax=axes, color_threshold=0,
                        above_threshold_color="black", leaf_font_size=7,
                        leaf_rotation=90)["leaves"]
    for tick in axes.get_xticklabels():
        run = tick.get_text()
        tick.set_color(colors[samples.loc[labels.index(run), "sample_group"]])
    axes.set_ylabel("1 - Pearson r")
    heat = Figure(figsize=(6.4 + 0.05 * n, 5.6 + 0.05 * n))
    axes = heat.add_subplot()
    image = axes.imshow(corr[np.ix_(leaves, leaves)], cmap="RdYlBu_r", vmin=min(0.0, corr.min()),
                        vmax=1, interpolation="nearest")
    heat.colorbar(image, ax=axes, label="Pearson r")
    ordered = [labels[i] for i in leaves]
    if n <= 60:
        axes.set_xticks(range(n), ordered, rotation=90, fontsize=6)
        axes.set_yticks(range(n), ordered, fontsize=6)
        for ticks in (axes.get_xticklabels(), axes.get_yticklabels()):
            for tick in ticks:
                group = samples.loc[labels.index(tick.get_text()), "sample_group"]
                tick.set_color(colors[group])
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    return {"csca_dendrogram": tree_figure, "csca_correlation_heatmap": heat}


def boxplots(corr: np.ndarray, samples: pd.DataFrame) -> Figure:
    """Within-group correlations per sample_group, and amalgkit's species x group classes."""
    import numpy as np
    from matplotlib.figure import Figure

    groups = sorted(set(samples["sample_group"]))
    group_array = samples["sample_group"].to_numpy()
    off = ~np.eye(len(samples), dtype=bool)
    per_group = [corr[np.ix_(group_array == g, group_array == g)][off[np.ix_(
        group_array == g, group_array == g)]] for g in groups]
    figure = Figure(figsize=(4 + 0.6 * len(groups) + 4, 4.4))
    left, right = figure.subplots(1, 2, width_ratios=[max(len(groups), 2), 4])
    left.boxplot([v if v.size else [np.nan] for v in per_group], tick_labels=groups)
    left.set_ylabel("Pearson r between runs of the group")
    left.tick_params(axis="x", rotation=45)
    classes = class_masks(samples)
    right.boxplot([corr[m] if m.any() else [np.nan] for m in classes.values()],
                  tick_labels=list(classes))
    right.set_ylabel("Pearson r")
    right.tick_params(axis="x", labelsize=7)
    return figure
