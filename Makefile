# make demo  -> .venv + project + external tools, then the amalgkit example workflow
# make test  -> .venv + project with test extras + tools, then the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# command -> Debian package providing it
TOOLS  := kallisto:kallisto fastp:fastp plink2:plink2 bcftools:bcftools dot:graphviz \
          chromium:chromium chromedriver:chromium-driver Rscript:r-base-core \
          gemma:gemma bwa:bwa samtools:samtools
# DNA domain (specs/dna): aligners, callers, simulators, MSA/tree tools
TOOLS  += minimap2:minimap2 freebayes:freebayes bgzip:tabix \
          dwgsim:dwgsim seqkit:seqkit mafft:mafft iqtree2:iqtree fasttree:fasttree
# simulation (#16): the VCF checks and read simulation
TOOLS  += vcftools:vcftools tabix:tabix
# file the tests read -> Debian package providing it
DATA   := /usr/share/doc/kallisto/test/quant_out/abundance.tsv:kallisto-examples \
          /usr/lib/R/site-library/edgeR/DESCRIPTION:r-bioc-edger \
          /usr/lib/R/site-library/vegan/DESCRIPTION:r-cran-vegan \
          /usr/lib/R/site-library/ape/DESCRIPTION:r-cran-ape \
          /usr/lib/R/site-library/DSS/DESCRIPTION:r-bioc-dss \
          /usr/lib/R/site-library/bsseq/DESCRIPTION:r-bioc-bsseq
# epigenome (#14): intervals, ChIP-seq alignment and peaks
TOOLS  += bedtools:bedtools bowtie2:bowtie2 bowtie2-build:bowtie2 macs2:macs
SPEC   ?= specs/rna/amalgkit.yaml

.PHONY: demo test test-quick tools venv dev lint typecheck bench clean help

help:
	@echo "make demo   run $(SPEC) on the bundled example data"
	@echo "make test   run the whole test suite"
	@echo "make test-quick   the suite without the tests marked slow"
	@echo "make lint   ruff + mypy (--strict for engine) + import-linter contracts"
	@echo "make bench  planning benchmarks (bench/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

# External tools come from Debian. As root with apt-get we install what is missing;
# otherwise we print the exact command and stop.
tools:
	@missing=""; for pair in $(TOOLS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	for pair in $(DATA); do file=$${pair%%:*}; pkg=$${pair##*:}; \
	  [ -e $$file ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing external tools:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing external tools:$$missing"; \
	    echo "install them with: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

demo: venv tools
	$(BIN)/mi-run $(SPEC)

test: dev tools
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# the quick tier while working: everything but the tests marked slow (R, MACS2, msprime
# replicates, real pipelines...), which `make test` and CI run too
test-quick: dev tools
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check engine stepslib tests bench examples
	$(BIN)/mypy --strict engine
	$(BIN)/mypy stepslib
	$(BIN)/lint-imports

bench: dev
	$(BIN)/python bench/plan_bench.py

clean:
	rm -rf $(VENV) .mi output .pytest_cache .mypy_cache .ruff_cache
