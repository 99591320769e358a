"""Config layers (spec < --config files < MI_* env < --set), origins, config templates,
and step overrides (``steps.<name>.params`` / ``.config`` / bare keys as params)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.config import env_layer, parse_scalar, parse_set, resolve_config
from engine.spec.yamlload import load_yaml_text
from tests.helpers.planning import write

SPEC = """\
name: cfg
config:
  threads: 1
  out: results
  label: spec
  nested: {a: 1, b: 2}
  path: "{{ out }}/x"
steps:
  - name: quant
    run: echo {{ threads }} {{ out }}
"""


@pytest.fixture
def layers(workdir: Path):
    """layers(file_text=None, env=None, sets=()) -> ResolvedConfig of SPEC with those layers."""

    def make(file_text: str | None = None, env: dict[str, str] | None = None, sets=()):
        from engine.plan.workflow import load

        spec = write(workdir / "cfg.yaml", SPEC)
        files = [str(write(workdir / "over.yaml", file_text))] if file_text else []
        return load(spec, config_files=files, overrides=list(sets), environ=env or {}).config

    return make


def test_spec_layer_alone(layers) -> None:
    config = layers()
    assert config.values["threads"] == 1 and config.values["path"] == "results/x"
    origin = config.origin(("threads",))
    assert (origin.layer, Path(origin.source).name, origin.line) == ("spec", "cfg.yaml", 3)


def test_each_layer_overrides_the_one_below(layers) -> None:
    config = layers("threads: 2\nout: file\nlabel: file\nnested: {b: 3}\n",
                    env={"MI_THREADS": "4", "MI_OUT": "env"},
                    sets=["threads=8"])
    values = config.values
    assert values["threads"] == 8  # spec 1 < file 2 < env 4 < set 8
    assert values["out"] == "env"  # spec < file < env
    assert values["label"] == "file"  # spec < file
    assert values["nested"] == {"a": 1, "b": 3}  # mappings merge key by key
    assert values["path"] == "env/x"  # config templates see the final values
    assert str(config.origin(("threads",))) == "set --set threads=8"
    assert str(config.origin(("out",))) == "env MI_OUT"
    file_origin = config.origin(("label",))
    assert (file_origin.layer, Path(file_origin.source).name, file_origin.line) == ("file", "over.yaml", 3)
    assert config.origin(("nested", "a")).layer == "spec"
    assert config.origin(("nested", "b")).layer == "file"


def test_a_scalar_replacing_a_mapping_forgets_the_old_origins(layers) -> None:
    config = layers("nested: flat\n")
    assert config.values["nested"] == "flat"
    assert config.origin(("nested",)).layer == "file"
    assert config.origin(("nested", "a")).layer == "file"  # nearest enclosing: no stale spec origin


def test_later_config_files_win(workdir: Path) -> None:
    from engine.plan.workflow import load

    spec = write(workdir / "cfg.yaml", SPEC)
    first = write(workdir / "one.yaml", "threads: 2\nout: one\n")
    second = write(workdir / "two.yaml", "threads: 3\n")
    config = load(spec, config_files=[first, second], environ={}).config
    assert config.values["threads"] == 3 and config.values["out"] == "one"
    origin = config.origin(("threads",))
    assert origin is not None and Path(origin.source).name == "two.yaml"


@pytest.mark.parametrize(("text", "value"), [
    ("4", 4), ("4.5", 4.5), ("false", False), ("yes", True), ("null", None), ("", ""),
    ("[a, b]", ["a", "b"]), ("{x: 1}", {"x": 1}), ("plain words", "plain words"),
    ("'4'", "4"), ("a: b: c", "a: b: c"), ("[unclosed", "[unclosed"),
])
def test_values_from_the_command_line_are_yaml_typed(text: str, value: object) -> None:
    assert parse_scalar(text) == value


def test_parse_set() -> None:
    assert parse_set("steps.quant.threads=4") == (["steps", "quant", "threads"], 4)
    assert parse_set("a=b=c") == (["a"], "b=c")
    assert parse_set('out=""') == (["out"], "")  # an empty string, said deliberately
    assert parse_set("p=1e-6") == (["p"], 1e-6)  # YAML 1.2 reads it as a number
    assert parse_set("x='[1,'") == (["x"], "[1,")
    for bad in ("novalue", "=3", "..=3", "out=", "out= ", "x=[1,", "x={a"):
        with pytest.raises(SpecError):
            parse_set(bad)


def test_env_layer_names() -> None:
    environ = {"MI_STEPS__QUANT__ENABLED": "false", "MI_OUT": "x", "MI_DEBUG": "1",
               "MI_STATE_DIR": "/s", "MI_JOBS": "2", "OTHER": "y", "MI_": "z", "MI_A____B": "2"}
    assert env_layer(environ) == [
        ("MI_A____B", ["a", "b"], 2),
        ("MI_OUT", ["out"], "x"),
        ("MI_STEPS__QUANT__ENABLED", ["steps", "quant", "enabled"], False),
    ]


def test_env_can_disable_a_step_and_set_beats_env(workflow_of) -> None:
    spec = SPEC
    plan = workflow_of(spec, environ={"MI_STEPS__QUANT__ENABLED": "false"}).plan()
    assert plan.disabled == {"quant"}
    assert plan.disabled_reasons["quant"] == "enabled: false (env MI_STEPS__QUANT__ENABLED)"
    plan = workflow_of(spec, environ={"MI_STEPS__QUANT__ENABLED": "false"},
                       overrides=["steps.quant.enabled=true"]).plan()
    assert plan.disabled == set()


def test_overrides_as_a_mapping(workflow_of) -> None:
    # (a key the section does not declare, nested.c, is an unknown key: test_config_nested.py)
    config = workflow_of(SPEC, overrides={"threads": 6, "nested.b": "new"}).config
    assert config.values["threads"] == 6 and config.values["nested"] == {"a": 1, "b": "new"}
    assert config.origin(("nested", "b")).layer == "set"


def test_template_context_has_keys_and_config() -> None:
    doc = load_yaml_text("config: {a: 1, steps: {x: {threads: 2}}}\n")
    config = resolve_config(doc.data["config"], doc.marks, environ={})
    context = config.template_context()
    assert context["a"] == 1 and "steps" not in context
    assert context["config"]["steps"] == {"x": {"threads": 2}}
    assert config.step_overrides == {"x": {"threads": 2}}


# config templates --------------------------------------------------------------------------

def _resolve(text: str, **kwargs):
    """Resolve ``text`` as a spec's ``config:`` block (line N of text is line N+1 of the file)."""
    indented = "".join("  " + line + "\n" for line in text.splitlines())
    doc = load_yaml_text("config:\n" + indented, "c.yaml")
    return resolve_config(doc.data["config"], doc.marks, environ=kwargs.pop("environ", {}),
                          **kwargs)


