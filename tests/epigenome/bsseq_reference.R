# Independent reference for epigenome.load + epigenome.beta: bsseq::read.bismark and
# getMeth(type = "raw") on a Bismark coverage file or CpG report.
# Usage: Rscript bsseq_reference.R IN OUT.tsv  (writes chrom, pos, M, Cov, beta)
suppressMessages(library(bsseq))
args <- commandArgs(trailingOnly = TRUE)
bs <- read.bismark(args[1], strandCollapse = TRUE, verbose = FALSE)
gr <- granges(bs)
out <- data.frame(chrom = as.character(seqnames(gr)), pos = start(gr),
                  M = as.vector(getCoverage(bs, type = "M")),
                  Cov = as.vector(getCoverage(bs, type = "Cov")),
                  beta = as.vector(getMeth(bs, type = "raw")))
write.table(out, args[2], sep = "\t", quote = FALSE, row.names = FALSE)
