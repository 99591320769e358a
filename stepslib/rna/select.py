"""rna.select: amalgkit's ``config`` + ``select`` — qualify runs, then sample them per group.

Rules follow amalgkit v0.12.20 ``select``: exclusion reasons (``low_nspots``, ``missing_taxid``,
``redundant_biosample``, keyword rules, ``non_control``), ``is_qualified = exclusion == no``, and
``is_sampled`` up to ``max_sample`` runs per (species, sample_group), drawing BioProjects in
random order and one run per BioProject per round. amalgkit's draw is unseeded; here it takes
``seed`` so the selection is reproducible. The first exclusion reason that applies is kept.

Rule files use amalgkit's ``.config`` formats (tab-separated, ``#`` comments):
``exclude_keyword`` = cols(comma-separated), reason, regex; ``control_term`` = column, regex;
``group_attribute`` = to-column, from-column. Without a file, the built-in ``base`` set applies
(``config: none`` turns it off).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.rna.metadata_io import TAXID_RANKS, YES_NO, to_number

if TYPE_CHECKING:
    import pandas as pd

_TEXT_COLUMNS = "exp_title,study_title,design,sample_title,sample_description,lib_name"

# Built-in rules in the spirit of amalgkit's config_base (our own wording of the patterns).
BASE_EXCLUDE_KEYWORD: tuple[tuple[str, str, str], ...] = (
    (_TEXT_COLUMNS, "single_cell", r"single[ _-]?cell|scRNA|10x genomics|drop-?seq|smart-?seq"),
    (_TEXT_COLUMNS, "small_RNA", r"small[ _-]?RNA|miRNA|piRNA|sRNA-?seq"),
    (_TEXT_COLUMNS, "immunoprecipitation", r"ChIP-?seq|RIP-?seq|CLIP-?seq|immunoprecipitat"),
    (_TEXT_COLUMNS, "ribosome_profiling", r"ribo-?seq|ribosome[ _-]profiling|footprint"),
    (_TEXT_COLUMNS, "degradome", r"degradome"),
    ("lib_source", "non_transcriptomic", r"^(genomic|metagenomic|synthetic)$"),
)
BASE_CONTROL_TERM: tuple[tuple[str, str], ...] = (
    ("treatment", r"^(control|ctrl|untreated|mock|none|vehicle)\b"),
    ("genotype", r"^(wild[ _-]?type|wt)$"),
)
BASE_GROUP_ATTRIBUTE: tuple[tuple[str, str], ...] = (
    ("tissue", "organism_part"),
    ("tissue", "body_part"),
    ("tissue", "tissue_type"),
)
_STRIP = re.compile(r"[\r\n'\"|]")


def read_rules(path: Path, width: int) -> list[tuple[str, ...]]:
    """Rows of an amalgkit ``.config`` file with ``width`` tab-separated fields."""
    rules = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) != width:
            raise StepError(f"{path}:{number}: expected {width} tab-separated fields, "
                            f"got {len(fields)}: {line!r}")
        rules.append(tuple(f.strip() for f in fields))
    return rules


def _mark(frame: pd.DataFrame, mask: Any, reason: str) -> None:
    frame.loc[mask & (frame["exclusion"] == "no"), "exclusion"] = reason


def _matches(frame: pd.DataFrame, columns: list[str], pattern: str) -> Any:
    regex = re.compile(pattern, re.IGNORECASE)
    mask = frame["run"].map(lambda _: False)
    for column in columns:
        if column in frame.columns:
            mask |= frame[column].map(lambda v: bool(v) and regex.search(v) is not None)
    return mask


def apply_exclusions(frame: pd.DataFrame, config: dict[str, Any], rules: dict[str, list],
                     ) -> pd.DataFrame:
    """Fill ``exclusion`` and ``is_qualified`` (exclusion is recomputed from 'no')."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: _STRIP.sub("", v) if isinstance(v, str)
                                              else v)
    frame["exclusion"] = "no"
    spots = frame["total_spots"].map(lambda v: to_number([v])[0])
    _mark(frame, spots < float(config["min_nspots"]), "low_nspots")
    rank = config["mark_missing_rank"]
    if rank != "none" and f"taxid_{rank}" in frame.columns:
        _mark(frame, frame[f"taxid_{rank}"] == "", "missing_taxid")
    if config["mark_redundant_biosamples"] == "yes":
        has = frame["biosample"] != ""
        _mark(frame, has & frame.duplicated(["scientific_name", "biosample"]),
              "redundant_biosample")
    for to, source in rules["group_attribute"]:
        if source not in frame.columns or to == source:
            continue
        if to not in frame.columns:
            frame[to] = ""
        frame[to] = [
            "; ".join(x for x in (old, f"{new}[{source}]" if new else "") if x)
            for old, new in zip(frame[to], frame[source])
        ]
    for columns, reason, pattern in rules["exclude_keyword"]:
        _mark(frame, _matches(frame, columns.split(","), pattern), reason)
    if config["config"] == "base" and not rules["custom_keyword"]:
        _mark(frame, frame["cell"] != "", "cell_culture")
        _mark(frame, frame["antibody"] != "", "immunoprecipitation")
    control = frame["run"].map(lambda _: False)
    for column, pattern in rules["control_term"]:
        control |= _matches(frame, [column], pattern)
    projects_with_control = set(frame.loc[control, "bioproject"]) - {""}
    _mark(frame, frame["bioproject"].isin(projects_with_control) & ~control, "non_control")
    frame["is_qualified"] = (frame["exclusion"] == "no").map({True: "yes", False: "no"})
    return frame