def test_config_templates_render_in_dependency_order() -> None:
    config = _resolve('c: "{{ b }}/c"\nb: "{{ a }}/b"\na: root\nlist: ["{{ a }}", "{{ c }}"]\n'
                      'whole: "{{ list }}"\n')
    assert config.values["c"] == "root/b/c"
    assert config.values["list"] == ["root", "root/b/c"]
    assert config.values["whole"] == ["root", "root/b/c"]  # native value, not a string


def test_config_templates_may_read_the_config_mapping() -> None:
    config = _resolve('a: root\nvia: "{{ config.a }}!"\n')
    assert config.values["via"] == "root!"


def test_two_config_templates_reading_the_config_mapping() -> None:
    config = _resolve('a: "{{ config.b }}/a"\nc: "{{ config.b }}/c"\nb: root\n')
    assert (config.values["a"], config.values["c"]) == ("root/a", "root/c")


def test_config_templates_see_the_base_context() -> None:
    config = _resolve('data: "{{ spec_dir }}/data"\n', base_context={"spec_dir": "/specs"})
    assert config.values["data"] == "/specs/data"


def test_config_template_over_a_set_value() -> None:
    config = _resolve('out: "{{ root }}/out"\nroot: spec\n', overrides=["root=cli"])
    assert config.values["out"] == "cli/out"


@pytest.mark.parametrize(("text", "cycle", "line"), [
    ('a: "{{ b }}"\nb: "{{ a }}"\n', "a -> b -> a", 2),
    ('a: "{{ a }}x"\n', "a -> a", 2),
    ('x: 1\na: "{{ b }}"\nb: "{{ c }}"\nc: "{{ a }}"\n', "a -> b -> c -> a", 3),
    ('x: 1\nb: "{{ a }}"\na: "{{ b }}"\n', "b -> a -> b", 3),
])
def test_config_cycles_are_errors(text: str, cycle: str, line: int) -> None:
    with pytest.raises(SpecError) as info:
        _resolve(text)
    (diag,) = info.value.diagnostics
    assert f"config values refer to each other in a cycle: {cycle}" in diag.message
    assert (diag.path, diag.line) == ("c.yaml", line)


def test_config_template_errors_point_at_the_value() -> None:
    with pytest.raises(SpecError) as info:
        _resolve('a: 1\nb: "{{ nope }}"\nc: "{{ x | }}"\n')
    places = sorted((d.line, d.message) for d in info.value.diagnostics)
    assert {line for line, _ in places} == {3, 4}
    assert places[0][0] == 3 and "'nope' is not defined" in places[0][1]
    assert places[-1][0] == 4 and "template syntax error" in places[-1][1]


