"""File-level core steps: ``core.concat``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO

from engine import StepContext, StepError, single_path, step
from stepslib.core.common import flat_inputs

_CHUNK = 1 << 20


@step(
    "core.concat",
    inputs={"parts": "the files to join, in order (a list; nested lists are flattened)"},
    outputs={"out": "the joined file"},
    version="1",
    params={
        "properties": {
            "header": {
                "type": "boolean",
                "default": False,
                "description": "The parts are tables with a header line: keep the first part's "
                               "header, drop the others' (they must be identical), and make "
                               "sure every part ends with a newline.",
            },
        },
    },
)
def concat(config: dict[str, Any], *, inputs: dict[str, Any], outputs: dict[str, Any],
           context: StepContext) -> dict[str, Any]:
    """Concatenate the input files, in declared order, into the single output.

    Byte for byte like ``cat`` (so gzip parts give a valid gzip file); streamed, so any number
    and size of parts is fine.
    """
    parts = flat_inputs(inputs)
    target = single_path(outputs, output=True)
    if not parts:
        raise StepError("core.concat got no input files",
                        hint="declare e.g. 'inputs: {parts: [...]}'")
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise StepError(f"core.concat: {len(missing)} input file(s) missing, first: '{missing[0]}'")
    with open(target, "wb") as out:
        if config["header"]:
            _concat_tables(parts, out)
        else:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, _CHUNK)
    context.log.info("concatenated %d file(s) into %s", len(parts), target)
    return {"status": "completed", "metadata": {"parts": len(parts)}}


def _concat_tables(parts: list[Path], out: BinaryIO) -> None:
    header: bytes | None = None
    first_part: Path | None = None
    for part in parts:
        with open(part, "rb") as handle:
            line = handle.readline()
            if not line:  # an empty part contributes nothing, not even a header
                continue
            if not line.endswith(b"\n"):
                line += b"\n"
            if header is None:
                header, first_part = line, part
                out.write(line)
            elif line.rstrip(b"\r\n") != header.rstrip(b"\r\n"):
                raise StepError(
                    f"core.concat: the header of '{part}' differs from the header of "
                    f"'{first_part}': {line.rstrip().decode(errors='replace')!r} vs "
                    f"{header.rstrip().decode(errors='replace')!r}",
                    hint="with header: true all parts must have the same columns; "
                         "core.table_concat aligns differing columns by name",
                )
            last = _copy_tracking_last_byte(handle, out)
            if last not in (None, b"\n"):
                out.write(b"\n")


def _copy_tracking_last_byte(source: BinaryIO, out: BinaryIO) -> bytes | None:
    last: bytes | None = None
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return last
        out.write(chunk)
        last = chunk[-1:]
