"""``simulation.export``: the mutated tree sequence as bgzipped VCF (+ tabix index), a samples table
with population labels, haplotype FASTA and the reference FASTA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import single_path, step
from stepslib.simulation._common import completed, individual_names, load_trees, population_name

PARAMS = {
    "properties": {
        "contig": {"type": "string", "default": "1", "description": "CHROM of the VCF and FASTA."},
        "wrap_width": {"type": "integer", "minimum": 0, "default": 60},
    },
}


@step("simulation.export", params=PARAMS, version="1", tools=["bgzip", "tabix"],
      inputs={"trees": "tree sequence with mutations (simulation.mutations)"},
      outputs={"vcf": {"description": "bgzipped VCF (tabix index written beside it)",
                       "suffixes": [".vcf.gz"]},
               "samples": {"description": "TSV sample_id, population, ploidy, nodes",
                           "suffixes": [".tsv"]},
               "haplotypes": {"description": "one sequence per haplotype, <sample>_<k>",
                              "suffixes": [".fa", ".fasta"]},
               "reference": {"description": "the reference sequence", "suffixes": [".fa", ".fasta"]}})
def export(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: Any) -> dict[str, Any]:
    """Write what other tools read; positions are 1-based (tskit's 0-based site + 1)."""
    bgzip = context.require_tool("bgzip")
    tabix = context.require_tool("tabix")
    ts = load_trees(single_path(inputs, "trees"))
    names = individual_names(ts)
    vcf_gz = Path(single_path(outputs, "vcf", output=True))
    plain = vcf_gz.with_suffix("")  # .vcf
    raw = Path(context.tmp_dir) / "tskit.vcf"
    with open(raw, "w") as handle:
        ts.write_vcf(handle, contig_id=config["contig"], individual_names=names,
                     position_transform=lambda pos: [int(p) + 1 for p in pos])
    _fix_contig_length(raw, plain, config["contig"], int(ts.sequence_length))
    vcf_gz.unlink(missing_ok=True)
    context.run([bgzip, "--force", str(plain)])  # -> plain + .gz, deterministic bytes
    context.run([tabix, "--force", "-p", "vcf", str(vcf_gz)])
    _samples_table(ts, names, Path(single_path(outputs, "samples", output=True)))
    _haplotypes(ts, names, config, Path(single_path(outputs, "haplotypes", output=True)))
    reference = ts.reference_sequence.data if ts.has_reference_sequence() else None
    ref_out = Path(single_path(outputs, "reference", output=True))
    if reference is None:
        reference = "N" * int(ts.sequence_length)
    _write_fasta(ref_out, [(config["contig"], reference)], config["wrap_width"])
    context.log.info("VCF: %d sites x %d individuals", ts.num_sites, ts.num_individuals)
    return completed({"sites": ts.num_sites, "individuals": ts.num_individuals,
                      "haplotypes": ts.num_samples},
                     vcf=str(vcf_gz), index=f"{vcf_gz}.tbi")


def _fix_contig_length(raw: Path, plain: Path, contig: str, length: int) -> None:
    """tskit sizes the contig from the shifted last position (L + 1); the reference is L bp."""
    with open(raw) as source, open(plain, "w") as target:
        for line in source:
            if line.startswith(f"##contig=<ID={contig},"):
                line = f"##contig=<ID={contig},length={length}>\n"
            target.write(line)
            if line.startswith("#CHROM"):
                break
        for block in iter(lambda: source.read(1 << 20), ""):
            target.write(block)


def _samples_table(ts: Any, names: list[str], path: Path) -> None:
    rows = ["sample_id\tpopulation\tploidy\tnodes"]
    for ind, name in zip(ts.individuals(), names):
        pop = population_name(ts, int(ts.node(ind.nodes[0]).population))
        rows.append(f"{name}\t{pop}\t{len(ind.nodes)}\t{','.join(str(n) for n in ind.nodes)}")
    path.write_text("\n".join(rows) + "\n")


def _haplotypes(ts: Any, names: list[str], config: dict[str, Any], path: Path) -> None:
    """Full-length haplotypes: the reference with each sample's alleles at the sites."""
    reference = ts.reference_sequence.data if ts.has_reference_sequence() else None
    labels = {int(node): f"{name}_{k + 1}" for ind, name in zip(ts.individuals(), names)
              for k, node in enumerate(ind.nodes)}
    records = []
    for node, sequence in zip(ts.samples(), ts.alignments(
            reference_sequence=reference, missing_data_character="N")):
        records.append((labels.get(int(node), f"node{node}"), sequence))
    _write_fasta(path, records, config["wrap_width"])


def _write_fasta(path: Path, records: list[tuple[str, str]], width: int) -> None:
    with open(path, "w") as handle:
        for name, sequence in records:
            handle.write(f">{name}\n")
            step_ = width or len(sequence) or 1
            for start in range(0, len(sequence), step_):
                handle.write(sequence[start:start + step_] + "\n")