def test_a_config_syntax_error_is_reported_once() -> None:
    with pytest.raises(SpecError) as info:
        _resolve('c: "{{ x | }}"\n')
    assert len(info.value.diagnostics) == 1


def test_config_file_problems(workdir: Path) -> None:
    doc = load_yaml_text("a: 1\n", "spec.yaml")
    listing = write(workdir / "list.yaml", "- a\n- b\n")
    empty = write(workdir / "empty.yaml", "# nothing\n")
    with pytest.raises(SpecError) as info:
        resolve_config(doc.data, doc.marks, [str(listing), str(workdir / "missing.yaml"),
                                             str(empty)], environ={})
    messages = [d.message for d in info.value.diagnostics]
    assert any("a config file must be a YAML mapping" in m for m in messages)
    assert any("file not found" in m for m in messages)
    assert len(messages) == 2  # an empty file is fine


# step overrides ----------------------------------------------------------------------------

CONCAT = """\
name: over
steps:
  - name: parts
    run: echo a > {{ outputs.a }}
    outputs: {a: a.txt}
  - name: join
    uses: core.concat
    inputs: {parts: ["{{ steps.parts.outputs.a }}"]}
    outputs: {out: ab.txt}
"""


@pytest.mark.parametrize("override", [
    "steps.join.params.header=true",
    "steps.join.config.header=true",
    "steps.join.header=true",
])
def test_param_override_synonyms(plan_of, override: str) -> None:
    plan = plan_of(CONCAT, overrides=[override])
    assert plan.instances["join"].params == {"header": True}


def test_default_params_are_filled(plan_of) -> None:
    assert plan_of(CONCAT).instances["join"].params == {"header": False}


def test_unknown_param_override_points_at_the_set_argument(workflow_of) -> None:
    workflow = workflow_of(CONCAT, overrides=["steps.join.headr=true"])
    with pytest.raises(SpecError) as info:
        workflow.plan()
    (diag,) = info.value.diagnostics
    assert diag.path == "--set steps.join.headr=true"
    assert "unknown param 'headr'" in diag.message and diag.hint == "did you mean 'header'?"


def test_wrong_param_type_from_env_points_at_the_variable(workflow_of) -> None:
    workflow = workflow_of(CONCAT, environ={"MI_STEPS__JOIN__PARAMS__HEADER": "3"})
    with pytest.raises(SpecError) as info:
        workflow.plan()
    (diag,) = info.value.diagnostics
    assert diag.path == "MI_STEPS__JOIN__PARAMS__HEADER"
    assert "param 'header' must be true/false, got a number 3" in diag.message


def test_step_settings_overrides(plan_of) -> None:
    spec = """\
    name: s
    steps:
      - name: a
        run: echo {{ threads }} {{ params.mode }}
        threads: 2
        params: {mode: slow}
    """
    plan = plan_of(spec, overrides=["steps.a.threads=5", "steps.a.retries=2", "steps.a.timeout=9.5",
                                    "steps.a.mode=fast", "steps.a.resources.mem_mb=100"])
    instance = plan.instances["a"]
    assert (instance.threads, instance.retries, instance.timeout) == (5, 2, 9.5)
    assert instance.resources == {"mem_mb": 100}
    assert instance.params == {"mode": "fast"}
    assert instance.command == "echo 5 fast"


def test_steps_shorthand_false_disables(workflow_of, workdir: Path) -> None:
    over = write(workdir / "o.yaml", "steps:\n  quant: false\n")
    plan = workflow_of(SPEC, config_files=[str(over)]).plan()
    assert plan.disabled == {"quant"}
    assert "file" in plan.disabled_reasons["quant"] and "o.yaml:2" in plan.disabled_reasons["quant"]


def test_bad_override_value_points_at_its_file(workflow_of, workdir: Path) -> None:
    over = write(workdir / "o.yaml", "steps:\n  quant:\n    threads: many\n")
    with pytest.raises(SpecError) as info:
        workflow_of(SPEC, config_files=[str(over)]).plan()
    (diag,) = info.value.diagnostics
    assert (Path(diag.path).name, diag.line) == ("o.yaml", 3)
    assert "'threads' must be a number >= 1, got 'many'" in diag.message


def test_verbose_dry_run_shows_origins(cli, spec_file, workdir: Path) -> None:
    spec = spec_file(SPEC)
    over = write(workdir / "over.yaml", "label: file\n")
    code, out, _ = cli(str(spec), "--dry-run", "-v", "-c", str(over), "--set", "threads=8")
    assert code == 0
    assert "threads = 8  <- set --set threads=8" in out
    assert f"label = 'file'  <- file {over}:1:1" in out
    assert f"out = 'results'  <- spec {spec}:4:3" in out
