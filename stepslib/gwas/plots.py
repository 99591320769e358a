"""``gwas.plots``: Manhattan, QQ (with lambda_GC) and PCA plots, each as PNG and SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import StepContext, StepError, optional_path, path_list, single_path, step

PLOT_SUFFIXES = [".png", ".svg", ".pdf"]  # matplotlib picks the format by the suffix

PARAMS = {
    "properties": {
        "significance_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 5e-8,
                                   "description": "Genome-wide line on the Manhattan plot."},
        "suggestive_threshold": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                                 "description": "Suggestive line on the Manhattan plot."},
        "n_labels": {"type": "integer", "minimum": 0, "default": 5,
                     "description": "Label the top hits (one per locus, +-500 kb) that pass "
                                    "the genome-wide threshold."},
        "trait": {"type": ["string", "null"], "default": None,
                  "description": "Phenotype that colours the PCA plot (default: the first)."},
        "title": {"type": "string", "default": "",
                  "description": "Prefix for the plot titles."},
        "dpi": {"type": "integer", "minimum": 50, "default": 150,
                "description": "Resolution of the PNG files."},
    },
}


@step(
    "gwas.plots",
    params=PARAMS,
    version="1",
    inputs={
        "summary": "gwas.correct's summary",
        "pcs": {"description": "gwas.structure's pcs (for 'pca')", "required": False},
        "phenotypes": {"description": "gwas.load's phenotypes (colours the 'pca' plot)",
                       "required": False},
    },
    outputs={
        # Each plot optional (at least one asked for), so the seed's one-off
        # `mi-run gwas plot --type manhattan|qq` draws just one.
        "manhattan": {"description": "Manhattan plot file(s)", "required": False,
                      "suffixes": PLOT_SUFFIXES},
        "qq": {"description": "QQ plot file(s)", "required": False, "suffixes": PLOT_SUFFIXES},
        "pca": {"description": "PC1/PC2 plot file(s) (needs input 'pcs')", "required": False,
                "suffixes": PLOT_SUFFIXES},
    },
)
def plots(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """inputs: ``summary`` (summary_statistics.tsv), optional ``pcs`` and ``phenotypes``.
    outputs: ``manhattan``, ``qq`` and optional ``pca``: each a list of files whose suffix
    (.png, .svg, .pdf) picks the format."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    table = pd.read_csv(single_path(inputs, "summary"), sep="\t", dtype={"CHR": str},
                        keep_default_na=False, na_values=["NA"])
    missing = [c for c in ("CHR", "POS", "P") if c not in table.columns]
    if missing:  # a hand-given results file (mi-run gwas plot --input) may lack them
        raise StepError(f"{single_path(inputs, 'summary')} has no column "
                        f"{', '.join(missing)} (columns: {', '.join(map(str, table.columns))})",
                        "give association results with CHR, POS and P columns (SNP, "
                        "if present, labels the top hits)")
    table = table[np.isfinite(table["P"].to_numpy(dtype=float)) & (table["P"] > 0)]
    if table.empty:
        raise StepError("no tested variant to plot")
    written: list[str] = []
    manhattan_out, qq_out, pca_out = (_paths(outputs, n) for n in ("manhattan", "qq", "pca"))
    if not (manhattan_out or qq_out or pca_out):
        raise StepError("no plot was asked for", "give at least one of the outputs "
                        "manhattan, qq or pca")
    if manhattan_out:
        written += _save(_manhattan(table, config), manhattan_out, config["dpi"])
    if qq_out:
        written += _save(_qq(table, config), qq_out, config["dpi"])
    pcs_path = optional_path(inputs, "pcs")
    if pca_out:
        if pcs_path is None:
            raise StepError("a 'pca' plot was requested but no 'pcs' input was given")
        pheno_path = optional_path(inputs, "phenotypes")
        written += _save(_pca(pcs_path, pheno_path, config), pca_out, config["dpi"])
    context.log.info("wrote %s", ", ".join(written))
    return {"status": "completed", "output": {"plots": written}}


def _paths(outputs: dict[str, Any], name: str) -> list[Path]:
    paths = path_list(outputs.get(name))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    return paths


def _save(fig: Any, paths: list[Path], dpi: int) -> list[str]:
    import matplotlib.pyplot as plt

    for path in paths:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return [str(p) for p in paths]


def _chrom_order(values: Any) -> list[str]:
    def key(name: str) -> tuple[int, Any]:
        bare = name.removeprefix("chr")
        return (0, int(bare)) if bare.isdigit() else (1, bare)

    return sorted(pd_unique(values), key=key)


def pd_unique(values: Any) -> list[str]:
    import pandas as pd

    return [str(v) for v in pd.unique(values)]


