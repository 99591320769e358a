"""``simulation.ancestry`` and ``simulation.mutations``: msprime's coalescent with recombination, then
mutations (binary model by default) placed on a seeded reference sequence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import StepError, single_path, step
from stepslib.simulation._common import SEED_OFFSET, SEED_PARAM, completed, dump_trees, load_trees, need

ANCESTRY_PARAMS = {
    "properties": {
        "samples": {"type": ["object", "null"], "default": None,
                    "additionalProperties": {"type": "integer", "minimum": 0},
                    "description": "Individuals per population ({A: 50, B: 50}); null = `n` from "
                                   "each population sampled at time 0."},
        "n": {"type": "integer", "minimum": 1, "default": 100,
              "description": "Individuals per sampled population when `samples` is null "
                             "(MetaInformAnt's --n)."},
        "ploidy": {"type": "integer", "minimum": 1, "default": 2},
        "sequence_length": {"type": "integer", "minimum": 1, "default": 1_000_000},
        "recombination_rate": {"type": ["number", "null"], "minimum": 0, "default": 1e-8,
                               "description": "Per bp per generation; null = the catalogue "
                                              "species' mean rate."},
        "seed": SEED_PARAM,
    },
}


@step("simulation.ancestry", params=ANCESTRY_PARAMS, version="1",
      inputs={"demography": "demes YAML from simulation.demography", "model": "its JSON description"},
      outputs={"trees": {"description": "the genealogy (tskit)", "suffixes": [".trees"]}})
def ancestry(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
             context: Any) -> dict[str, Any]:
    """``msprime.sim_ancestry`` on the model (discrete genome, Hudson coalescent)."""
    msprime = need("msprime")
    demes = need("demes")
    model = msprime.Demography.from_demes(demes.load(str(single_path(inputs, "demography"))))
    for event in model.events:
        # from_demes lists a split's derived populations in set order, which changes with the
        # process's string hash seed (and with it the draws): sorted, reruns are identical
        if isinstance(event, msprime.demography.PopulationSplit):
            event.derived = sorted(event.derived)
    description = json.loads(Path(single_path(inputs, "model")).read_text())
    samples = config["samples"]
    if samples is None:
        samples = {name: config["n"] for name in description["sampled_populations"]}
    unknown = sorted(set(samples) - {p.name for p in model.populations})
    if unknown:
        raise StepError(f"samples name unknown population(s): {', '.join(unknown)}",
                        hint="populations: " + ", ".join(p.name for p in model.populations))
    rate = _rate(config["recombination_rate"], description, "recombination_rate")
    try:
        ts = msprime.sim_ancestry(
            samples={k: v for k, v in samples.items() if v}, demography=model,
            ploidy=config["ploidy"], sequence_length=config["sequence_length"],
            recombination_rate=rate, random_seed=config["seed"] + SEED_OFFSET["ancestry"])
    except (ValueError, msprime.InputError) as exc:
        raise StepError(f"msprime cannot simulate this: {exc}") from None
    dump_trees(ts, single_path(outputs, "trees", output=True))
    context.log.info("%d samples, %d trees over %d bp", ts.num_samples, ts.num_trees,
                     int(ts.sequence_length))
    return completed({"samples": ts.num_samples, "individuals": ts.num_individuals,
                      "trees": ts.num_trees, "sequence_length": int(ts.sequence_length)},
                     recombination_rate=rate, samples_per_population=samples)


def _rate(value: float | None, description: dict[str, Any], key: str) -> float:
    if value is not None:
        return float(value)
    if description.get(key) is None:
        raise StepError(f"{key} is null and the demography gives none",
                        hint=f"set {key}, or use a stdpopsim catalogue model, which has one")
    return float(description[key])


MUTATION_PARAMS = {
    "properties": {
        "rate": {"type": ["number", "null"], "minimum": 0, "default": 1e-8,
                 "description": "Per bp per generation; null = the catalogue species' rate."},
        "model": {"enum": ["binary", "jc69", "hky", "f84", "gtr"],
                  "default": "binary",
                  "description": "binary (default) gives biallelic sites only: tools disagree on "
                                 "multiallelic ones, which JC69 (msprime's default) makes."},
        "gc_content": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                       "description": "GC content of the random reference sequence."},
        "seed": SEED_PARAM,
    },
}


@step("simulation.mutations", params=MUTATION_PARAMS, version="1",
      inputs={"trees": "genealogy from simulation.ancestry", "model": "JSON from simulation.demography"},
      outputs={"trees": {"description": "with sites and mutations", "suffixes": [".trees"]}})
def mutations(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
              context: Any) -> dict[str, Any]:
    """``msprime.sim_mutations``; binary alleles become nucleotides of a seeded reference."""
    msprime = need("msprime")
    ts = load_trees(single_path(inputs, "trees"))
    description = json.loads(Path(single_path(inputs, "model")).read_text())
    rate = _rate(config["rate"], description, "mutation_rate")
    models = {"binary": msprime.BinaryMutationModel, "jc69": msprime.JC69, "hky": msprime.HKY,
              "f84": msprime.F84, "gtr": msprime.GTR}
    factory = models[config["model"]]
    if config["model"] in ("hky", "f84"):
        model = factory(kappa=2.0)
    elif config["model"] == "gtr":
        model = factory(relative_rates=[1.0] * 6)
    else:
        model = factory()
    mutated = msprime.sim_mutations(ts, rate=rate, model=model, discrete_genome=True,
                                    random_seed=config["seed"] + SEED_OFFSET["mutations"])
    mutated = _on_reference(mutated, config, binary=config["model"] == "binary")
    multi = sum(1 for site in mutated.sites() if len({m.derived_state for m in site.mutations}
                                                     | {site.ancestral_state}) > 2)
    dump_trees(mutated, single_path(outputs, "trees", output=True))
    warnings = [f"{multi} multiallelic site(s): scikit-allel, vcftools and tskit disagree on "
                "them (use model: binary)"] if multi else []
    context.log.info("%d sites, %d mutations (%s model, rate %g)", mutated.num_sites,
                     mutated.num_mutations, config["model"], rate)
    return completed({"sites": mutated.num_sites, "mutations": mutated.num_mutations,
                      "multiallelic_sites": multi}, warnings, model=config["model"],
                     mutation_rate=rate)


def _on_reference(ts: Any, config: dict[str, Any], *, binary: bool) -> Any:
    """Attach a random reference (seeded, GC content) and express the alleles as bases.

    Binary 0/1 alleles become the reference base and a seeded other base per site; nucleotide
    models keep their alleles and the reference takes each site's ancestral base.
    """
    import numpy as np

    length = int(ts.sequence_length)
    rng = np.random.default_rng(config["seed"] + SEED_OFFSET["reference"])
    gc = config["gc_content"]
    bases = np.array(list("ACGT"))
    reference = rng.choice(bases, size=length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    tables = ts.dump_tables()
    positions = tables.sites.position.astype(int)
    if binary and ts.num_sites:
        ref = reference[positions]
        shift = rng.integers(1, 4, size=len(positions))  # another base, uniformly
        alt = bases[(np.searchsorted(bases, ref) + shift) % 4]
        allele = {"0": 0, "1": 1}
        tables.sites.packset_ancestral_state(list(ref))
        derived = [alt[m.site] if allele[m.derived_state] else ref[m.site]
                   for m in tables.mutations]
        tables.mutations.packset_derived_state(derived)
    elif ts.num_sites and all(len(s.ancestral_state) == 1 for s in ts.sites()):
        reference[positions] = [s.ancestral_state for s in ts.sites()]
    tables.reference_sequence.data = "".join(reference)
    return tables.tree_sequence()