def sample_runs(frame: pd.DataFrame, max_sample: int, seed: int) -> pd.DataFrame:
    """Set ``is_sampled``: per (species, sample_group), BioProjects round-robin in seeded
    random order, one random run of each per round, until ``max_sample`` runs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = frame.copy()
    frame["is_sampled"] = "no"
    qualified = frame[frame["is_qualified"] == "yes"]
    for _, group in sorted(qualified.groupby(["scientific_name", "sample_group"], sort=True),
                           key=lambda kv: kv[0]):
        pools = {bp: list(rows.index) for bp, rows in group.groupby("bioproject", sort=True)}
        chosen: list[Any] = []
        while len(chosen) < max_sample and any(pools.values()):
            projects = [bp for bp in sorted(pools) if pools[bp]]
            for bp in rng.permutation(len(projects)):
                if len(chosen) >= max_sample:
                    break
                pool = pools[projects[bp]]
                chosen.append(pool.pop(int(rng.integers(len(pool)))))
        frame.loc[chosen, "is_sampled"] = "yes"
    return frame


def pivot(frame: pd.DataFrame) -> pd.DataFrame:
    """species x sample_group counts of BioSamples (a run without biosample counts as one)."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame({"scientific_name": []})
    keyed = frame.assign(_bs=[b or f"run:{r}" for b, r in zip(frame["biosample"], frame["run"])])
    table = keyed.pivot_table(index="scientific_name", columns="sample_group", values="_bs",
                              aggfunc="nunique", fill_value=0)
    table.columns.name = None
    return table.reset_index()


