"""DNA step library (``dna.*``): reads -> variant calls (``specs/dna/variants.yaml``) and
sequences -> trees (``specs/dna/phylo.yaml``).

Importing this package registers the steps; heavy libraries (numpy, pandas, matplotlib,
scikit-bio, pysam) are imported inside the step functions only.
"""

from stepslib.dna import bamqc, calling, phylo, reads, reference, report, sequences, treeplot, vcfstats

__all__ = ["bamqc", "calling", "phylo", "reads", "reference", "report", "sequences", "treeplot",
           "vcfstats"]
