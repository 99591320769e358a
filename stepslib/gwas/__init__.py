"""GWAS step library (``gwas.*``): genotypes -> QC -> LD pruning -> PCA -> association.

Importing this package registers the steps; heavy libraries (numpy, pandas, scipy,
matplotlib, bed-reader, cyvcf2) are imported inside the step functions only.
"""

from stepslib.gwas import associate, calling, correct, ld, load, plots, qc, structure
from stepslib.gwas._entry import execute_gwas_workflow

__all__ = ["associate", "calling", "correct", "execute_gwas_workflow", "ld", "load", "plots", "qc",
           "structure"]
