"""A missing input whose path a user's config value names is reported at that value, in the
user's file (issue #13: genome.accession with no local file); otherwise at the spec."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
name: blame
config:
  genome: {}
  data_dir: data
  fasta: >-
    {{ genome.dest_dir ~ '/ncbi/' ~ genome.accession ~ '/rna.fna' if genome.accession is defined
       else data_dir ~ '/ref.fa' }}
steps:
  - name: index
    run: "cp {{ inputs.fasta }} {{ outputs.idx }}"
    inputs: {fasta: "{{ fasta }}"}
    outputs: {idx: out/ref.idx}
"""


def test_the_most_specific_user_value_is_blamed_in_the_users_file(cli, spec_file,
                                                                  workdir: Path) -> None:
    spec = spec_file(SPEC)
    (workdir / "user.yaml").write_text("genome:\n  dest_dir: ref/genome\n"
                                       "  include: [rna, gff3]\n  accession: GCF_1.1\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "user.yaml")
    assert code == 2
    assert err.startswith("user.yaml:4:3: error: input 'ref/genome/ncbi/GCF_1.1/rna.fna' of "
                          "'index' is not written by any step and does not exist (its path "
                          "comes from config 'genome.accession')"), err
    assert "      accession: GCF_1.1\n      ^" in err
    assert "hint: put the file at 'ref/genome/ncbi/GCF_1.1/rna.fna'" in err
    target = workdir / "ref/genome/ncbi/GCF_1.1/rna.fna"
    target.parent.mkdir(parents=True)
    target.write_text(">t\nACGT\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "user.yaml")
    assert code == 0, err


def test_a_set_value_is_blamed_on_the_command_line(cli, spec_file) -> None:
    code, _, err = cli(str(spec_file(SPEC)), "--dry-run", "--set", "data_dir=elsewhere")
    assert code == 2
    assert err.startswith("--set data_dir=elsewhere: error: input 'elsewhere/ref.fa'"), err


def test_a_path_only_the_spec_names_stays_located_in_the_spec(cli, spec_file) -> None:
    code, _, err = cli(str(spec_file(SPEC)), "--dry-run")
    assert code == 2
    assert "workflow.yaml:11:13: error: input 'data/ref.fa' of 'index'" in err
    assert "check the path, or add the step that writes it" in err


def test_a_value_with_a_placeholder_is_blamed_for_the_paths_it_makes(cli, spec_file,
                                                                     workdir: Path) -> None:
    spec = spec_file(SPEC.replace("else data_dir ~ '/ref.fa'",
                                  "else data_dir | replace('{x}', 'one')"))
    (workdir / "user.yaml").write_text("data_dir: refs/{x}/ref.fa\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "user.yaml")
    assert code == 2
    assert err.startswith("user.yaml:1:1: error: input 'refs/one/ref.fa' of 'index'"), err
