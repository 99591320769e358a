"""``mi-run DOMAIN VERB ...``: the seed's domain commands over the bundled specs.

MetaInformAnt users type ``metainformant rna status --config X`` and
``metainformant gwas plot --input results.tsv --type manhattan``. Each domain *declares* its
commands as plain data, a ``DOMAIN`` mapping in ``stepslib/<domain>/_entry.py`` (or, for a
library outside this package, an entry point in the group ``metainformant.domains`` naming such
a mapping), and this module turns ``mi-run DOMAIN VERB ARGS`` into the engine's own argument
lists, so adding a domain never edits the CLI::

    DOMAIN = {
        "description": "one line for mi-run domains",
        "spec": "rna/amalgkit.yaml",  # a bundled spec (engine.bundled_spec) or an absolute path
        "commands": {                          # one-off commands, each one registered step
            "plot": {"step": "gwas.plots", "help": "...", "arguments": {
                "--input": {"to": "input:summary", "required": True},
                "--type": {"choices": ["manhattan", "qq"], "default": "manhattan"},
                "--output": {"to": "output:{type}", "default": "{type}.png"},
            }},
        },
        "config_flags": {                      # the seed's flags of `run`/`plan`/`validate`
            "--input": {"key": "input"},       # --input X   -> --set input=X
            "--all": {"key": "all", "switch": True},  # --all -> --set all=true
        },
    }

Every domain with a spec gets the workflow verbs of :data:`WORKFLOW_VERBS`. An argument's
``to`` says where its value goes (``input:PORT``, ``output:PORT``, ``param:NAME``); ``{name}``
in ``to`` or in a default is filled from the other arguments.

Precedence: a built-in subcommand first, then an existing file (a spec named ``rna`` in the
current directory runs as a spec, with a note), then a domain. ``mi-run domains NAME VERB ...``
always means the domain.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import MiError, UsageError

ENTRY_POINT_GROUP = "metainformant.domains"

# verb -> (engine command, arguments put before the user's, what it does)
WORKFLOW_VERBS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "run": ("run", (), "run the workflow (all run options work; --check: validate only)"),
    "plan": ("run", ("--dry-run",), "what a run would do, running nothing (a dry run)"),
    "status": ("status", (), "what is up to date, what is stale and why"),
    "validate": ("validate", (), "check the spec and the config, run nothing"),
    "log": ("log", (), "an instance's log (its latest attempt)"),
    "report": ("report", (), "the last run as one HTML file"),
    "clean": ("clean", (), "tidy the state directory"),
}


@dataclass(frozen=True)
class OneOff:
    """A one-off command: one registered step run by hand (``mi-run step``)."""

    name: str
    step: str
    help: str
    arguments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    spec: str | None  # a bundled spec's name, e.g. "rna/amalgkit.yaml"
    commands: Mapping[str, OneOff]
    source: str  # where it was declared (for messages)
    config_flags: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def verbs(self) -> list[str]:
        return [*(WORKFLOW_VERBS if self.spec else ()), *self.commands]

    def spec_path(self) -> str:
        """The spec's file: an absolute ``spec`` as it is (a library outside this package
        ships its own), otherwise a spec bundled with the engine."""
        from engine.resources import bundled_spec

        if self.spec is None:
            raise UsageError(f"the {self.name} domain has no workflow spec")
        if os.path.isabs(self.spec):
            return self.spec
        return str(bundled_spec(self.spec))


def bundled_names() -> list[str]:
    """The domains of this package's step libraries, found without importing them."""
    import stepslib

    names = []
    for package in pkgutil.iter_modules(stepslib.__path__):
        if package.ispkg:
            folders = [os.path.join(p, package.name) for p in stepslib.__path__]
            if any(m.name == "_entry" for m in pkgutil.iter_modules(folders)):
                names.append(package.name)
    return sorted(names)


def _declared(name: str) -> tuple[Mapping[str, Any] | None, str]:
    if name in bundled_names():
        module = f"stepslib.{name}._entry"
        return getattr(importlib.import_module(module), "DOMAIN", None), module
    for ep in _entry_points():
        if ep.name == name:
            return ep.load(), ep.value
    return None, ""


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def all_names() -> list[str]:
    return sorted({*bundled_names(), *(ep.name for ep in _entry_points())})


def get_domain(name: str) -> Domain | None:
    declared, source = _declared(name)
    if declared is None:
        return None
    if not isinstance(declared, Mapping):
        raise MiError(f"domain '{name}' ({source}) declares {type(declared).__name__}, "
                      "not a mapping", "see engine/cli/domains.py for the DOMAIN shape")
    commands = {
        verb: OneOff(verb, str(c["step"]), str(c.get("help", "")), dict(c.get("arguments", {})))
        for verb, c in dict(declared.get("commands") or {}).items()
    }
    clash = set(commands) & set(WORKFLOW_VERBS) if declared.get("spec") else set()
    if clash:
        raise MiError(f"domain '{name}' ({source}) declares commands named like workflow "
                      f"verbs: {', '.join(sorted(clash))}", "give the one-off commands other names")
    return Domain(name, str(declared.get("description", "")), declared.get("spec"), commands,
                  source, dict(declared.get("config_flags") or {}))


