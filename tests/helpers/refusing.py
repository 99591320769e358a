"""Checking that mi-run refuses a run before anything runs: the dry-run and the real run both
exit 2 with a readable error (no traceback) and leave the working directory as it was."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.running import cli

ERROR_AT = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.*)$", re.M)


def snapshot(folder: Path) -> dict[str, int | None]:
    """Every file (relative path -> mtime in ns) and directory (-> None) under ``folder``;
    SQLite's transient -wal/-shm files, which reading a state database may make and remove,
    do not count."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.stat().st_mtime_ns
            for p in folder.rglob("*") if not p.name.endswith(("-wal", "-shm"))}


def refused(folder: Path, *args: str) -> str:
    """``mi-run ARGS --dry-run`` and ``mi-run ARGS`` (in this process, in ``folder``, the
    current directory) must both exit 2 without a traceback and without creating, changing
    or removing anything in ``folder``; returns what the real run printed on stderr (the
    dry-run must have printed the same)."""
    before = snapshot(folder)
    printed = []
    for extra in (["--dry-run"], []):
        code, out, err = cli(*args, *extra)
        assert "Traceback" not in out + err, out + err
        assert code == 2, f"mi-run {' '.join([*args, *extra])} exited {code}:\n{out}{err}"
        assert snapshot(folder) == before, f"mi-run {' '.join([*args, *extra])} wrote files"
        printed.append(err)
    assert printed[0] == printed[1], printed
    return printed[1]


def located(stderr: str) -> list[tuple[int, str]]:
    """(line, message) of every ``path:line:col: error: message`` in ``stderr``."""
    return [(int(m["line"]), m["message"]) for m in ERROR_AT.finditer(stderr)]
