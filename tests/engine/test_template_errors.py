"""Template errors: one mistake, one message, at its line (issue #11)."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = """\
name: te
config:
  genome: hg38
  genomes: {hg38: {fasta: ref.fa}}
steps:
  - name: count
    foreach: {table: sheet.tsv, key: sample}
    outputs: {n: "out/{{ item.sample }}.n"}
    inputs: {ref: "{{ genomes[genome].fasta }}"}
    run: >-
      echo {{ item.depth }}
      {{ item.smaple }} > {{ outputs.n }}
  - name: index
    inputs: {ref: "{{ genomes[genome].fasta }}"}
    outputs: {fai: "{{ genomes[genome].fasta }}.fai"}
    run: "samtools faidx {{ inputs.ref }}"
"""


@pytest.fixture
def sheet(workdir: Path) -> Path:
    rows = "".join(f"s{i}\t{i}\n" for i in range(300))
    (workdir / "sheet.tsv").write_text("sample\tdepth\n" + rows)
    (workdir / "ref.fa").write_text(">c\nACGT\n")
    return workdir


def test_a_typo_in_a_300_item_fan_out_is_one_error_at_the_expression(cli, spec_file,
                                                                     sheet: Path) -> None:
    spec = spec_file(SPEC)
    code, out, err = cli(str(spec), "--dry-run")
    assert code == 2 and out == ""
    assert err.count("error:") == 1, err
    # line 12, inside the '>-' block scalar, at the column of 'item.smaple'
    assert (f"{spec}:12:10: error: step 'count': in 'run': item has no key 'smaple' "
            "(300 instances)") in err
    assert "\n          {{ item.smaple }} > {{ outputs.n }}\n" + " " * 13 + "^\n" in err
    assert "hint: did you mean 'sample'?" in err
    assert "dict object" not in err and "attribute" not in err


def test_a_bad_config_value_is_reported_once_at_its_origin(cli, spec_file, sheet: Path) -> None:
    spec = spec_file(SPEC.replace("{{ item.smaple }}", "{{ item.sample }}"))
    code, _, err = cli(str(spec), "--dry-run", "--set", "genome=hg19")
    assert code == 2
    assert err.count("error:") == 1, err
    assert ("--set genome=hg19: error: config 'genome' is 'hg19', but 'genomes' has no key "
            "'hg19'") in err
    assert "hint: genomes has: hg38" in err


def test_an_undefined_name_in_a_path_points_at_the_path(cli, spec_file, sheet: Path) -> None:
    spec = spec_file(SPEC.replace("{{ item.smaple }}", "{{ item.sample }}")
                     .replace('outputs: {fai: "{{ genomes[genome].fasta }}.fai"}',
                              'outputs: {fai: "{{ genomz }}.fai"}'))
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 2
    assert f"{spec}:15:24: error: step 'index': in 'outputs.fai': 'genomz' is not defined" in err
    assert "did you mean 'genome'?" in err


def test_an_unknown_step_in_a_template_is_one_error_at_the_reference(cli, spec_file,
                                                                     sheet: Path) -> None:
    spec = spec_file(SPEC.replace("{{ item.smaple }}", "{{ item.sample }}") + """\
  - name: gather
    inputs: {ns: "{{ steps.cuont.outputs.n }}"}
    outputs: {all: all.txt}
    run: "cat {{ inputs.ns }} > {{ outputs.all }}"
""")
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 2
    assert err.count("error:") == 1, err
    assert f"{spec}:18:22: error: step 'gather': refers to unknown step 'cuont'" in err
    assert "did you mean 'count'?" in err


def test_messages_use_yaml_words(cli, spec_file) -> None:
    spec = spec_file("name: w\nsteps:\n  - name: a\n    run: echo\n    after: {x: 1}\n")
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 2
    assert "expected a list, got a mapping" in err
    assert "array" not in err and "dict" not in err
