"""``dna.stats``: bcftools stats of the final calls: counts, Ts/Tv, per-sample counts."""

from __future__ import annotations

from typing import Any

from engine import StepContext, require_tool, single_path, step
from stepslib.dna._tools import capture, result

PSC_COLUMNS = ["sample", "n_ref_hom", "n_non_ref_hom", "n_het", "n_transitions",
               "n_transversions", "n_indels", "mean_depth", "n_singletons", "n_hap_ref",
               "n_hap_alt", "n_missing"]


def parse_stats(text: str) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The SN and TSTV sections (summary) and the PSC section (one dict per sample)."""
    summary: dict[str, float] = {}
    samples: list[dict[str, Any]] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "SN":
            key = fields[2].rstrip(":").replace("number of ", "").replace(" ", "_")
            summary[key] = float(fields[3])
        elif fields[0] == "TSTV":
            summary.update(ts=float(fields[2]), tv=float(fields[3]), ts_tv=float(fields[4]))
        elif fields[0] == "PSC":
            values = fields[2:2 + len(PSC_COLUMNS)]
            samples.append({name: (value if name == "sample" else float(value))
                            for name, value in zip(PSC_COLUMNS, values)})
    return summary, samples


@step(
    "dna.stats",
    version="1",
    tools=["bcftools"],
    inputs={"vcf": "final calls (bgzipped, indexed)", "index": "its index"},
    outputs={"stats": {"description": "bcftools stats output", "suffixes": [".txt"]},
             "per_sample": {"description": "per-sample counts", "suffixes": [".tsv"]}},
)
def stats(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
          context: StepContext) -> dict[str, Any]:
    """SNP and indel counts, Ts/Tv, and per sample: hom/het/haploid ALT genotypes, indels."""
    import pandas as pd

    bcftools = require_tool("bcftools")
    text = capture(context, [bcftools, "stats", "-s", "-", single_path(inputs, "vcf")])
    single_path(outputs, "stats", output=True).write_text(text)
    summary, samples = parse_stats(text)
    table = pd.DataFrame(samples, columns=PSC_COLUMNS)
    # bcftools' PSC counts SNP genotypes and indels apart; a sample's variant count here is
    # every record where its genotype carries an ALT allele, SNP or indel
    table["n_variants"] = table["sample"].map(
        _alt_carriers(capture(context, [bcftools, "query", "-f", "[%SAMPLE=%GT\t]\n",
                                        single_path(inputs, "vcf")]))).fillna(0)
    table.to_csv(single_path(outputs, "per_sample", output=True), sep="\t", index=False)
    output = {"records": int(summary.get("records", 0)), "snps": int(summary.get("SNPs", 0)),
              "indels": int(summary.get("indels", 0)), "ts_tv": summary.get("ts_tv"),
              "per_sample_variants": dict(zip(table["sample"], table["n_variants"].astype(int)))}
    return result(output, multiallelic_sites=int(summary.get("multiallelic_sites", 0)))


def _alt_carriers(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        for entry in line.rstrip("\t").split("\t"):
            sample, _, genotype = entry.rpartition("=")
            alleles = genotype.replace("|", "/").split("/")
            counts[sample] = counts.get(sample, 0) + any(a not in ("0", ".") for a in alleles)
    return counts
