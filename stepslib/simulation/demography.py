"""``simulation.demography``: an msprime Demography from the config, a demes YAML file or a stdpopsim
catalogue model -> a demes YAML (what ``simulation.ancestry`` reads) and a JSON description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepError, optional_path, single_path, step
from stepslib.simulation._common import completed, need

_POPULATION = {
    "type": "object", "required": ["name", "initial_size"], "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "initial_size": {"type": "number", "exclusiveMinimum": 0},
                   "growth_rate": {"type": "number", "default": 0},
                   "description": {"type": "string"}},
}
_SPLIT = {
    "type": "object", "required": ["time", "derived", "ancestral"], "additionalProperties": False,
    "properties": {"time": {"type": "number", "exclusiveMinimum": 0},
                   "derived": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                   "ancestral": {"type": "string"}},
}
_MIGRATION = {
    "type": "object", "required": ["source", "dest", "rate"], "additionalProperties": False,
    "properties": {"source": {"type": "string"}, "dest": {"type": "string"},
                   "rate": {"type": "number", "minimum": 0},
                   "symmetric": {"type": "boolean", "default": False}},
}

PARAMS = {
    "properties": {
        "populations": {"type": "array", "items": _POPULATION, "default": [
            {"name": "pop0", "initial_size": 10_000}],
            "description": "Populations (name, initial_size = Ne, growth_rate per generation)."},
        "splits": {"type": "array", "items": _SPLIT, "default": [],
                   "description": "Population splits, `time` generations ago (backwards in time "
                                  "the derived populations merge into the ancestral one)."},
        "migrations": {"type": "array", "items": _MIGRATION, "default": [],
                       "description": "Continuous migration rates (msprime's backwards-in-time "
                                      "source -> dest; symmetric: both ways)."},
        "catalogue": {"type": ["string", "null"], "default": None,
                      "description": "A stdpopsim model, 'Species/ModelId' (e.g. "
                                     "HomSap/OutOfAfrica_3G09); replaces the populations above. "
                                     "Rates come from the species' generic contig (no genetic "
                                     "maps: they need downloads)."},
    },
}


@step("simulation.demography", params=PARAMS, version="1",
      inputs={"demes_file": {"description": "a demes YAML model (replaces the config's "
                                            "populations; may be an empty list)", "required": False}},
      outputs={"demography": {"description": "the model as demes YAML", "suffixes": [".yaml", ".yml"]},
               "model": {"description": "JSON: source, populations, sampled populations, rates",
                         "suffixes": [".json"]}})
def demography(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
               context: Any) -> dict[str, Any]:
    """Build the demographic model; writes it as demes YAML and describes it in JSON."""
    msprime = need("msprime")
    demes = need("demes")
    demes_path = optional_path(inputs, "demes_file")
    rates: dict[str, float | None] = {"mutation_rate": None, "recombination_rate": None}
    if demes_path is not None and config["catalogue"]:
        raise StepError("give either a demes file or a stdpopsim catalogue model, not both")
    if demes_path is not None:
        source = f"demes file {demes_path}"
        try:
            model = msprime.Demography.from_demes(demes.load(str(demes_path)))
        except Exception as exc:  # demes raises many kinds of errors for a bad file
            raise StepError(f"cannot read demes file '{demes_path}': {exc}",
                            hint="see https://popsim-consortium.github.io/demes-spec-docs/") from None
    elif config["catalogue"]:
        source = f"stdpopsim {config['catalogue']}"
        model, rates = _catalogue(config["catalogue"])
    else:
        source = "config"
        model = _from_config(msprime, config)
    try:
        model.validate()
        graph = model.to_demes()
    except (ValueError, KeyError) as exc:  # e.g. migration between populations never alive together
        raise StepError(f"the demography is not valid: {exc}",
                        hint="populations exchange migrants only while both exist") from None
    Path(single_path(outputs, "demography", output=True)).write_text(demes.dumps(graph))
    sampled = [p.name for p in model.populations if not p.default_sampling_time]
    description = {"source": source, "sampled_populations": sampled, **rates,
                   "populations": [{"name": d.name, "start_time": d.start_time, "end_time": d.end_time,
                                    "sizes": [e.start_size for e in d.epochs]} for d in graph.demes]}
    Path(single_path(outputs, "model", output=True)).write_text(
        json.dumps(description, indent=2) + "\n")
    context.log.info("demography from %s: %d populations, sampled: %s", source,
                     model.num_populations, ", ".join(sampled))
    return completed({"source": source, "populations": model.num_populations,
                      "sampled_populations": sampled},
                     num_epochs=len(model.debug().epochs))


def _from_config(msprime: Any, config: dict[str, Any]) -> Any:
    model = msprime.Demography()
    names = set()
    for pop in config["populations"]:
        if pop["name"] in names:
            raise StepError(f"population '{pop['name']}' is listed twice")
        names.add(pop["name"])
        model.add_population(name=pop["name"], initial_size=pop["initial_size"],
                             growth_rate=pop.get("growth_rate", 0),
                             description=pop.get("description", ""))
    for split in config["splits"]:
        _known(names, [*split["derived"], split["ancestral"]], "split")
        model.add_population_split(time=split["time"], derived=split["derived"],
                                   ancestral=split["ancestral"])
    for mig in config["migrations"]:
        _known(names, [mig["source"], mig["dest"]], "migration")
        if mig.get("symmetric"):
            model.set_symmetric_migration_rate([mig["source"], mig["dest"]], mig["rate"])
        else:
            model.set_migration_rate(source=mig["source"], dest=mig["dest"], rate=mig["rate"])
    try:
        model.sort_events()
        model.validate()
    except ValueError as exc:
        raise StepError(f"the demography is not valid: {exc}") from None
    return model


def _known(names: set[str], used: list[str], what: str) -> None:
    unknown = [n for n in used if n not in names]
    if unknown:
        raise StepError(f"a {what} names unknown population(s): {', '.join(unknown)}",
                        hint=f"populations are: {', '.join(sorted(names))}")


def _catalogue(model_id: str) -> tuple[Any, dict[str, float | None]]:
    stdpopsim = need("stdpopsim")
    species_id, _, name = model_id.partition("/")
    try:
        species = stdpopsim.get_species(species_id)
        model = species.get_demographic_model(name)
    except (ValueError, KeyError) as exc:
        raise StepError(f"unknown stdpopsim model '{model_id}': {exc}",
                        hint="write Species/ModelId, e.g. HomSap/OutOfAfrica_3G09 "
                             "(python -m stdpopsim HomSap --help lists them)") from None
    contig = species.get_contig(length=100_000, mutation_rate=model.mutation_rate)
    rates: dict[str, float | None] = {"mutation_rate": float(contig.mutation_rate),
             "recombination_rate": float(contig.recombination_map.mean_rate)}
    return model.model.copy(), rates
