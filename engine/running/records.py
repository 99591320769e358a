"""What the state store remembers about an instance, as the decision stage reads it.

Kept apart from :mod:`engine.running.state` (the SQLite store) so that deciding needs no
database: a :class:`Record` is a frozen row, :class:`Records` the rows of one workflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.digests import sha1
from engine.fingerprint import Fingerprint
from engine.model import Status


@dataclass(frozen=True)
class Record:
    """What the state store remembers about one instance (JSON columns parsed on access)."""

    instance_id: str
    workflow: str
    step: str
    run_id: str | None
    status: Status  # RUNNING: started, outcome never recorded
    signature_json: str | None
    outputs_json: str | None
    started: float | None
    ended: float | None
    duration: float | None
    peak_mem_mb: float | None
    log_path: str | None
    attempts: int
    error: str | None
    running_pid: int | None = None  # running now, in the live run of this pid (read_records)

    @property
    def interrupted(self) -> bool:
        """The instance was started but its outcome was never recorded (run killed/interrupted)."""
        return self.status is Status.RUNNING and self.running_pid is None

    @cached_property
    def signature(self) -> dict[str, Any]:
        """``{uses|command, code, params, ...}`` as recorded, with ``inputs`` as Fingerprints."""
        if not self.signature_json:
            return {}
        data: dict[str, Any] = json.loads(self.signature_json)
        data["inputs"] = {p: Fingerprint.from_json(v) for p, v in data.get("inputs", {}).items()}
        return data

    @property
    def input_fps(self) -> dict[str, Fingerprint]:
        return dict(self.signature.get("inputs", {}))

    @cached_property
    def outputs(self) -> dict[str, Fingerprint]:
        if not self.outputs_json:
            return {}
        return {p: Fingerprint.from_json(v) for p, v in json.loads(self.outputs_json).items()}



    @property
    def config_signature(self) -> dict[str, Any]:
        """The signature without the inputs' fingerprints: what the configuration decided."""
        return {k: v for k, v in self.signature.items() if k != "inputs"}


class Records(dict[str, Record]):
    """The latest record of each instance id; ``earlier``: the last completed record of each
    other configuration of it, by (instance id, :func:`config_key`)."""

    def __init__(self, latest: Iterable[tuple[str, Record]] = (),
                 earlier: Mapping[tuple[str, str], Record] | None = None):
        super().__init__(latest)
        self.earlier: dict[tuple[str, str], Record] = dict(earlier or {})


def config_key(paths: Iterable[str], signature: Mapping[str, Any]) -> str:
    """What tells two configurations of one instance apart: its output paths, and its command
    or step code and params (a short hash of them)."""
    digest = sha1(json.dumps(signature, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return "\n".join(sorted(paths)) + "\n#" + digest