def translate(argv: Sequence[str]) -> tuple[str, list[str], Domain, str] | None:
    """``[DOMAIN, VERB, *rest]`` as ``(engine command, its argv, domain, verb)``; None when
    ``argv`` is not a domain command (a spec path, a misspelling...)."""
    if not argv:
        return None
    explicit = argv[0] == "domains"
    words = list(argv[1:] if explicit else argv)
    if not words or words[0].startswith("-"):
        return None
    name = words[0]
    if not explicit:
        if os.path.exists(name):
            if name in bundled_names():
                print(f"mi-run: note: '{name}' is a file here, so it runs as a spec; for the "
                      f"{name} domain say: mi-run domains {name} ...", file=sys.stderr)
            return None
        if name not in bundled_names() and name not in {ep.name for ep in _entry_points()}:
            return None
    domain = get_domain(name)
    if domain is None:
        raise UsageError(f"no domain named '{name}'", "mi-run domains lists them")
    if len(words) < 2 or words[1] in ("-h", "--help"):
        raise UsageError(f"say what to do in the {name} domain: mi-run {name} VERB ...",
                         _verbs_hint(domain))
    verb, rest = words[1], words[2:]
    if verb in domain.commands:
        return "step", _one_off_argv(domain, domain.commands[verb], rest), domain, verb
    if domain.spec and verb in WORKFLOW_VERBS:
        command, before, _ = WORKFLOW_VERBS[verb]
        spec = domain.spec_path()
        if command in ("run", "validate"):
            rest = config_flags_as_sets(domain, rest)
        if verb == "run" and "--check" in rest:
            return "validate", [spec, *[a for a in rest if a != "--check"]], domain, verb
        return command, [spec, *before, *rest], domain, verb
    raise UsageError(f"the {name} domain has no command '{verb}'", _verbs_hint(domain))


def config_flags_as_sets(domain: Domain, rest: Sequence[str]) -> list[str]:
    """The seed's own flags of a domain (``--input TABLE --diversity``) as ``--set`` of the
    config keys they name; every other argument is left for the engine's parser."""
    flags = domain.config_flags
    out: list[str] = []
    words = list(rest)
    while words:
        word = words.pop(0)
        flag, eq, inline = word.partition("=")
        spec = flags.get(flag) if flag.startswith("--") else None
        if spec is None:
            out.append(word)
            continue
        if spec.get("switch"):
            value = inline if eq else "true"
        elif eq:
            value = inline
        elif words and not words[0].startswith("-"):
            value = words.pop(0)
        else:
            raise UsageError(f"{flag} needs a value", f"mi-run {domain.name} run {flag} VALUE")
        out += ["--set", f"{spec['key']}={value}"]
    return out


def _verbs_hint(domain: Domain) -> str:
    return f"mi-run {domain.name} knows: {', '.join(domain.verbs())}"


def _one_off_argv(domain: Domain, command: OneOff, rest: list[str]) -> list[str]:
    """The ``mi-run step`` arguments of ``mi-run DOMAIN COMMAND ARGS``."""
    parser = argparse.ArgumentParser(prog=f"mi-run {domain.name} {command.name}",
                                     description=f"{command.help} (the step {command.step}: "
                                                 f"mi-run steps {command.step})")
    for flag, spec in command.arguments.items():
        options = {k: spec[k] for k in ("help", "choices", "default", "required", "metavar")
                   if k in spec}
        parser.add_argument(flag, **options)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--debug", action="store_true")
    values = {k: v for k, v in vars(parser.parse_args(rest)).items()}
    step_argv = [command.step, "--threads", str(values.pop("threads"))]
    if values.pop("debug"):
        step_argv.append("--debug")
    filled = {k: _fill(v, values) for k, v in values.items()}
    for flag, spec in command.arguments.items():
        dest = flag.lstrip("-").replace("-", "_")
        value = filled.get(dest)
        if value is None or "to" not in spec:
            continue
        kind, _, port = _fill(str(spec["to"]), filled).partition(":")
        if kind not in ("input", "output", "param"):
            raise MiError(f"{domain.source}: argument {flag} of '{command.name}' goes "
                          f"'to' {spec['to']!r}", "use input:PORT, output:PORT or param:NAME")
        step_argv += [f"--{kind}", f"{port}={value}"]
    return step_argv


def _fill(value: Any, values: Mapping[str, Any]) -> Any:
    """``{type}.png`` with ``type`` from the other arguments."""
    return value.format(**values) if isinstance(value, str) and "{" in value else value


def list_domains(as_json: bool = False) -> int:
    """``mi-run domains``: every domain, its spec and its commands."""
    from engine.render.jsonout import print_json

    found = [d for d in (get_domain(n) for n in all_names()) if d is not None]
    if as_json:
        print_json({d.name: {"description": d.description, "spec": d.spec,
                             "spec_path": d.spec_path() if d.spec else None,
                             "verbs": d.verbs(),
                             "commands": {c.name: c.step for c in d.commands.values()},
                             "config_flags": {f: dict(v) for f, v in d.config_flags.items()}}
                    for d in found})
        return 0
    for domain in found:
        print(f"{domain.name}: {domain.description}")
        if domain.spec:
            print(f"  spec: {domain.spec} ({domain.spec_path()})")
            for verb, (_, _, what) in WORKFLOW_VERBS.items():
                print(f"  mi-run {domain.name} {verb:<9} {what}")
            if domain.config_flags:
                print(f"  the seed's flags of run/plan/validate (each sets the config key of its "
                      f"name): {' '.join(domain.config_flags)}")
        for command in domain.commands.values():
            print(f"  mi-run {domain.name} {command.name:<9} {command.help} "
                  f"(step {command.step})")
    return 0
