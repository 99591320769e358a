"""Config typos are caught (issue #11): unknown keys from --set (error), --config files
(located warning; error with --strict) and MI_* variables (warning); unknown keys under
``steps.<name>``; empty or unparsable --set values; ``1e-6`` read as a number."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = """\
name: keys
config:
  min_score: 3
  label: x
steps:
  - name: a
    run: "echo {{ min_score }} {{ config.label }} {{ extra_read | default('') }} > {{ outputs.o }}"
    outputs: {o: out/a.txt}
  - name: b
    uses: core.concat
    inputs: {parts: ["{{ steps.a.outputs.o }}"]}
    outputs: {out: out/b.txt}
"""


@pytest.fixture
def spec(spec_file) -> Path:
    return spec_file(SPEC)


def test_an_unknown_set_key_is_an_error_with_a_suggestion(cli, spec: Path) -> None:
    code, out, err = cli(str(spec), "--dry-run", "--set", "min_scor=5")
    assert code == 2 and out == ""
    assert ("<command line>: error: unknown config key 'min_scor' in --set min_scor=5 "
            "(did you mean 'min_score'?)") in err


def test_a_key_only_a_template_reads_is_known(cli, spec: Path) -> None:
    code, out, _ = cli(str(spec), "--dry-run", "--json", "--set", "extra_read=1")
    assert code == 0 and '"a"' in out


def test_an_unknown_key_in_a_config_file_is_a_located_warning(cli, spec: Path,
                                                               workdir: Path) -> None:
    (workdir / "my.yaml").write_text("label: y\nmin_scroe: 4\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "my.yaml")
    assert code == 0
    assert ("my.yaml:2:1: warning: unknown config key 'min_scroe' (did you mean 'min_score'?)"
            in err)
    code, _, err = cli(str(spec), "--dry-run", "-c", "my.yaml", "--strict")
    assert code == 2
    assert "my.yaml:2:1: error: unknown config key 'min_scroe'" in err


def test_config_accepts_quiets_a_shared_config_file(cli, spec_file, workdir: Path) -> None:
    spec = spec_file(SPEC.replace("steps:\n", "config_accepts: [log_dir]\nsteps:\n", 1))
    (workdir / "shared.yaml").write_text("log_dir: logs\n")
    code, _, err = cli(str(spec), "--dry-run", "-c", "shared.yaml", "--strict")
    assert code == 0 and "log_dir" not in err


def test_an_unknown_environment_key_is_a_warning_naming_the_variable(
        cli, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MI_MIN_SCOR", "5")
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 0
    assert ("<environment>: warning: environment variable MI_MIN_SCOR sets unknown config key "
            "'min_scor' (did you mean MI_MIN_SCORE?)") in err


@pytest.mark.parametrize("step", ["a", "b"])  # a shell step, a registered step
def test_a_misspelt_step_setting_is_an_error(cli, spec: Path, step: str) -> None:
    code, _, err = cli(str(spec), "--dry-run", "--set", f"steps.{step}.enabld=false")
    assert code == 2
    assert f"config 'steps.{step}.enabld': step '{step}' has no setting or param 'enabld'" in err
    assert "did you mean 'enabled'?" in err


def test_a_shell_step_accepts_its_declared_params_under_steps(cli, spec_file) -> None:
    spec = spec_file(SPEC.replace("    outputs: {o: out/a.txt}",
                                  "    params: {depth: 1}\n    outputs: {o: out/a.txt}"))
    assert cli(str(spec), "--dry-run", "--set", "steps.a.depth=2")[0] == 0


@pytest.mark.parametrize("value", ["", "[1,", "{a"])
def test_an_empty_or_unparsable_set_value_is_an_error(cli, spec: Path, value: str) -> None:
    code, _, err = cli(str(spec), "--dry-run", "--set", f"label={value}")
    assert code == 2
    assert "--set label" in err and "error:" in err


def test_a_quoted_set_value_means_what_it_says(cli, spec: Path) -> None:
    code, out, _ = cli(str(spec), "--dry-run", "--json", "--set", "label='[1,'")
    assert code == 0 and "[1," in out


def test_an_unparsable_environment_value_is_an_error(cli, spec: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MI_LABEL", "[1,")
    code, _, err = cli(str(spec), "--dry-run")
    assert code == 2 and "environment variable MI_LABEL" in err


def test_1e_6_is_a_number_in_specs_config_files_and_set(workflow_of, workdir: Path) -> None:
    (workdir / "c.yaml").write_text("p: 1e-6\n")
    spec = "name: n\nconfig: {p: 2e-3, q: 5E+2}\nsteps:\n  - name: a\n    run: echo {{ p }} {{ q }}\n"
    assert workflow_of(spec).config.values["q"] == 500.0
    assert workflow_of(spec, config_files=["c.yaml"]).config.values["p"] == 1e-6
    assert workflow_of(spec, overrides=["p=3e-8"]).config.values["p"] == 3e-8


def test_1e_6_passes_a_param_schema_that_wants_a_number(cli, workdir: Path) -> None:
    from tests.helpers.planning import CHECKOUT

    spec = str(CHECKOUT / "specs" / "gwas" / "gwas.yaml")
    (workdir / "c.yaml").write_text("significance_threshold: 1e-6\n")
    assert cli(spec, "--dry-run", "--set", "significance_threshold=1e-6")[0] == 0
    assert cli(spec, "--dry-run", "-c", "c.yaml")[0] == 0
    code, _, err = cli(spec, "--dry-run", "--set", "significance_threshold='1e-6'")
    assert code == 2 and "must be a number, got a text '1e-6'" in err  # quoted: text
