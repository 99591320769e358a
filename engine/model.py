"""Frozen values that flow between the stages: step instances, outcomes, and the Enums of
actions, statuses and rerun reasons.

A :class:`StepInstance` is fully resolved (no YAML, no templates) and picklable: it is the unit
that executors receive; an :class:`Outcome` is what they send back, and what the state store
records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from engine.fingerprint import Fingerprint

PathValue = str | tuple[str, ...]


class Action(Enum):
    """What a run will do with an instance (decided before running)."""

    RUN = "run"
    SKIP = "skip"
    DISABLED = "disabled"
    PENDING = "pending expansion"
    TOUCH = "touch"  # --touch: its outputs on disk will be accepted, nothing runs


class Status(StrEnum):
    """What happened to an instance (recorded after running; a str, as stored)."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UP_TO_DATE = "up to date"
    NOT_STARTED = "not started"
    NOT_SELECTED = "not selected"
    INTERRUPTED = "interrupted"
    RUNNING = "running"  # in the state store only: started, outcome never recorded


class RunStatus(StrEnum):
    """How one ``mi-run`` invocation ended (the state store's run rows; a str, as stored)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Trigger(StrEnum):
    """What may make an up-to-date instance stale (``--rerun-triggers``, as Snakemake's).

    A missing or changed output always reruns; threads and resources never do."""

    INPUT = "input"  # an input's content (or the set of inputs) changed
    PARAMS = "params"  # the resolved params changed
    CODE = "code"  # the rendered command or the step function's code changed


ALL_TRIGGERS = frozenset(Trigger)


class Reason(Enum):
    NEVER_RUN = "never run"
    OUTPUT_MISSING = "output missing"
    OUTPUT_CHANGED = "output changed"
    INPUT_CHANGED = "input changed"
    PARAMS_CHANGED = "params changed"
    CODE_CHANGED = "code changed"
    UPSTREAM_RERAN = "upstream reran"
    FORCED = "forced"
    INCOMPLETE = "incomplete (interrupted)"
    RUNNING = "running"  # now, in the live run that holds the state directory's lock
    PREVIOUSLY_FAILED = "failed last time"
    PREVIOUSLY_SKIPPED = "skipped by the step last time"  # it returned {"status": "skipped"}
    DISABLED = "disabled"
    EXPANDS_AFTER = "expands after"
    UP_TO_DATE = "up to date"
    NOT_SELECTED = "not selected"


@dataclass(frozen=True)
class RerunReason:
    kind: Reason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


@dataclass(frozen=True)
class StepInstance:
    """One runnable unit: a step, or one item of its fan-out, with everything resolved."""

    id: str
    step: str
    uses: str | None
    command: str | None
    params: Mapping[str, Any]
    inputs: Mapping[str, PathValue]
    outputs: Mapping[str, PathValue]
    threads: int = 1
    resources: Mapping[str, int] = field(default_factory=dict)
    retries: int = 0
    timeout: float | None = None
    item: Any = None
    index: int | None = None
    work_dir: str = "."  # absolute: where relative paths resolve and shell commands run
    # The command with threads and resources masked, for rerun decisions (None: the command
    # does not mention them). Threads and resources never make an instance stale.
    signature_command: str | None = None

    @property
    def label(self) -> str | None:
        return self.id[len(self.step) + 1 : -1] if self.id != self.step else None

    def input_paths(self) -> list[str]:
        return flatten_paths(self.inputs)

    def output_paths(self) -> list[str]:
        return flatten_paths(self.outputs)

    def as_path_args(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """inputs/outputs as the step function receives them: Path or list[Path]."""
        return _to_paths(self.inputs), _to_paths(self.outputs)


def flatten_paths(mapping: Mapping[str, PathValue]) -> list[str]:
    result: list[str] = []
    for value in mapping.values():
        if isinstance(value, str):
            result.append(value)
        else:
            result.extend(value)
    return result


def _to_paths(mapping: Mapping[str, PathValue]) -> dict[str, Any]:
    return {
        key: Path(value) if isinstance(value, str) else [Path(v) for v in value]
        for key, value in mapping.items()
    }


@dataclass(frozen=True)
class Outcome:
    """What happened to one attempt of one instance (picklable; produced in the worker).

    ``status`` is COMPLETED, FAILED or SKIPPED. ``error``/``hint`` explain a failure in one or a
    few lines (the traceback, if any, is in ``log_path``). ``started``/``ended`` are epoch
    seconds. ``cpu_time`` is the user + system CPU seconds of the attempt (of the shell command
    and the children it waited for; of a Python step's thread and the tools it ran), None when
    unknown. ``exit_code`` is a shell command's exit status (negative: killed by that signal),
    None for Python steps. ``output``, ``warnings``, ``metadata`` and (of a step that returned
    ``skipped``) ``reason`` come from the step's result dict;
    ``metadata`` always has ``execution_time`` (s) and ``peak_mem_mb``. ``output_fps`` holds the
    fingerprints of the declared outputs of a completed step, computed in the worker so content
    hashing runs in parallel (empty when not completed).
    """

    instance_id: str
    attempt: int
    status: Status
    started: float
    ended: float
    peak_mem_mb: float | None
    log_path: str
    error: str | None = None
    hint: str | None = None
    output: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    output_fps: Mapping[str, Fingerprint] = field(default_factory=dict)
    cpu_time: float | None = None
    exit_code: int | None = None
    reason: str | None = None  # why the step returned status "skipped" (the seed's standard)

    @property
    def duration(self) -> float:
        return self.ended - self.started


def failed_outcome(instance: StepInstance, attempt: int, log_path: str, error: str, *,
                   started: float, ended: float, hint: str | None = None) -> Outcome:
    """A FAILED outcome produced outside the step (dead worker, timeout kill, spawn error...)."""
    return Outcome(
        instance_id=instance.id, attempt=attempt, status=Status.FAILED, started=started,
        ended=ended, peak_mem_mb=None, log_path=log_path, error=error, hint=hint,
        metadata={"execution_time": ended - started, "peak_mem_mb": None},
    )
