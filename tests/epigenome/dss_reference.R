# Independent reference for epigenome.dml: DSS::DMLtest(smoothing = FALSE) on DSS's own
# example data (four `chr pos N X` files).
# Usage: Rscript dss_reference.R DML.tsv DMLS.tsv DMRS.tsv: DSS's per-CpG table, callDML(p.threshold
# = 0.001) and callDMR(p.threshold = 0.01).
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
dmls <- callDML(dml, p.threshold = 0.001)  # DSS's default delta = 0.1
write.table(dmls, args[2], sep = "\t", quote = FALSE, row.names = FALSE)
dmrs <- callDMR(dml, p.threshold = 0.01)
write.table(dmrs, args[3], sep = "\t", quote = FALSE, row.names = FALSE)
