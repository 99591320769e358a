"""Start-up shortcuts (issue #19) give the same answers as the work they skip.

- ``referenced_names`` answers plain-lookup templates without Jinja2: checked against Jinja2's
  own ``meta.find_undeclared_variables``;
- a spec that validated once is not validated again while its data, the schema and jsonschema
  are unchanged; anything else is validated (and every error reported) as before;
- planning a spec of plain lookups imports neither jinja2 nor (the second time) jsonschema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from jinja2 import meta

from engine.errors import SpecError
from engine.plan.workflow import load
from engine.spec import schema
from engine.spec.templates import referenced_names

TEMPLATES = [
    "", "plain text", "{{ a }}", "{{a.b}}/{{ c.d.e }}.txt", "{{ a }}{{ a.b }}",
    "x }} y {{ z }}", "{{ true }}", "{{ none.x }}", "{{ loop.index }}", "{{ a | upper }}",
    "{{ a }}{% if b %}{{ c }}{% endif %}", "{# note #}{{ d }}", "{{ a ~ b }}",
    "{{ steps.make.outputs.txt }}", "{{ item }} > {{ outputs.txt }}", "{{ self }}",
]


@pytest.mark.parametrize("source", TEMPLATES)
def test_referenced_names_equal_jinja2s_analysis(source: str) -> None:
    jinja_names = meta.find_undeclared_variables(jinja2.Environment().parse(source))
    assert referenced_names(source) == jinja_names


def _spec(folder: Path, threads: object) -> Path:
    spec = folder / "wf.yaml"
    spec.write_text(f"name: wf\nconfig:\n  threads: {threads}\nsteps:\n"
                    "  - name: a\n    run: \"echo {{ threads }} > {{ outputs.o }}\"\n"
                    "    outputs: {o: out.txt}\n")
    return spec


def test_a_valid_verdict_is_kept_and_reused_only_for_the_same_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    verdicts = tmp_path / "cache" / "mi-run" / "valid-specs"
    load(_spec(tmp_path, 2))
    assert len(list(verdicts.iterdir())) == 1
    load(_spec(tmp_path, 2))  # the same data: the same verdict, nothing new
    assert len(list(verdicts.iterdir())) == 1
    load(_spec(tmp_path, "'2'"))  # a string, not a number: another key
    assert len(list(verdicts.iterdir())) == 2


def test_an_invalid_spec_is_checked_every_time(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = tmp_path / "wf.yaml"
    spec.write_text("name: wf\nsteps:\n  - name: a\n    run: echo\n    outptus: {o: x}\n")
    for _ in range(2):
        with pytest.raises(SpecError, match="unknown key 'outptus'"):
            load(spec)
    assert not (tmp_path / "cache" / "mi-run" / "valid-specs").exists()


def test_verdicts_depend_on_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = {"name": "wf", "steps": [{"name": "a", "run": "echo"}]}
    first = schema._verdict_file(data, "spec.schema.json")
    changed = tmp_path / "other.schema.json"
    changed.write_bytes(schema.schema_path().read_bytes() + b"\n")
    monkeypatch.setattr(schema, "schema_path", lambda name="": changed)
    assert first is not None and schema._verdict_file(data, "spec.schema.json") != first


def test_an_unwritable_cache_still_validates(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    load(_spec(tmp_path, 2))
    with pytest.raises(SpecError, match="missing the required key 'steps'"):
        bad = tmp_path / "bad.yaml"
        bad.write_text("name: wf\n")
        load(bad)


def test_planning_plain_lookups_imports_neither_jinja2_nor_jsonschema_twice(
        tmp_path: Path) -> None:
    spec = _spec(tmp_path, 2)
    probe = ("import sys; from engine.plan.workflow import load; load(sys.argv[1]).plan(); "
             "print(sorted(m for m in ('jinja2', 'jsonschema') if m in sys.modules))")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    seen = [subprocess.run([sys.executable, "-c", probe, str(spec)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)]
    assert seen == ["['jsonschema']", "[]"]


@pytest.mark.parametrize("data", [b"", b"abc", bytes(range(256)) * 9])
def test_built_in_digests_equal_hashlibs(data: bytes) -> None:
    import hashlib

    from engine import digests

    assert digests.sha1(data).hexdigest() == hashlib.sha1(data).hexdigest()
    assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    for size in (12, 32, 64):
        assert (digests.blake2b(data, digest_size=size).hexdigest()
                == hashlib.blake2b(data, digest_size=size).hexdigest())


def test_the_run_records_platform_is_platforms() -> None:
    import platform

    from engine.running.runrecord import _python_version, platform_name

    assert platform_name() == platform.platform()
    assert _python_version() == platform.python_version()


def test_a_run_with_nothing_to_do_imports_no_run_machinery(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 2)
    probe = ("import sys; from engine.cli.main import main; main(sys.argv[1:]); "
             "print(sorted(m for m in ('yaml', 'hashlib', 'engine.running.scheduler', "
             "'engine.running.runrecord', 'engine.context', 'engine.executors.base', "
             "'engine.registry', 'engine.spec.orchestrator') "
             "if m in sys.modules), file=sys.stderr)")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    seen = [subprocess.run([sys.executable, "-c", probe, str(spec), "-q"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stderr.splitlines()
            for _ in range(2)]
    assert "engine.running.scheduler" in seen[0][-1]  # the first run runs the step
    assert seen[1][-1] == "[]", seen[1]
