"""The external tools mi-run knows: which Debian package provides each, how to ask its version,
and :func:`require_tool`, the one way a step (or the engine) finds one or says what to install.

:data:`TOOLS` is the single map the step libraries, ``engine.running.toolversions`` and the
graph renderer read. A tool with a ``package`` is installed by ``make tools`` (the Makefile's
``TOOLS`` list; tests/engine/test_tools.py keeps the two in step and checks each package with
``dpkg -S`` where the tool is installed). A tool without one is not packaged in Debian, or not
installed by ``make tools``: mi-run only asks its version when a shell step names it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import ToolMissingError


@dataclass(frozen=True)
class Tool:
    """``package``: the Debian package that provides the command (None: not one ``make tools``
    installs); ``version``: the arguments that make it print its version (first line kept);
    ``install``: how to get it when it is not a Debian package."""

    package: str | None
    version: tuple[str, ...] = ("--version",)
    install: str | None = None


TOOLS: Mapping[str, Tool] = {
    # RNA-seq
    "kallisto": Tool("kallisto", ("version",)),
    "fastp": Tool("fastp"),
    # GWAS
    "plink2": Tool("plink2"),
    "gemma": Tool("gemma"),
    # alignment, calling and their file tools (DNA, GWAS calling, ChIP-seq, simulation)
    "bwa": Tool("bwa", ()),  # no --version: its usage page holds the version
    "minimap2": Tool("minimap2"),
    "bowtie2": Tool("bowtie2"),
    "bowtie2-build": Tool("bowtie2"),
    "samtools": Tool("samtools"),
    "bcftools": Tool("bcftools"),
    "freebayes": Tool("freebayes"),
    "bgzip": Tool("tabix"),
    "tabix": Tool("tabix"),
    "vcftools": Tool("vcftools"),
    "dwgsim": Tool("dwgsim", ()),  # likewise
    "seqkit": Tool("seqkit", ("version",)),
    # phylogenies
    "mafft": Tool("mafft"),
    "iqtree2": Tool("iqtree"),
    "fasttree": Tool("fasttree", ()),  # prints its version, then reads an empty stdin
    # epigenome
    "bedtools": Tool("bedtools"),
    "macs2": Tool("macs"),
    # R (the checks against R's packages) and graphviz (--graph, the run report)
    "Rscript": Tool("r-base-core"),
    "dot": Tool("graphviz", ("-V",)),
    # Known to shell steps only: their versions go into the run record when a command names
    # them, but make tools does not install them.
    "plink": Tool(None), "salmon": Tool(None), "STAR": Tool(None), "hisat2": Tool(None),
    "cutadapt": Tool(None), "multiqc": Tool(None), "gatk": Tool(None),
    "fasterq-dump": Tool(None), "prefetch": Tool(None), "datasets": Tool(None),
    "amalgkit": Tool(None, install="pip install amalgkit"),
}


def require_tool(tool: str, package: str | None = None) -> str:
    """Absolute path of ``tool`` on PATH, or a :class:`ToolMissingError` that names its Debian
    package (from :data:`TOOLS`, unless ``package`` is given) and ``make tools``."""
    found = shutil.which(tool)
    if found is not None:
        return found
    known = TOOLS.get(tool)
    if package is None and known is not None and known.package is None:
        raise ToolMissingError(tool, hint=known.install or f"install '{tool}' and put it on PATH")
    raise ToolMissingError(tool, package or (known.package if known else None))


def require_tools(*tools: str) -> dict[str, str]:
    """Tool -> absolute path for each of ``tools``; the first missing one raises as
    :func:`require_tool` does."""
    return {tool: require_tool(tool) for tool in tools}
