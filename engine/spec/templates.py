"""Jinja2 templates: one sandboxed environment, compile once, fast path for plain lookups.

Two rendering modes:
- *value* templates (paths, foreach, params, enabled): a template that is exactly one
  expression, ``"{{ steps.count.outputs.counts }}"``, yields the native value (a list stays a
  list); anything else renders to a string.
- *shell* templates (``run:``): every substituted value is shell-quoted (a list becomes
  space-separated quoted words) unless marked with the ``unquoted`` filter.

Most templates in real specs are literal text plus ``{{ name.attr }}`` lookups; those skip
Jinja2 entirely (a split-and-lookup renderer), which keeps planning 100k instances cheap.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import itertools
import re
import shlex
import types
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

_SIMPLE_EXPR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_WHOLE_EXPR = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


class TemplateError(Exception):
    """A template failed to compile or render; the text is user-facing.

    For a missing name or key: ``missing`` is it, ``choices`` what was there instead (for
    "did you mean"), ``needle`` the text to find the expression by in the spec file.
    """

    def __init__(self, message: str, missing: str | None = None,
                 choices: Iterable[str] = (), needle: str | None = None, owner: str = "it"):
        super().__init__(message)
        self.owner = owner
        self.missing = missing
        self.choices = tuple(choices)
        self.needle = needle
        self.source: str | None = None  # the template, once known

    @property
    def suggestion(self) -> str | None:
        """"did you mean 'x'?", or what there is, or None."""
        if self.missing is None:
            return None
        choices = [c for c in self.choices if not c.startswith("_")]
        close = difflib.get_close_matches(self.missing, choices, n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        if choices and len(choices) <= 12:
            return f"{self.owner} has: " + ", ".join(sorted(choices))
        return None


def missing_error(owner: str | None, value: Any, name: str, needle: str | None) -> TemplateError:
    """In our words: what was looked up where, and what there was instead."""
    if owner is None:
        return TemplateError(f"'{name}' is not defined", name,
                             value if isinstance(value, Mapping) else (), needle or name)
    if isinstance(value, Mapping):
        return TemplateError(f"{owner} has no key '{name}'", name, [str(k) for k in value],
                             needle or name, owner)
    kind = {list: "a list", tuple: "a list", str: "a text", int: "a number", float: "a number",
            bool: "true/false", type(None): "empty (null)"}.get(type(value), "a value")
    if isinstance(value, list):
        kind = "a list"
    return TemplateError(f"{owner} is {kind}, which has no '{name}'", name, (), needle or name)


class Unquoted(str):
    """A string the shell renderer inserts as is (a deliberate shell fragment)."""


_SAFE_WORD = re.compile(r"[\w@%+=:,./-]+", re.ASCII).fullmatch


def _shell_quote(value: Any) -> str:
    if type(value) is str:  # the common case first: a plain path or word
        return value if _SAFE_WORD(value) else shlex.quote(value)
    if isinstance(value, Unquoted):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(_shell_quote(v) for v in value)
    return shlex.quote(str(value))


def _unquoted(value: Any) -> Unquoted:
    if isinstance(value, list | tuple):
        return Unquoted(" ".join(str(v) for v in value))
    return Unquoted("" if value is None else str(value))


def _basename(value: Any) -> str:
    return PurePath(str(value)).name


def _stem(value: Any) -> str:
    return PurePath(str(value)).stem.split(".")[0]


def _dirname(value: Any) -> str:
    return str(PurePath(str(value)).parent)


def _expand(pattern: str, **values: Any) -> list[str]:
    """Snakemake-style ``expand('{sp}/x_{n}.tsv', sp=[...], n=[...])``: every combination."""
    import itertools

    keys = list(values)
    lists = [v if isinstance(v, list | tuple) else [v] for v in values.values()]
    return [str(pattern).format(**dict(zip(keys, combo))) for combo in itertools.product(*lists)]


class Gathered(list[str]):
    """A fan-out's paths gathered into one list (``steps.X.outputs.Y``), remembering the item
    of the instance each path came from, so that ``where(...)`` can pick a group."""

    def __init__(self, paths: Iterable[str] = (), origins: Iterable[Any] = ()):
        super().__init__(paths)
        self.origins: list[Any] = list(origins)


def _where(value: Any, **conditions: Any) -> Gathered:
    """``steps.call.outputs.vcf | where(chrom=item)``: the paths of the instances whose item
    has those values (``item.chrom == item`` here); a scalar item is matched as ``item=``."""
    import jinja2  # only Jinja2 templates reach this filter

    if not isinstance(value, Gathered):
        raise jinja2.TemplateRuntimeError(
            "where(...) filters a fan-out's gathered paths, e.g. "
            "steps.call.outputs.vcf | where(chrom=item)")
    if not conditions:
        raise jinja2.TemplateRuntimeError("where(...) needs at least one KEY=VALUE")
    kept, origins = [], []
    for path, origin in zip(value, value.origins):
        if all(_item_value(origin, key) == str(wanted) for key, wanted in conditions.items()):
            kept.append(path)
            origins.append(origin)
    return Gathered(kept, origins)


def _item_value(origin: Any, key: str) -> str | None:
    if isinstance(origin, Mapping):
        found = origin.get(key)
        return None if found is None else str(found)
    return str(origin) if key == "item" else None


@functools.cache
def _jinja() -> Any:
    """Jinja2 and our two environments, made on first use (see ``engine.spec.jinjaenv``)."""
    from engine.spec import jinjaenv

    filters: dict[str, Callable[..., Any]] = {
        "unquoted": _unquoted, "basename": _basename, "dirname": _dirname, "stem": _stem,
        "quote": _shell_quote, "where": _where}
    globals_ = {"expand": _expand}
    return types.SimpleNamespace(
        jinja2=importlib.import_module("jinja2"), Missing=jinjaenv.Missing,
        VALUE_ENV=jinjaenv.make_env(None, filters, globals_),
        SHELL_ENV=jinjaenv.make_env(_shell_quote, filters, globals_))


_JINJA_WORDS = frozenset({
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
    "else", "elif", "endif", "for", "endfor", "block", "extends", "import", "include", "from",
    "macro", "call", "set", "with", "without", "recursive", "pluck", "as", "loop", "self",
    "varargs", "kwargs", "caller"})


def _lookup(context: Mapping[str, Any], dotted: str) -> Any:
    parts = dotted.split(".")
    try:
        value = context[parts[0]]
    except KeyError:
        raise missing_error(None, context, parts[0], dotted) from None
    for depth, part in enumerate(parts[1:], start=1):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif not isinstance(value, Mapping) and hasattr(value, part) and not part.startswith("_"):
            value = getattr(value, part)
        else:
            raise missing_error(".".join(parts[:depth]), value, part, dotted)
    return value


class Template:
    """A compiled template. ``render(ctx)`` gives a string (or native value, see module doc)."""

    __slots__ = ("_fast", "_jinja", "_native", "_parts", "shell", "source")

    def __init__(self, source: str, shell: bool = False):
        self.source = source
        self.shell = shell
        self._parts: list[tuple[bool, str]] | None = None
        self._jinja: jinja2.Template | None = None
        self._native: Callable[..., Any] | None = None
        self._fast: Callable[[Mapping[str, Any]], Any] | None = None
        if "{%" in source or "{#" in source:
            self._compile_jinja()
            return
        pieces = _SIMPLE_EXPR.split(source)
        leftover = "".join(pieces[0::2])
        if "{{" in leftover:  # expressions beyond plain lookups: let Jinja2 handle them
            self._compile_jinja()
            whole = _WHOLE_EXPR.match(source)
            if whole and not shell and source.count("{{") == 1:
                jinja = _jinja()
                try:
                    self._native = jinja.VALUE_ENV.compile_expression(whole.group(1).strip())
                except jinja.jinja2.TemplateSyntaxError as exc:
                    raise TemplateError(f"template syntax error: {exc.message}") from None
            return
        self._parts = [(i % 2 == 1, piece) for i, piece in enumerate(pieces) if piece or i % 2]
        self._fast = _generate(self._parts, shell)

    @property
    def direct(self) -> Callable[[Mapping[str, Any]], Any] | None:
        """The compiled renderer of a plain-lookup template (None for others), for hot loops.
        It raises on anything unusual (a missing name...): then call :meth:`render`, which
        gives the value or the precise error."""
        return self._fast

    def _compile_jinja(self) -> None:
        jinja = _jinja()
        env = jinja.SHELL_ENV if self.shell else jinja.VALUE_ENV
        try:
            self._jinja = env.from_string(self.source)
        except jinja.jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}") from None

    def render(self, context: Mapping[str, Any]) -> Any:
        """Render; a value template that is one expression returns the native value."""
        if self._fast is not None:
            try:
                return self._fast(context)
            except Exception:  # fall through to the checked path for a precise error
                pass
        try:
            return self._render(context)
        except TemplateError as exc:
            exc.source = self.source
            raise

    def _render(self, context: Mapping[str, Any]) -> Any:
        parts = self._parts
        if parts is not None:
            if len(parts) == 1 and parts[0][0] and not self.shell:
                return _lookup(context, parts[0][1])
            out = []
            for is_expr, piece in parts:
                if not is_expr:
                    out.append(piece)
                    continue
                value = _lookup(context, piece)
                out.append(_shell_quote(value) if self.shell else _to_text(value))
            return "".join(out)
        jinja = _jinja()  # loaded already: this template was compiled by Jinja2
        jinja2 = jinja.jinja2
        try:
            if self._native is not None:
                return self._native(**context)
            assert self._jinja is not None
            return self._jinja.render(context)
        except jinja.Missing as exc:
            top_level = exc.obj is jinja2.utils.missing
            raise missing_error(None if top_level else "the value", context if top_level
                                else exc.obj, str(exc.name), None) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(str(exc.message)) from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template error: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            raise TemplateError(f"template error: {type(exc).__name__}: {exc}") from None


def _generate(parts: list[tuple[bool, str]], shell: bool) -> Callable[[Mapping[str, Any]], Any] | None:
    """Python source for a plain-lookup template: ~10x faster than interpreting the parts.

    Only identifiers matched by ``_SIMPLE_EXPR`` and ``repr`` of literal text reach the
    source, so nothing from the template is executed as code. A plain ``str`` (the usual
    value: an item, a path) is handled inline, without a call: ``_quote``/``_text`` would
    give it back unchanged (a safe shell word) or quoted, which the inline test leaves to them.
    """
    temporaries = itertools.count()

    def access(dotted: str) -> str:
        names = dotted.split(".")
        code = f"c[{names[0]!r}]"
        for name in names[1:]:  # a dict (the usual) inline, anything else through _get
            d = f"d{next(temporaries)}"
            code = f"({d}[{name!r}] if type({d} := {code}) is dict else _get({d}, {name!r}))"
        return code

    if len(parts) == 1 and parts[0][0] and not shell:
        body = access(parts[0][1])
    else:
        pieces = []
        for index, (is_expr, part) in enumerate(parts):
            if not is_expr:
                pieces.append(repr(part))
                continue
            v = f"v{index}"
            if shell:
                pieces.append(f"({v} if type({v} := {access(part)}) is str and _safe({v}) "
                              f"else _quote({v}))")
            else:
                pieces.append(f"({v} if type({v} := {access(part)}) is str else _text({v}))")
        body = " + ".join(pieces) if pieces else "''"
    namespace = {"_get": _get, "_quote": _shell_quote, "_text": _to_text, "_safe": _SAFE_WORD}
    compiled: Callable[[Mapping[str, Any]], Any] = eval(f"lambda c: {body}", namespace)
    return compiled


def _get(value: Any, name: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return value[name]
    if name.startswith("_"):
        raise AttributeError(name)
    return getattr(value, name)


def _to_text(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


@lru_cache(maxsize=4096)
def compile_template(source: str, shell: bool = False) -> Template:
    """Compile once: the cache makes repeated instances of a step reuse one compiled template."""
    return Template(source, shell)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template string inside ``value`` (dicts and lists recursively)."""
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        return compile_template(value).render(context)
    if isinstance(value, Mapping):
        return {k: render_value(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    return value


def referenced_names(source: str) -> set[str]:
    """Top-level variable names a template reads (for config ordering and step references)."""
    if "{%" not in source and "{#" not in source:
        pieces = _SIMPLE_EXPR.split(source)
        roots = {dotted.split(".", 1)[0] for dotted in pieces[1::2]}
        # Only plain lookups (what Jinja2 would report too: each lookup's first name), unless
        # a "name" is one of Jinja2's constants or keywords, which it treats differently.
        if "{{" not in "".join(pieces[0::2]) and not roots & _JINJA_WORDS:
            return roots
    jinja = _jinja()
    from jinja2 import meta

    try:  # the analysis compiles the template: an unknown filter is found there
        return set(meta.find_undeclared_variables(jinja.VALUE_ENV.parse(source)))
    except jinja.jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from None


_STEP_REF = re.compile(r"""steps\s*(?:\.\s*([A-Za-z0-9_]+)|\[\s*['"]([A-Za-z0-9_-]+)['"]\s*\])""")


def referenced_steps(sources: Iterable[str]) -> set[str]:
    """Names X in ``steps.X`` / ``steps['X']`` anywhere in the given template sources."""
    found: set[str] = set()
    for source in sources:
        if "steps" not in source:
            continue
        for match in _STEP_REF.finditer(source):
            found.add(match.group(1) or match.group(2))
    return found
