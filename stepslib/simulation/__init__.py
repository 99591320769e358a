"""Simulation step library (``simulation.*``): msprime coalescent populations -> VCF, FASTA,
statistics, planted phenotypes and reads for the other domains; MetaInformAnt's `sequences`,
`expression` and `agents` models.

Importing this package registers the steps; msprime, tskit, numpy and matplotlib are imported
inside the step functions only.
"""

from stepslib.simulation import ancestry, demography, export, mi_models, phenotype, reads, report, stats
from stepslib.simulation._entry import execute_simulation_workflow

__all__ = ["ancestry", "demography", "execute_simulation_workflow", "export", "mi_models",
           "phenotype", "reads", "report", "stats"]
