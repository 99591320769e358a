"""Templates: fast path vs Jinja2, native values, shell quoting, the ``unquoted`` filter."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import pytest

from engine.spec.templates import (
    Template,
    TemplateError,
    compile_template,
    is_template,
    referenced_names,
    referenced_steps,
    render_value,
)

CTX: dict[str, Any] = {"name": "S1", "out": "results", "files": ["a b.txt", "it's.txt", "plain.txt"],
       "n": 3, "flag": True, "none": None, "cfg": {"dir": "/data", "k": 2}}


def fresh(source: str, shell: bool = False) -> Template:
    return Template(source, shell)  # not cached: each test sees the compile itself


@pytest.mark.parametrize("source", ["{{ name }}", "{{ cfg.dir }}/{{ name }}.txt", "x{{n}}y", "plain"])
def test_plain_lookups_take_the_fast_path(source: str) -> None:
    template = fresh(source)
    assert template._fast is not None and template._jinja is None


@pytest.mark.parametrize("source", ["{{ name | lower }}", "{{ n + 1 }}", "{% if flag %}x{% endif %}",
                                    "{# note #}{{ name }}", "{{ files[0] }}"])
def test_other_expressions_use_jinja(source: str) -> None:
    assert fresh(source)._fast is None


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ cfg.dir }}/{{ name }}.txt", "/data/S1.txt"),
    ("{{ name | lower }}", "s1"),
    ("{{ n * 2 }}", 6),
    ("{% if flag %}yes{% else %}no{% endif %}", "yes"),
    ("{{ files | length }}", 3),
    ("{{ 'x' ~ name }}", "xS1"),
    ("plain text", "plain text"),
])
def test_fast_and_jinja_agree_with_jinja_semantics(source: str, expected: object) -> None:
    assert compile_template(source).render(CTX) == expected


def test_a_single_expression_yields_the_native_value() -> None:
    assert compile_template("{{ files }}").render(CTX) == CTX["files"]
    assert compile_template("{{ cfg }}").render(CTX) == CTX["cfg"]
    assert compile_template("{{ n }}").render(CTX) == 3
    assert compile_template("  {{ files[1:] }}  ").render(CTX) == CTX["files"][1:]
    assert compile_template("{{ none }}").render(CTX) is None


def test_text_around_a_list_joins_it_with_spaces() -> None:
    assert compile_template("x {{ files }}").render(CTX) == "x a b.txt it's.txt plain.txt"


@pytest.mark.parametrize("source", ["{{ out }}/{{ name | lower }}", "{{ name | lower }}-{{ n }}",
                                    "{{ n + 1 }}{{ name }}"])
def test_two_expressions_with_a_filter_in_a_value_template(source: str) -> None:
    rendered = compile_template(source).render(CTX)
    assert rendered == compile_template(source, shell=True).render(CTX).replace("'", "")


def test_two_expressions_with_a_filter_in_a_shell_template() -> None:
    assert compile_template("{{ out }}/{{ name | lower }}.txt", shell=True).render(CTX) == \
        "results/s1.txt"


# shell quoting -----------------------------------------------------------------------------

def _argv(command: str) -> list[str]:
    """The words bash would see (shlex follows POSIX quoting like bash)."""
    return shlex.split(command)


@pytest.mark.parametrize("source", ["cat {{ files }}", "cat {{ files[0] }} {{ files[1:] }}",
                                    "{% if flag %}cat{% endif %} {{ files }}"])
def test_shell_templates_quote_every_value(source: str) -> None:
    command = compile_template(source, shell=True).render(CTX)
    assert _argv(command) == ["cat", "a b.txt", "it's.txt", "plain.txt"]


def test_a_value_template_ending_in_text_is_fine() -> None:
    assert compile_template("{{ out }}/{{ name | lower }}.txt").render(CTX) == "results/s1.txt"


def test_shell_quoting_survives_bash() -> None:
    tricky = ["a b", "it's", '"dq"', "$HOME", "back\\slash", "semi;colon", "*", ""]
    command = compile_template("printf '%s\\n' {{ words }}", shell=True).render({"words": tricky})
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:-1] == tricky


def test_shell_quoting_of_scalars() -> None:
    render = lambda s, **kw: compile_template(s, shell=True).render(kw)  # noqa: E731
    assert render("echo {{ v }}", v="a b") == "echo 'a b'"
    assert render("echo {{ v }}", v="simple") == "echo simple"
    assert render("echo {{ v }}", v=True) == "echo true"
    assert render("echo {{ v }}", v=False) == "echo false"
    assert render("echo {{ v }}x", v=None) == "echo x"
    assert render("echo {{ v }}", v=4) == "echo 4"
    assert render("echo {{ v | upper }}", v="a b") == "echo 'A B'"


def test_unquoted_filter_inserts_shell_fragments() -> None:
    render = lambda s, **kw: compile_template(s, shell=True).render(kw)  # noqa: E731
    assert render("cmd {{ extra | unquoted }}", extra="--fast --n 2 | sort") == \
        "cmd --fast --n 2 | sort"
    assert render("cmd {{ extra | unquoted }}", extra=["-a", "-b c"]) == "cmd -a -b c"
    assert render("cmd {{ extra | unquoted }}", extra=None) == "cmd "


def test_quote_filter_in_value_templates() -> None:
    assert compile_template("{{ v | quote }}").render({"v": "a b"}) == "'a b'"


def test_path_filters() -> None:
    ctx = {"p": "/data/run1/S1.fastq.gz"}
    assert compile_template("{{ p | basename }}").render(ctx) == "S1.fastq.gz"
    assert compile_template("{{ p | stem }}").render(ctx) == "S1"
    assert compile_template("{{ p | dirname }}").render(ctx) == "/data/run1"


# errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "words"), [
    ("{{ missing }}", "'missing' is not defined"),
    ("x/{{ missing }}/y", "'missing' is not defined"),
    ("{{ cfg.nope }}", "has no key 'nope'"),
    ("{{ missing | lower }}", "'missing' is not defined"),
    ("{% if missing %}x{% endif %}", "'missing' is not defined"),
    ("{{ cfg.nope | lower }}", "has no key 'nope'"),
    ("{{ n / 0 }}", "ZeroDivisionError"),
])
@pytest.mark.parametrize("shell", [False, True])
def test_render_errors_are_template_errors(source: str, words: str, shell: bool) -> None:
    with pytest.raises(TemplateError, match=words):
        compile_template(source, shell=shell).render(CTX)


@pytest.mark.parametrize("source", ["{{ x | }}", "{% if %}", "{{ x", "{% for x in y %}"])
def test_syntax_errors_are_template_errors(source: str) -> None:
    with pytest.raises(TemplateError, match="template syntax error"):
        compile_template(source)


@pytest.mark.parametrize("source", ["{{ n.__class__ }}", "{{ n.__class__.__mro__ }} x",
                                    "{{ cfg.__len__() }}"])
def test_private_attributes_are_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(source).render(CTX)


def test_fast_path_errors_match_the_checked_path() -> None:
    with pytest.raises(TemplateError, match=r"name is a text, which has no 'x'"):
        compile_template("{{ name.x }}").render(CTX)


@pytest.mark.parametrize("source", ["{{ cfg.nme }}", "{{ cfg.nme | lower }}", "x {{ cfg.nme }}"])
def test_a_missing_key_suggests_the_nearest_one(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(source).render({"cfg": {"name": 1, "other": 2}})
    assert caught.value.missing == "nme"
    assert caught.value.suggestion == "did you mean 'name'?"
    assert caught.value.source == source


# helpers -----------------------------------------------------------------------------------

def test_compile_is_cached() -> None:
    assert compile_template("{{ name }}-cached") is compile_template("{{ name }}-cached")
    assert compile_template("{{ name }}-c", shell=True) is not compile_template("{{ name }}-c")


def test_is_template() -> None:
    assert is_template("{{ a }}") and is_template("{% if a %}{% endif %}")
    assert not is_template("plain") and not is_template(3) and not is_template(None)


def test_render_value_walks_nested_structures() -> None:
    value = {"a": ["{{ name }}", 1, {"b": "{{ n }}"}], "c": "lit"}
    assert render_value(value, CTX) == {"a": ["S1", 1, {"b": 3}], "c": "lit"}


def test_referenced_names_and_steps() -> None:
    assert referenced_names("{{ a }}/{{ b.c }}{% for i in d %}{{ i }}{% endfor %}") == {"a", "b", "d"}
    sources = ["{{ steps.count.outputs.x }}", "{{ steps['with-dash'].outputs }}",
               "{{ steps . spaced .x }}", "no steps here", "{{ other }}"]
    assert referenced_steps(sources) == {"count", "with-dash", "spaced"}
    with pytest.raises(TemplateError):
        referenced_names("{{ x | }}")
