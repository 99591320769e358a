"""Outputs outside the working directory are refused unless the spec opts in (issue #11,
a leftover of #3): a typo or a hostile table value cannot write over /etc or ~."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError

ESCAPE = """\
name: esc
steps:
  - name: a
    run: echo hi > {{ outputs.o }}
    outputs: {o: ../escaped.txt}
"""


def test_an_output_escaping_the_working_directory_is_refused(cli, spec_file,
                                                             workdir: Path) -> None:
    spec = spec_file(ESCAPE)
    for args in (["--dry-run"], []):
        code, _, err = cli(str(spec), *args)
        assert code == 2
        assert f"{spec}:5:18: error: output '../escaped.txt' of 'a' is outside" in err
        assert "output_roots" in err
    assert not (workdir.parent / "escaped.txt").exists()


def test_a_hostile_table_value_cannot_write_outside(plan_of, workdir: Path) -> None:
    (workdir / "sheet.tsv").write_text("sample\nA\n../../../etc/cron.d/x\n")
    spec = ("name: t\nsteps:\n  - name: a\n    foreach: {table: sheet.tsv, column: sample}\n"
            "    run: touch {{ outputs.o }}\n    outputs: {o: 'out/{{ item }}'}\n")
    with pytest.raises(SpecError) as caught:
        plan_of(spec)
    text = caught.value.render()
    assert "output 'out/../../../etc/cron.d/x' of 'a[../../../etc/cron.d/x]' is outside" in text
    assert "a[A]" not in text


def test_an_absolute_configured_work_dir_is_fine(plan_of, workdir: Path,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("scratch")
    spec = ("name: w\nconfig: {work_dir: out}\nsteps:\n  - name: a\n    run: touch {{ outputs.o }}\n"
            "    outputs: {o: '{{ work_dir }}/a.txt'}\n")
    plan = plan_of(spec, overrides=[f"work_dir={elsewhere}"])
    assert plan.instances["a"].outputs["o"] == f"{elsewhere}/a.txt"


def test_output_roots_opts_in_to_another_directory(plan_of, workdir: Path,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    scratch = tmp_path_factory.mktemp("scratch")
    spec = (f"name: r\nconfig: {{scratch: {scratch}}}\noutput_roots: ['{{{{ scratch }}}}']\n"
            "steps:\n  - name: a\n    run: touch {{ outputs.o }}\n"
            "    outputs: {o: '{{ scratch }}/a.txt'}\n")
    assert plan_of(spec).instances["a"].outputs["o"] == f"{scratch}/a.txt"
    with pytest.raises(SpecError, match="is outside"):
        plan_of(spec.replace("output_roots: ['{{ scratch }}']\n", ""))
