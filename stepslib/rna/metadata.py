"""rna.metadata: the amalgkit metadata table, from NCBI SRA (via amalgkit) or a saved SRA XML.

Querying NCBI needs the network and the ``amalgkit`` CLI (Biopython Entrez, ete4 taxonomy), so
that path wraps ``amalgkit metadata``. A saved ``EXPERIMENT_PACKAGE_SET`` XML (what
``efetch -db sra -format xml`` returns) is parsed here in plain Python, offline: one row per
RUN with amalgkit's columns (``sample_group`` = lower-case tissue, SAMPLE_ATTRIBUTE tags as
extra columns). Taxonomy ranks (``taxid_<rank>``) need NCBI's taxdump and are left to amalgkit.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engine import StepContext, StepError, optional_path, single_path, step
from stepslib.rna.metadata_io import METADATA_COLUMNS, YES_NO

AMALGKIT_INSTALL_HINT = (
    "amalgkit is not on PyPI: install it with 'conda install -c bioconda amalgkit' or "
    "'pip install git+https://github.com/kfuku52/amalgkit'; it needs network access to NCBI. "
    "Offline alternatives: give a saved SRA XML as input 'xml', or describe local FASTQ files "
    "with rna.integrate"
)

# SAMPLE_ATTRIBUTE tags that fill a standard column of the same meaning.
_ATTRIBUTE_COLUMNS = {
    "tissue": "tissue", "genotype": "genotype", "sex": "sex", "age": "age",
    "treatment": "treatment", "source_name": "source_name", "cell_line": "cell",
    "biomaterial_provider": "biomaterial_provider",
    "geo_loc_name": "location", "antibody": "antibody", "batch": "batch",
}


def _text(node: ElementTree.Element | None, path: str = "") -> str:
    found = node.find(path) if node is not None and path else node
    if found is None or found.text is None:
        return ""
    return " ".join(found.text.split())


def _attr(node: ElementTree.Element | None, path: str, name: str) -> str:
    found = node.find(path) if node is not None and path else node
    return "" if found is None else found.get(name, "")


def _external_id(node: ElementTree.Element | None, namespace: str) -> str:
    if node is None:
        return ""
    for ext in node.iter("EXTERNAL_ID"):
        if ext.get("namespace", "").lower() == namespace.lower():
            return (ext.text or "").strip()
    return ""


def _tag_name(tag: str) -> str:
    return "_".join(tag.strip().lower().replace("-", " ").split())


def _package_rows(package: ElementTree.Element) -> list[dict[str, str]]:
    experiment = package.find("EXPERIMENT")
    submission = package.find("SUBMISSION")
    organization = package.find("Organization")
    study = package.find("STUDY")
    sample = package.find("SAMPLE")
    library = experiment.find("DESIGN/LIBRARY_DESCRIPTOR") if experiment is not None else None
    layout = library.find("LIBRARY_LAYOUT") if library is not None else None
    paired = layout.find("PAIRED") if layout is not None else None
    platform = experiment.find("PLATFORM") if experiment is not None else None
    instrument = ""
    if platform is not None and len(platform):
        instrument = _text(platform[0], "INSTRUMENT_MODEL")
    pubmed = ""
    if study is not None:
        for link in study.iter("XREF_LINK"):
            if _text(link, "DB").lower() == "pubmed":
                pubmed = _text(link, "ID")
    base = {
        "experiment": _attr(experiment, "", "accession"),
        "exp_title": _text(experiment, "TITLE"),
        "design": _text(experiment, "DESIGN/DESIGN_DESCRIPTION"),
        "lib_name": _text(library, "LIBRARY_NAME"),
        "lib_strategy": _text(library, "LIBRARY_STRATEGY"),
        "lib_source": _text(library, "LIBRARY_SOURCE"),
        "lib_selection": _text(library, "LIBRARY_SELECTION"),
        "lib_layout": "paired" if paired is not None else "single" if layout is not None else "",
        "nominal_length": paired.get("NOMINAL_LENGTH", "") if paired is not None else "",
        "nominal_sdev": paired.get("NOMINAL_SDEV", "") if paired is not None else "",
        "instrument": instrument,
        "sra_primary": _attr(submission, "", "accession"),
        "lab": _attr(submission, "", "lab_name"),
        "center": _attr(submission, "", "center_name") or _text(organization, "Name"),
        "submitter_id": _text(submission, "IDENTIFIERS/SUBMITTER_ID"),
        "sra_study": _attr(study, "", "accession"),
        "bioproject": _external_id(study, "BioProject"),
        "study_title": _text(study, "DESCRIPTOR/STUDY_TITLE"),
        "pubmed_id": pubmed,
        "sra_sample": _attr(sample, "", "accession"),
        "biosample": _external_id(sample, "BioSample"),
        "sample_title": _text(sample, "TITLE"),
        "sample_description": _text(sample, "DESCRIPTION"),
        "scientific_name": _text(sample, "SAMPLE_NAME/SCIENTIFIC_NAME"),
        "taxid": _text(sample, "SAMPLE_NAME/TAXON_ID"),
    }
    attributes: dict[str, str] = {}
    if sample is not None:
        for attribute in sample.iter("SAMPLE_ATTRIBUTE"):
            tag = _tag_name(_text(attribute, "TAG"))
            if tag:
                attributes[tag] = _text(attribute, "VALUE")
    for tag, column in _ATTRIBUTE_COLUMNS.items():
        if attributes.get(tag) and not base.get(column):
            base[column] = attributes[tag]
    base["sample_group"] = base.get("tissue", "").lower()
    base["scientific_name_original"] = base["scientific_name"]
    rows = []
    for run in package.iter("RUN"):
        row: dict[str, str] = dict(base)
        row["run"] = run.get("accession", "")
        row["total_spots"] = run.get("total_spots", "")
        row["total_bases"] = run.get("total_bases", "")
        row["size"] = run.get("size", "")
        row["published_date"] = run.get("published", "")
        if row["total_spots"] and row["total_bases"] and float(row["total_spots"]) > 0:
            row["spot_length"] = str(round(float(row["total_bases"]) / float(row["total_spots"])))
        for alternative in run.iter("Alternatives"):
            org = alternative.get("org", "").upper()
            mirror = {"NCBI": "NCBI_Link", "AWS": "AWS_Link", "GCP": "GCP_Link"}.get(org)
            if mirror and not row.get(mirror):
                row[mirror] = alternative.get("url", "")
        row.update({k: v for k, v in attributes.items() if k not in row})
        rows.append(row)
    return rows


def parse_sra_xml(path: str | Path) -> Any:
    """An SRA ``EXPERIMENT_PACKAGE_SET`` XML as an amalgkit metadata table (one row per RUN)."""
    import pandas as pd

    from stepslib.rna.metadata_io import order_columns

    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise StepError(f"cannot parse SRA XML '{path}': {exc}") from None
    packages = [root] if root.tag == "EXPERIMENT_PACKAGE" else root.findall("EXPERIMENT_PACKAGE")
    if root.tag not in ("EXPERIMENT_PACKAGE_SET", "EXPERIMENT_PACKAGE"):
        raise StepError(f"'{path}' is not an SRA EXPERIMENT_PACKAGE_SET XML (root <{root.tag}>)",
                        hint="fetch it with: efetch -db sra -id <ids> -format xml")
    rows = [row for package in packages for row in _package_rows(package)]
    frame = pd.DataFrame(rows, columns=None if rows else list(METADATA_COLUMNS)).fillna("")
    frame["is_sampled"] = "yes"
    frame["is_qualified"] = "yes"
    frame["exclusion"] = "no"
    return order_columns(frame.astype(str))


@step(
    "rna.metadata",
    inputs={
        "xml": {"description": "efetch -db sra -format xml output (instead of a search)",
                "required": False},
    },
    outputs={
        "metadata": "the metadata table",
    },
    version="1",
    params={
        "properties": {
            "search_string": {
                "type": ["string", "null"], "default": None,
                "description": "Entrez query for NCBI SRA, e.g. '\"Apis mellifera\"[Organism] "
                               "AND \"Illumina\"[Platform] AND \"RNA-Seq\"[Strategy]' "
                               "(needs amalgkit and network; unused with input 'xml').",
            },
            "entrez_email": {
                "type": ["string", "null"], "default": None,
                "description": "Your e-mail address, sent to NCBI Entrez as required by NCBI.",
            },
            "resolve_names": {**YES_NO, "default": "yes",
                              "description": "amalgkit: resolve synonyms to the NCBI species "
                                             "name (taxonomy lookup)."},
            "redo": {**YES_NO, "default": "no",
                     "description": "amalgkit: re-download even if metadata exists."},
        },
    },
)
def metadata(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
             context: StepContext) -> dict[str, Any]:
    """Build the amalgkit metadata table: parse a saved SRA XML (input 'xml'), else run
    ``amalgkit metadata`` (network). Output 'metadata' is the table (metadata/metadata.tsv)."""
    from stepslib.rna.metadata_io import write_metadata

    target = single_path(outputs, "metadata", output=True)
    xml = optional_path(inputs, "xml")
    if xml is not None:
        frame = parse_sra_xml(xml)
        write_metadata(frame, target)
        context.log.info("parsed %d runs from %s", len(frame), xml)
        return {"status": "completed", "metadata": {"runs": len(frame)}}
    if not config["search_string"]:
        raise StepError("rna.metadata needs param 'search_string' (or an input 'xml')")
    if not config["entrez_email"]:
        raise StepError("rna.metadata needs param 'entrez_email' to query NCBI Entrez")
    if shutil.which("amalgkit") is None:
        raise StepError("rna.metadata needs the 'amalgkit' command to query NCBI SRA, and it "
                        "is not on PATH", hint=AMALGKIT_INSTALL_HINT)
    out_dir = context.tmp_dir / "amalgkit"
    out_dir.mkdir(parents=True, exist_ok=True)
    context.run(["amalgkit", "metadata", "--out_dir", out_dir,
                 "--search_string", config["search_string"],
                 "--entrez_email", config["entrez_email"],
                 "--resolve_names", config["resolve_names"], "--redo", config["redo"]])
    produced = out_dir / "metadata" / "metadata.tsv"
    if not produced.exists():
        raise StepError(f"amalgkit metadata finished but wrote no {produced}",
                        hint=f"see the log: {context.log_path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(produced, target)
    return {"status": "completed"}
