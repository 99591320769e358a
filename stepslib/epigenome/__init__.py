"""Epigenome step library (``epigenome.*``): CpG counts -> QC -> β -> per-chromosome summary ->
differential methylation (the DSS model) -> DMRs -> peak overlap -> report; and ChIP-seq reads
-> peaks (bowtie2, samtools, MACS2, bedtools).

Importing this package registers the steps; numpy, pandas, scipy and matplotlib are imported
inside the step functions only.
"""

from stepslib.epigenome import beta, chipseq, consensus, dml, load, peaks, qc, report
from stepslib.epigenome._entry import execute_epigenome_workflow

__all__ = ["beta", "chipseq", "consensus", "dml", "execute_epigenome_workflow", "load", "peaks", "qc",
           "report"]
