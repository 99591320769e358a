# Independent reference for epigenome.dml: DSS::DMLtest(smoothing = FALSE) on DSS's own
# example data (four `chr pos N X` files). Usage: Rscript dss_reference.R OUT.tsv
# Writes DSS's per-CpG table (chr pos mu1 mu2 diff diff.se stat phi1 phi2 pval fdr).
suppressMessages(library(DSS))
args <- commandArgs(trailingOnly = TRUE)
path <- system.file("extdata", package = "DSS")
read1 <- function(name) read.table(file.path(path, name), header = TRUE)
bs <- makeBSseqData(list(read1("cond1_1.txt"), read1("cond1_2.txt"),
                         read1("cond2_1.txt"), read1("cond2_2.txt")),
                    c("C1", "C2", "N1", "N2"))
dml <- DMLtest(bs, group1 = c("C1", "C2"), group2 = c("N1", "N2"), smoothing = FALSE,
               ncores = 1)
write.table(dml, args[1], sep = "\t", quote = FALSE, row.names = FALSE)