@step(
    "rna.select",
    inputs={
        "metadata": "the metadata table",
        "exclude_keyword": {"description": "amalgkit exclude_keyword.config", "required": False},
        "control_term": {"description": "amalgkit control_term.config", "required": False},
        "group_attribute": {"description": "amalgkit group_attribute.config", "required": False},
    },
    outputs={
        "metadata": "every row, with is_qualified/is_sampled/exclusion",
        "original": {"description": "a copy of the input", "required": False},
        "pivot_qualified": {"description": "qualified runs per species and sample group",
                            "required": False},
        "pivot_selected": {"description": "selected runs per species and sample group",
                           "required": False},
        "selected": {"description": "the qualified and sampled rows (what quant fans out over)",
                     "required": False},
    },
    version="1",
    params={
        "properties": {
            "min_nspots": {"type": "number", "minimum": 0, "default": 5_000_000,
                           "description": "Runs with fewer spots (reads or pairs) are excluded "
                                          "as low_nspots."},
            "max_sample": {"type": "integer", "minimum": 0, "default": 99999,
                           "description": "Maximum runs sampled per (species, sample_group)."},
            "mark_missing_rank": {
                "type": "string", "enum": ["none", *TAXID_RANKS], "default": "species",
                "description": "Exclude runs whose taxid_<rank> column is empty (only when the "
                               "column exists) as missing_taxid; 'none' turns it off.",
            },
            "mark_redundant_biosamples": {**YES_NO, "default": "no",
                                          "description": "Exclude all but the first run of a "
                                                         "BioSample as redundant_biosample."},
            "sample_group": {
                "type": ["array", "string", "null"], "items": {"type": "string"},
                "default": None,
                "description": "Keep only these sample groups (a list, or amalgkit's comma-"
                               "separated text; other rows are dropped); null keeps all.",
            },
            "species": {
                "type": ["array", "null"], "items": {"type": "string"}, "default": None,
                "description": "The run's species (Genus_species or 'Genus species'); runs of "
                               "other species are excluded as 'other_species'. null: all.",
            },
            "config": {"type": "string", "enum": ["base", "none"], "default": "base",
                       "description": "Built-in rule set used for rule files not given as "
                                      "inputs (exclude_keyword, control_term, "
                                      "group_attribute)."},
            "seed": {"type": "integer", "default": 1,
                     "description": "Seed of the random BioProject/run draw (reproducible "
                                    "selection)."},
        },
    },
)
def select(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Qualify and sample runs. Input 'metadata'; optional inputs 'exclude_keyword',
    'control_term', 'group_attribute' (amalgkit .config files). Outputs 'metadata' (all rows),
    optional 'original' (input copy), 'pivot_qualified', 'pivot_selected', 'selected'
    (is_sampled & is_qualified rows: the table quant fans out over)."""
    from stepslib.rna.metadata_io import duplicated_runs, read_metadata, write_metadata

    source = single_path(inputs, "metadata")
    frame = read_metadata(source)
    dupes = duplicated_runs(frame)
    if dupes:
        raise StepError(f"metadata '{source}' lists runs more than once: {', '.join(dupes[:10])}")
    for column in ("scientific_name", "sample_group", "bioproject", "biosample", "total_spots",
                   "cell", "antibody"):
        if column not in frame.columns:
            frame[column] = ""
    builtin = config["config"] == "base"
    rules: dict[str, list] = {"custom_keyword": []}
    for name, width, default in (("exclude_keyword", 3, BASE_EXCLUDE_KEYWORD),
                                 ("control_term", 2, BASE_CONTROL_TERM),
                                 ("group_attribute", 2, BASE_GROUP_ATTRIBUTE)):
        path = optional_path(inputs, name)
        rules[name] = read_rules(path, width) if path else list(default) if builtin else []
        if name == "exclude_keyword" and path:
            rules["custom_keyword"] = rules[name]
    groups = config["sample_group"]
    if isinstance(groups, str):  # amalgkit's --sample_group: comma-separated
        groups = [g.strip() for g in groups.split(",") if g.strip()]
    if groups is not None:
        frame = frame[frame["sample_group"].isin(groups)].reset_index(drop=True)
    frame = apply_exclusions(frame, config, rules)
    if config["species"] is not None:
        # why: species_list is the set of species a MetaInformAnt config asks for; an SRA
        # search also returns runs of other organisms, which have no transcriptome here
        wanted = {str(sp).replace("_", " ") for sp in config["species"]}
        _mark(frame, ~frame["scientific_name"].isin(wanted), "other_species")
        frame["is_qualified"] = (frame["exclusion"] == "no").map({True: "yes", False: "no"})
    frame = sample_runs(frame, config["max_sample"], config["seed"])
    target = single_path(outputs, "metadata", output=True)
    original = optional_path(outputs, "original", output=True)
    if original is not None:
        original.parent.mkdir(parents=True, exist_ok=True)
        original.write_bytes(source.read_bytes())
    write_metadata(frame, target)
    qualified = frame[frame["is_qualified"] == "yes"]
    selected = qualified[qualified["is_sampled"] == "yes"]
    for key, part in (("pivot_qualified", qualified), ("pivot_selected", selected)):
        path = optional_path(outputs, key, output=True)
        if path is not None:
            write_metadata(pivot(part), path)
    selected_path = optional_path(outputs, "selected", output=True)
    if selected_path is not None:
        write_metadata(selected, selected_path)
    reasons = frame.loc[frame["exclusion"] != "no", "exclusion"].value_counts().to_dict()
    context.log.info("%d runs: %d qualified, %d selected; excluded: %s", len(frame),
                     len(qualified), len(selected), reasons or "none")
    warnings = [] if len(selected) else ["no run was selected (check min_nspots and exclusions)"]
    return {"status": "completed", "warnings": warnings,
            "metadata": {"runs": len(frame), "qualified": len(qualified),
                         "selected": len(selected), "excluded": reasons}}
