"""``mi-run``: the command line. Parses arguments, calls the stages, maps errors to exit codes.

Exit codes: 0 ok, 1 a step failed, 2 invalid spec/config/usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
from collections.abc import Callable, Sequence

from engine import envvars
from engine.errors import MiError, UsageError
from engine.executors import EXECUTORS
from engine.version import __version__

SUBCOMMANDS = ("run", "validate", "schema", "steps", "status", "log", "step", "clean",
               "report")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", action="append", default=[], metavar="FILE",
                        help="YAML config file layered over the spec's config (repeatable)")
    parser.add_argument("--set", "-s", action="append", default=[], metavar="KEY=VALUE",
                        dest="overrides", help="override a config value, dotted keys, YAML-typed")
    parser.add_argument("--strict", action="store_true",
                        help="unknown keys in --config files are errors, not warnings")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="workflow spec (YAML)")
    parser.add_argument("targets", nargs="*", metavar="PATH",
                        help="build just these outputs and what they need (default: all)")
    _common(parser)
    look = parser.add_argument_group("looking before leaping")
    look.add_argument("-n", "--dry-run", action="store_true", help="show what would run, run nothing")
    look.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    loudness = look.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                      help="dry run: one line per instance and its command, and where each "
                           "config value was set; run: every event, with reasons and commands")
    loudness.add_argument("-q", "--quiet", action="store_true",
                      help="run: print only failures and the final line")
    look.add_argument("--graph", nargs="?", const="text", metavar="FORMAT|FILE",
                      help="draw the DAG: text (default), dot, mermaid, json, or a file "
                           "(.dot .mmd .svg .png .html .json); alone it runs nothing")
    look.add_argument("--graph-jobs", action="store_true",
                      help="draw every instance instead of one node per step")
    run = parser.add_argument_group("running")
    run.add_argument("-j", "--jobs", type=int, default=None, help="cores to use (default: all)")
    run.add_argument("-k", "--keep-going", action="store_true",
                     help="after a failure, still finish every independent branch")
    run.add_argument("--force", action="append", default=[], metavar="STEP",
                     help="rerun STEP even if up to date; what depends on it reruns only if "
                          "STEP's outputs change (repeat --force, or --force-all, for more)")
    run.add_argument("--force-all", action="store_true", help="rerun everything")
    run.add_argument("--touch", nargs="*", default=None, metavar="STEP",
                     help="accept the outputs on disk as up to date (of STEPs, or of every "
                          "step) without running anything")
    run.add_argument("--rerun-triggers", nargs="+", default=None, metavar="TRIGGER",
                     help="what makes an up-to-date step stale: input, params, code "
                          "(default: all three; a missing or changed output always does)")
    run.add_argument("--until", metavar="STEP", action="append", default=[],
                     help="run only STEP and what it needs")
    run.add_argument("--only", metavar="STEP", action="append", default=[],
                     help="run only STEP (its inputs must exist)")
    run.add_argument("--resources", action="append", default=[], metavar="NAME=N",
                     help="limit of a named resource, e.g. mem_mb=16000")
    run.add_argument("--backend", default="processes", choices=EXECUTORS,
                     help="where steps run (default: processes; see docs/running.md)")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="with --backend dask: connect to tcp://HOST:PORT")
    run.add_argument("--cluster", default=None, choices=["slurm", "pbs", "sge", "lsf"],
                     help="with --backend dask: start a dask-jobqueue cluster")
    run.add_argument("--state-dir", default=None, help="state directory (default: .mi)")
    run.add_argument("--keep-incomplete", action="store_true",
                     help="keep the outputs of failed steps")
    seen = parser.add_argument_group("after the run (every run writes <state-dir>/runs/<id>.json)")
    seen.add_argument("--report", metavar="FILE.html", default=None,
                      help="write the run's report: one HTML file (DAG, timeline, resources, "
                           "failures); later: mi-run report SPEC")
    seen.add_argument("--trace", metavar="FILE.tsv", default=None,
                      help="write a trace table, one row per instance attempt")
    seen.add_argument("--keep-runs", type=int, default=None, metavar="N",
                      help="run records to keep in the state directory (default: "
                           "$MI_KEEP_RUNS or 50)")


def _top_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mi-run",
        description="Run a metainformant-flow workflow spec. Subcommands: "
                    + ", ".join(SUBCOMMANDS) + " (default: run); domains lists the domain "
                    "commands (mi-run rna run --config X, mi-run gwas plot ...).",
        epilog="examples:\n  mi-run specs/rna/amalgkit.yaml\n"
               "  mi-run specs/rna/amalgkit.yaml --dry-run --graph\n"
               "  mi-run validate SPEC\n  mi-run steps rna.curate\n"
               "  mi-run domains\n  mi-run rna plan --config my_species.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"mi-run {__version__}")
    _run_options(top)
    return top


def _validate_parser() -> argparse.ArgumentParser:
    validate = argparse.ArgumentParser(prog="mi-run validate", description="check a spec and its config")
    validate.add_argument("spec")
    _common(validate)
    return validate


def _schema_parser() -> argparse.ArgumentParser:
    schema = argparse.ArgumentParser(prog="mi-run schema", description="print the spec JSON Schema")
    schema.add_argument("--debug", action="store_true")
    return schema


def _steps_parser() -> argparse.ArgumentParser:
    steps = argparse.ArgumentParser(prog="mi-run steps", description="list registered steps")
    steps.add_argument("name", nargs="?", help="show one step's description and params schema")
    steps.add_argument("--json", action="store_true")
    steps.add_argument("--debug", action="store_true")
    return steps


def _clean_parser() -> argparse.ArgumentParser:
    clean = argparse.ArgumentParser(prog="mi-run clean", description="tidy the state directory")
    clean.add_argument("spec")
    _common(clean)
    clean.add_argument("--state-dir", default=None)
    clean.add_argument("--records", action="store_true",
                       help="forget the records whose outputs no longer exist (of every "
                            "configuration this workflow ran under)")
    clean.add_argument("--logs", action="store_true",
                       help="remove the logs of instances the workflow no longer has, and "
                            "of every run but each instance's latest")
    return clean


def _status_parser() -> argparse.ArgumentParser:
    status = argparse.ArgumentParser(prog="mi-run status", description="state of every step instance")
    status.add_argument("spec")
    _common(status)
    status.add_argument("--state-dir", default=None)
    status.add_argument("--json", action="store_true")
    status.add_argument("--logs", action="store_true",
                        help="add a column with each instance's latest log")
    return status


def _log_parser() -> argparse.ArgumentParser:
    log = argparse.ArgumentParser(prog="mi-run log",
                                  description="print an instance's log (its latest attempt)")
    log.add_argument("spec")
    log.add_argument("instance", help="instance id, e.g. quant[s1] (or a step without fan-out)")
    log.add_argument("--attempt", type=int, default=None, metavar="N",
                     help="attempt N of the instance's latest run")
    log.add_argument("--all", action="store_true", dest="all_attempts",
                     help="every attempt of the instance's latest run")
    _common(log)
    log.add_argument("--state-dir", default=None)
    return log


def _report_parser() -> argparse.ArgumentParser:
    report = argparse.ArgumentParser(
        prog="mi-run report", description="write the HTML report of a recorded run: DAG, "
        "timeline, resources, failures, config and versions, in one file that opens offline")
    report.add_argument("spec")
    _common(report)
    report.add_argument("--state-dir", default=None)
    report.add_argument("--run", default=None, metavar="ID",
                        help="the run to report (an id or its unique start; default: the "
                             "latest run of this workflow)")
    report.add_argument("-o", "--output", default="report.html", metavar="FILE.html",
                        help="where to write it (default: report.html)")
    return report


def _step_parser() -> argparse.ArgumentParser:
    one = argparse.ArgumentParser(prog="mi-run step", description="run one registered step by hand")
    one.add_argument("name", help="registered step, e.g. gwas.plots")
    one.add_argument("--input", "-i", action="append", default=[], metavar="NAME=PATH[,PATH]")
    one.add_argument("--output", "-o", action="append", default=[], metavar="NAME=PATH[,PATH]")
    one.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE")
    one.add_argument("--threads", type=int, default=1)
    one.add_argument("--debug", action="store_true")
    return one


# Only the parser of the command given is built: all nine cost ~6 ms of every start-up.
_PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "run": _top_parser, "validate": _validate_parser, "schema": _schema_parser,
    "steps": _steps_parser, "clean": _clean_parser, "status": _status_parser,
    "log": _log_parser, "report": _report_parser, "step": _step_parser,
}


def build_parser(command: str = "run") -> argparse.ArgumentParser:
    """The argument parser of ``command`` (one of :data:`SUBCOMMANDS`)."""
    return _PARSERS[command]()


def main(argv: Sequence[str] | None = None, *, console: bool = False) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit code. ``console``: called by
    the console script (:func:`entry`), which owns the process and may tune its GC."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command, resume, verb = "run", None, None
    if args_list and args_list[0] in SUBCOMMANDS:
        command = args_list.pop(0)
    elif args_list and args_list[0] == "domains" and (len(args_list) == 1
                                                      or args_list[1].startswith("-")):
        return _list_domains(args_list[1:])
    else:
        try:
            chosen = _domain_command(args_list)
        except MiError as exc:
            print(exc.render(), file=sys.stderr)
            return exc.exit_code
        if chosen is not None:
            resume = shlex.join(args_list)  # a failed run's summary repeats the domain form
            command, args_list, verb = chosen
        elif args_list and (close := _misspelt_subcommand(args_list[0])):
            print(f"mi-run: error: '{args_list[0]}' is neither a spec file nor a command; "
                  f"did you mean 'mi-run {close} ...'?", file=sys.stderr)
            return 2
    # `mi-run gwas run --check -j 2`: validate, accepting the run's options it does not use
    checking = command == "validate" and verb == "run"
    parser = build_parser("run" if checking else command)
    # Targets may come after options (mi-run SPEC -j 2 out/a.txt), as make and Snakemake allow.
    args = (parser.parse_intermixed_args(args_list) if command == "run" or checking
            else parser.parse_args(args_list))
    args.resume = resume
    try:
        debug = getattr(args, "debug", False) or envvars.read_flag(envvars.DEBUG)
    except envvars.BadVariable as exc:
        print(UsageError(str(exc), exc.hint).render(), file=sys.stderr)
        return UsageError.exit_code
    try:
        return _dispatch(command, args, console)
    except MiError as exc:
        if debug:
            raise
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # an unguarded stream (main called from Python) lost its reader
        return 1


def _misspelt_subcommand(word: str) -> str | None:
    """``stauts`` -> ``status``: a first word that is no file but looks like a command (or
    a domain: ``rnaa`` -> ``rna``)."""
    if word.startswith("-") or os.path.exists(word) or "." in word or "/" in word:
        return None
    import difflib

    from engine.cli.domains import bundled_names

    close = difflib.get_close_matches(word, [*SUBCOMMANDS, "domains", *bundled_names()],
                                      n=1, cutoff=0.6)
    return close[0] if close else None


def _domain_command(args_list: list[str]) -> tuple[str, list[str], str] | None:
    """``mi-run rna status --config X`` as ``("status", [SPEC, "--config", "X"], "status")``
    (engine command, its arguments, the domain verb): see :mod:`engine.cli.domains` (an
    existing file of that name stays a spec)."""
    if not args_list or args_list[0].startswith("-") or any(c in args_list[0] for c in "./"):
        return None  # the common case, a spec path, imports nothing more
    from engine.cli.domains import translate

    found = translate(args_list)
    return None if found is None else (found[0], found[1], found[3])


def _list_domains(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mi-run domains", description=(
        "list the domains, their bundled specs and commands; mi-run DOMAIN VERB ... (or, "
        "when a file of that name is in the way, mi-run domains DOMAIN VERB ...) runs one"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(rest)
    from engine.cli.domains import list_domains

    try:
        return list_domains(args.json)
    except MiError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code


def _dispatch(command: str, args: argparse.Namespace, console: bool) -> int:
    from engine.cli import commands

    if command == "run":
        return commands.cmd_run(args, manage_gc=console)
    handler = getattr(commands, f"cmd_{command}")
    return int(handler(args))


def entry() -> None:
    """The ``mi-run`` console script: :func:`main`, then a fast exit.

    Freeing a 100k-instance plan object by object at interpreter exit takes longer than
    printing it. Every command has flushed its state store and files by the time main returns,
    so flush the standard streams and leave without the teardown.
    """
    # Planning allocates millions of small objects and creates no garbage cycles worth
    # collecting: the cyclic GC would only rescan them (10-20 % of a 100k-instance plan).
    # A run turns it back on once the plan is made (see commands.cmd_run).
    gc.disable()
    from engine import dataclasscode
    from engine.cli.streams import guard_console

    dataclasscode.install()  # the engine's dataclasses, compiled by an earlier run
    guard_console()  # a reader that goes away (| head, less, ssh) must not stop a run
    code = main(console=True)
    dataclasscode.save()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
