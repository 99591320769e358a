"""``ecology.tests``: PERMANOVA, ANOSIM (scikit-bio) and PERMDISP (vegan's betadisper) by group.

PERMANOVA's pseudo-F equals ``adonis2(d ~ group)``'s F and ANOSIM's R equals ``anosim()``'s;
their p-values come from seeded permutations, so they differ from R's by chance only.
"""

from __future__ import annotations

from typing import Any

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.ecology.common import completed, need_skbio, read_distance, write_table
from stepslib.ecology.dispersion import permdisp

PARAMS = {
    "properties": {
        "permutations": {"type": "integer", "minimum": 0, "default": 999,
                         "description": "Permutations for every p-value."},
        "seed": {"type": "integer", "default": 1, "description": "Random seed."},
        "permdisp_centre": {"enum": ["median", "centroid"], "default": "median",
                            "description": "betadisper's type: spatial median (vegan's "
                                           "default) or centroid."},
        "env_factors": {"type": "array", "items": {"type": "string"}, "default": [],
                        "description": "Columns of the environment table tested like groups "
                                       "(PERMANOVA, ANOSIM, PERMDISP for each)."},
    },
}


def _factors(inputs: dict[str, Any], config: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    import pandas as pd

    factors: dict[str, Any] = {}
    groups_path = optional_path(inputs, "groups")
    if groups_path is not None:
        groups = pd.read_csv(groups_path, sep="\t", index_col=0, dtype=str)["group"]
        groups.index = groups.index.astype(str)
        factors["group"] = groups.reindex(ids)
    if config["env_factors"]:
        env_path = optional_path(inputs, "env")
        if env_path is None:
            raise StepError("env_factors needs the environment table",
                            hint="give the load step an env table and pass its output as 'env'")
        env = pd.read_csv(env_path, sep="\t", index_col=0, dtype=str)
        env.index = env.index.astype(str)
        for name in config["env_factors"]:
            if name not in env.columns:
                raise StepError(f"env_factors: no column '{name}' in {env_path}",
                                hint=f"columns: {list(env.columns)}")
            factors[name] = env[name].reindex(ids)
    if not factors:
        raise StepError("no groups to test", hint="give groups (site, group) or env_factors")
    return factors


@step(
    "ecology.tests",
    params=PARAMS,
    version="1",
    inputs={
        "distance": "square distance TSV (usually Bray-Curtis)",
        "groups": {"description": "ecology.load's groups", "required": False},
        "env": {"description": "ecology.load's environment table (env_factors)",
                "required": False},
    },
    outputs={
        "results": {"description": "factor, test, statistic, value, p_value, permutations",
                    "suffixes": [".tsv"]},
        "dispersion": {"description": "site, factor, group, distance to the group centre",
                       "required": False, "suffixes": [".tsv"]},
    },
)
def tests(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """PERMANOVA (pseudo-F), ANOSIM (R) and PERMDISP (F) for the groups and env factors."""
    import pandas as pd

    skbio = need_skbio()
    matrix = read_distance(single_path(inputs, "distance"))
    ids = list(matrix.ids)
    rows, dispersion, warnings = [], [], []
    perms, seed = config["permutations"], config["seed"]
    for name, labels in _factors(inputs, config, ids).items():
        if labels.isna().any():
            raise StepError(f"factor '{name}' has no value for sites "
                            f"{list(labels.index[labels.isna()])[:5]}", hint="fill them in")
        sizes = labels.value_counts()
        if len(sizes) < 2 or (sizes < 2).all():
            warnings.append(f"factor '{name}': needs two groups with replicates; not tested")
            continue
        grouping = labels.to_numpy()
        perm = skbio.stats.distance.permanova(matrix, grouping, permutations=perms, seed=seed)
        anos = skbio.stats.distance.anosim(matrix, grouping, permutations=perms, seed=seed)
        f_disp, p_disp, z = permdisp(matrix.data, grouping, config["permdisp_centre"], perms,
                                     seed)
        rows += [(name, "PERMANOVA", "pseudo-F", float(perm["test statistic"]),
                  float(perm["p-value"]), perms),
                 (name, "ANOSIM", "R", float(anos["test statistic"]), float(anos["p-value"]),
                  perms),
                 (name, "PERMDISP", f"F ({config['permdisp_centre']}, vegan betadisper)",
                  f_disp, p_disp, perms)]
        dispersion += [(site, name, group, value) for site, group, value in
                       zip(ids, grouping, z, strict=True)]
    results = pd.DataFrame(rows, columns=["factor", "test", "statistic", "value", "p_value",
                                          "permutations"]).set_index("factor")
    write_table(results, single_path(outputs, "results", output=True), index_label="factor")
    disp_path = optional_path(outputs, "dispersion", output=True)
    if disp_path is not None:
        frame = pd.DataFrame(dispersion, columns=["site", "factor", "group", "distance"])
        write_table(frame.set_index("site"), disp_path)
    metrics = {f"{f}_{t.lower()}_{'r' if t == 'ANOSIM' else 'f'}": round(v, 6)
               for f, t, _, v, _, _ in rows}
    metrics.update({f"{f}_{t.lower()}_p": p for f, t, _, _, p, _ in rows})
    context.log.info("group tests: %s", metrics)
    return completed(metrics, warnings, permutations=perms, seed=seed)