def _manhattan(table: Any, config: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    order = _chrom_order(table["CHR"])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    offset, ticks = 0.0, []
    coords = np.zeros(len(table))
    chrom = table["CHR"].to_numpy()
    pos = table["POS"].to_numpy(dtype=float)
    logp = -np.log10(table["P"].to_numpy(dtype=float))
    for i, name in enumerate(order):
        sel = chrom == name
        x = pos[sel] - pos[sel].min() + offset
        coords[sel] = x
        # rasterized: an SVG of a million points stays small and opens quickly
        ax.scatter(x, logp[sel], s=4, color=("#1f4e79", "#7fa7d1")[i % 2], rasterized=True,
                   linewidths=0)
        ticks.append((x.min() + x.max()) / 2)
        offset = x.max() + max(1.0, 0.02 * (pos.max() - pos.min() + 1))
    for threshold, style, colour in ((config["significance_threshold"], "-", "#c0392b"),
                                     (config["suggestive_threshold"], "--", "#7f8c8d")):
        ax.axhline(-np.log10(threshold), linestyle=style, color=colour, linewidth=1)
    for idx in _top_loci(table, logp, config):
        label = (table["SNP"].iloc[idx] if "SNP" in table.columns
                 else f"{chrom[idx]}:{int(pos[idx])}")
        ax.annotate(str(label), (coords[idx], logp[idx]),
                    xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_xticks(ticks)
    ax.set_xticklabels(order, fontsize=8)
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10(P)")
    ax.set_ylim(0, max(logp.max(), -np.log10(config["significance_threshold"])) * 1.08)
    ax.set_title(f"{config['title']} Manhattan plot".strip())
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _top_loci(table: Any, logp: Any, config: dict[str, Any]) -> list[int]:
    """Indices of the strongest hits, at most one per +-500 kb, above genome-wide."""
    import numpy as np

    chosen: list[int] = []
    limit = -np.log10(config["significance_threshold"])
    chrom = table["CHR"].to_numpy()
    pos = table["POS"].to_numpy()
    for idx in np.argsort(-logp):
        if len(chosen) >= config["n_labels"] or logp[idx] < limit:
            break
        if all(chrom[idx] != chrom[c] or abs(pos[idx] - pos[c]) > 500_000 for c in chosen):
            chosen.append(int(idx))
    return chosen


def _qq(table: Any, config: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy import stats

    p = np.sort(table["P"].to_numpy(dtype=float))
    n = len(p)
    expected = -np.log10((np.arange(1, n + 1) - 0.5) / n)
    observed = -np.log10(p)
    lam = np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1)
    # 95% band of the uniform order statistics
    ranks = np.arange(1, n + 1)
    low = -np.log10(stats.beta.ppf(0.975, ranks, n - ranks + 1))
    high = -np.log10(stats.beta.ppf(0.025, ranks, n - ranks + 1))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.fill_between(expected, low, high, color="#dddddd", linewidth=0)
    ax.scatter(expected, observed, s=5, color="#1f4e79", rasterized=True, linewidths=0)
    top = max(expected.max(), observed.max()) * 1.05
    ax.plot([0, top], [0, top], color="#c0392b", linewidth=1)
    ax.set_xlabel("expected -log10(P)")
    ax.set_ylabel("observed -log10(P)")
    ax.set_title(f"{config['title']} QQ plot, lambda_GC = {lam:.3f}".strip())
    ax.text(0.05, 0.92, f"λ = {lam:.3f}", transform=ax.transAxes)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _pca(pcs_path: Path, pheno_path: Path | None, config: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import pandas as pd

    pcs = pd.read_csv(pcs_path, sep="\t", index_col=0)
    pcs.index = pcs.index.astype(str)
    if pcs.shape[1] < 2:
        raise StepError("the PCA plot needs at least 2 PCs")
    fig, ax = plt.subplots(figsize=(5.5, 5))
    colour = None
    label = ""
    if pheno_path is not None:
        pheno = pd.read_csv(pheno_path, sep="\t", index_col=0)
        pheno.index = pheno.index.astype(str)
        trait = config["trait"] or (pheno.columns[0] if len(pheno.columns) else None)
        if trait is not None and trait in pheno.columns:
            colour = pheno[trait].reindex(pcs.index)
            label = str(trait)
    if colour is not None:
        art = ax.scatter(pcs.iloc[:, 0], pcs.iloc[:, 1], c=colour, cmap="viridis", s=10,
                         linewidths=0, plotnonfinite=True)
        fig.colorbar(art, ax=ax, label=label)
    else:
        ax.scatter(pcs.iloc[:, 0], pcs.iloc[:, 1], s=10, color="#1f4e79", linewidths=0)
    ax.set_xlabel(pcs.columns[0])
    ax.set_ylabel(pcs.columns[1])
    ax.set_title(f"{config['title']} PCA".strip())
    ax.spines[["top", "right"]].set_visible(False)
    return fig
