"""The dask executor: attempts run on the workers of a Dask ``distributed`` cluster.

Three ways to get workers (``mi-run SPEC --backend dask ...``):

* nothing else given: a ``LocalCluster`` on this machine, ``-j`` worker processes of one thread
  each, listening on 127.0.0.1 only;
* ``--scheduler tcp://HOST:PORT`` (or ``$MI_DASK_SCHEDULER``): connect to a running scheduler
  whose workers were started by hand (``dask worker ...``);
* ``--cluster slurm|pbs|sge|lsf``: a ``dask_jobqueue`` cluster built from the spec's ``dask:``
  config section, scaled adaptively between 0 and ``max_workers`` batch jobs.

The scheduling loop still decides what runs (dependencies, ``-j`` slots, ``--resources``); Dask
only places each submitted attempt on a worker. Each attempt is one Dask task calling
:func:`engine.runner.execute` (through :func:`_work`) with ``retries=0``: retries belong to the
loop (``retries:`` in the spec), so a step is never rerun behind its back.

Cores. The loop charges a step ``threads`` slots of ``-j``. On one machine (LocalCluster) that
is exact, so tasks carry no Dask resources. On real clusters a worker may have several cores:
when workers advertise a ``slots`` resource (jobqueue workers always do: ``slots=cores``; start
manual workers with ``--resources slots=N``), each task asks for ``slots=threads`` (capped at the
largest worker, which it then has to itself), so Dask never packs more threads onto a node than
it has. Other ``resources:`` of a step (``mem_mb``...) are requested too when workers advertise
them; a step asking for more than any worker advertises fails at once instead of waiting forever.

Worker deaths. The scheduler is told ``allowed_failures = 0`` (``dask: {allowed_failures: N}``
changes it), so a task whose worker dies (OOM killer, segfault, node lost) errs with
``KilledWorker`` at once instead of being silently rerun on other workers; it becomes a FAILED
outcome "worker died ...", and the loop's retries decide. Shell steps run in their own process
group, which survives the worker's death: every attempt writes a marker file in a node-local
directory, and after a death every worker kills the groups whose worker process is gone.
A lost scheduler connection fails every in-flight attempt ("lost the connection ...").

Python-step timeouts cannot use SIGALRM in a worker thread, so a watchdog thread in the worker
kills the whole worker process ``kill_grace`` seconds after the timeout (other steps running in
the same worker process die with it and are reported as "worker died").

Logs are written by the worker straight to the step's ``log_path``: the working directory and
the state directory must be on a filesystem shared by the engine and all workers (as for
Snakemake's and Nextflow's HPC executors). See docs/cluster.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import UsageError
from engine.executors.base import Executor
from engine.executors.worker import execute, kill_group, read_marker
from engine.fingerprint import DEFAULT_HASH_LIMIT
from engine.model import Outcome, StepInstance, failed_outcome
from engine.registry import module_of

CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}

# ``dask:`` keys handed to the dask_jobqueue cluster class unchanged.
JOBQUEUE_KEYS = frozenset({
    "cores", "memory", "queue", "account", "project", "walltime", "resource_spec",
    "job_name", "job_extra_directives", "job_directives_skip", "job_script_prologue",
    "worker_extra_args", "local_directory", "log_directory", "interface", "python",
    "death_timeout", "shebang",
})
# ``dask:`` keys read by this executor.
OWN_KEYS = frozenset({
    "allowed_failures", "kill_grace", "max_workers", "min_workers", "memory_limit", "resources",
    "tmp_dir", "wait_for_workers",
})

_REAP_WINDOW = 10.0  # seconds during which a node that lost a worker is checked for orphans
_TIMEOUT_NOTE = "[mi-run] watchdog: timeout exceeded; killing the Dask worker process"
_INSTALL_HINT = {
    "distributed": "install the Dask extra: pip install 'metainformant-flow[dask]'",
    "dask_jobqueue": "install the HPC extra: pip install 'metainformant-flow[hpc]'",
}


@dataclass(eq=False)
class _Task:
    instance: StepInstance
    attempt: int
    log_path: str
    key: str  # the Dask task key
    submitted: float = field(default_factory=time.time)
    log_offset: int = 0  # size of the (appended-to) log at submission
    requeued: int = 0  # times resubmitted because its worker died before it started


class DaskExecutor(Executor):
    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        cluster: str | None = None,
        config: Mapping[str, Any] | None = None,
        tmp_root: str | None = None,
        hash_limit: int | None = DEFAULT_HASH_LIMIT,
        kill_grace: float | None = None,
    ):
        _require("distributed")
        if cluster is not None and cluster not in CLUSTERS:
            raise UsageError(f"unknown --cluster '{cluster}'", f"choose from {', '.join(CLUSTERS)}")
        if cluster is not None and scheduler:
            raise UsageError("--cluster starts its own scheduler: do not also give --scheduler")
        if config is not None and not isinstance(config, Mapping):
            raise UsageError("the 'dask:' config section must be a mapping of settings")
        self._config: dict[str, Any] = dict(config or {})
        unknown = sorted(set(self._config) - OWN_KEYS - (JOBQUEUE_KEYS if cluster else set()))
        if unknown:
            allowed = sorted(OWN_KEYS | (JOBQUEUE_KEYS if cluster else set()))
            raise UsageError(f"unknown 'dask:' setting(s): {', '.join(unknown)}",
                             f"allowed here: {', '.join(allowed)} (see docs/cluster.md)")
        self._scheduler = scheduler
        self._cluster_kind = cluster
        self._tmp_root = self._config.get("tmp_dir", tmp_root)
        self._hash_limit = hash_limit
        self._kill_grace = float(self._config.get("kill_grace", kill_grace or 1.0))
        self._allowed_failures = int(self._config.get("allowed_failures", 0))
        self._token = uuid.uuid4().hex[:12]
        self._cluster: Any = None
        self._client: Any = None
        self._address = ""
        self._limits: dict[str, float] = {}  # resource name -> largest amount a worker offers
        self._inflight: dict[str, tuple[Any, _Task]] = {}  # dask key -> (future, task)
        self._completed: Any = None  # distributed.as_completed, made in start()
        self._ready: list[Outcome] = []
        self._modules: dict[str, str | None] = {}
        self._reap_hosts: dict[str, float] = {}  # node where a worker died -> reap until
        self._seq = 0

    # -- start -------------------------------------------------------------------------------

    def start(self, slots: int) -> None:
        import dask
        from distributed import Client, as_completed

        slots = max(1, slots)
        # worker-saturation 1.0: when Dask queues tasks on the scheduler, a worker is handed no
        # more than it has threads, so its death takes down only what really ran on it (tasks
        # merely queued on a dying worker are resubmitted anyway: see _failure).
        settings = {"distributed.scheduler.allowed-failures": self._allowed_failures,
                    "distributed.scheduler.worker-saturation": 1.0}
        try:
            with dask.config.set(settings):  # read by schedulers created in this process
                if self._cluster_kind is not None:
                    self._cluster = self._jobqueue_cluster(slots)
                elif not self._scheduler:
                    self._cluster = self._local_cluster(slots)
                if self._cluster is not None:
                    self._client = Client(self._cluster)
                    self._address = self._cluster.scheduler_address
                else:
                    self._address = str(self._scheduler)
                    self._client = _connect(self._address)
                    self._client.run_on_scheduler(_tune_scheduler,
                                                  allowed=self._allowed_failures)
            _shorten_batching(self._client)
            self._completed = as_completed([], loop=self._client.loop, with_results=True,
                                           raise_errors=False)
            if self._cluster_kind is None:  # jobqueue clusters start with no workers
                self._wait_for_workers()
                self._check_workers()
                self._limits = _advertised(self._client)
        except BaseException:
            self.shutdown()
            raise

    def _local_cluster(self, slots: int) -> Any:
        from distributed import LocalCluster

        # memory_limit=0: the nanny must not kill a worker over the *worker's* RSS (steps'
        # tools run as children anyway); memory is managed with --resources mem_mb=...
        return LocalCluster(
            n_workers=slots, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=self._config.get("memory_limit", 0),
            silence_logs=logging.CRITICAL,  # deaths are reported per step, not as log noise
        )  # fmt: skip

    def _jobqueue_cluster(self, slots: int) -> Any:
        cluster = make_jobqueue_cluster(self._cluster_kind or "slurm", self._config)
        cores = int(self._config.get("cores", 1))
        maximum = int(self._config.get("max_workers", max(1, math.ceil(slots / cores))))
        cluster.adapt(minimum=int(self._config.get("min_workers", 0)), maximum=maximum)
        self._limits = {"slots": float(cores), **_float_values(self._config.get("resources"))}
        return cluster

    def _wait_for_workers(self) -> None:
        patience = float(self._config.get("wait_for_workers", 60))
        if self._client.scheduler_info().get("workers"):
            return
        try:
            self._client.wait_for_workers(1, timeout=patience)
        except TimeoutError:
            raise UsageError(
                f"no Dask workers connected to {self._address} within {patience:g} s",
                f"start workers: dask worker {self._address} --nthreads 1 (with PYTHONPATH set "
                "so they can import the project); see docs/cluster.md",
            ) from None

    def _check_workers(self) -> None:
        """Every worker must import this engine version and the step modules in use."""
        import engine
        from engine import registry

        modules = registry.REGISTRY.modules()
        answers = self._client.run(_probe, modules, on_error="return")
        problems = []
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                problems.append(f"{worker}: cannot run the check ({type(answer).__name__}: "
                                f"{answer}) -- is the project on the worker's PYTHONPATH?")
                continue
            if answer["engine"] != engine.__version__:
                problems.append(f"{worker}: engine {answer['engine']} at {answer['path']}, "
                                f"here {engine.__version__}")
            for module, error in answer["missing"].items():
                problems.append(f"{worker}: cannot import {module}: {error}")
        if problems:
            namespaces = sorted({m.split(".")[-1] for m in modules})
            raise UsageError(
                "Dask workers cannot run this workflow (step libraries in use: "
                f"{', '.join(namespaces) or 'none'}):\n  " + "\n  ".join(problems),
                "start the workers from the same environment and checkout as mi-run "
                "(same venv, PYTHONPATH and MI_STEP_MODULES); see docs/cluster.md",
            )

    # -- submit / wait -------------------------------------------------------------------------

    def submit(self, instance: StepInstance, attempt: int, log_path: str) -> None:
        self._seq += 1
        task = _Task(instance, attempt, log_path, f"mi-{self._token}-{self._seq}-{instance.id}")
        with contextlib.suppress(OSError):
            task.log_offset = os.path.getsize(log_path)
        self._launch(task)

    def _launch(self, task: _Task) -> None:
        instance, attempt, log_path = task.instance, task.attempt, task.log_path
        resources, refusal = self._resources_for(instance)
        if refusal is not None:
            self._ready.append(self._fail(task, refusal[0], refusal[1]))
            return
        if self._client is None or self._client.status != "running":
            self._ready.append(self._fail(task, self._lost_text(), self._lost_hint()))
            return
        future = self._client.submit(
            _work, instance, attempt, os.path.abspath(log_path), self._token, self._tmp_root,
            task.key, self._module_of(instance), self._hash_limit, self._kill_grace, _engine_version(),
            key=task.key, pure=False, retries=0, resources=resources or None,
        )  # fmt: skip
        self._inflight[task.key] = (future, task)
        self._completed.add(future)

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        self._reap()
        while not self._ready and self._inflight:
            left = None if end is None else max(0.0, end - time.monotonic())
            if self._reap_hosts:
                left = 0.5 if left is None else min(left, 0.5)
            try:
                done = [self._completed.queue.get(timeout=left)]
            except queue.Empty:
                self._reap()
                if end is None or time.monotonic() < end:
                    continue
                break
            while True:  # everything else that finished meanwhile
                try:
                    done.append(self._completed.queue.get_nowait())
                except queue.Empty:
                    break
            self._collect(done)
        ready, self._ready = self._ready, []
        return ready

    def running(self) -> int:
        return len(self._inflight) + len(self._ready)

    def _collect(self, done: list[tuple[Any, Any]]) -> None:
        """``(future, result)`` pairs from the as_completed queue: the result was fetched in
        the client's event loop already (a synchronous gather per step costs ~5 ms more)."""
        for future, result in done:
            entry = self._inflight.pop(future.key, None)
            if entry is None:
                continue  # cancelled by cancel_all
            task = entry[1]
            if isinstance(result, Outcome):
                self._ready.append(_as_given(result, task))
            else:
                outcome = self._failure(future, task)
                if outcome is not None:
                    self._ready.append(outcome)
            future.release()

    def _failure(self, future: Any, task: _Task) -> Outcome | None:
        """The FAILED outcome of an errored or cancelled future (never a step failure), or None
        when the attempt was resubmitted because its worker died before starting it."""
        from distributed import KilledWorker

        if future.status == "cancelled" or self._client.status != "running":
            return self._fail(task, self._lost_text(), self._lost_hint())
        try:
            exc = future.exception(timeout=5)
        except Exception as err:  # cancelled between the callback and now
            exc = err
        if isinstance(exc, KilledWorker):
            worker = getattr(exc.last_worker, "address", "?")
            self._reap_hosts[_host(worker)] = time.monotonic() + _REAP_WINDOW
            self._reap()
            if task.requeued < 3 and not _log_has(task.log_path, _start_line(task),
                                                  task.log_offset):
                task.requeued += 1  # it never started (nothing ran): not the step's fault
                self._seq += 1
                task.key = f"mi-{self._token}-{self._seq}-{task.instance.id}"
                self._launch(task)
                return None
            if task.instance.timeout and _log_has(task.log_path, _TIMEOUT_NOTE,
                                                  task.log_offset):
                return self._fail(
                    task, f"timed out after {task.instance.timeout:g} s (Python steps cannot be "
                    f"interrupted in a Dask worker thread: its worker {worker} was killed)",
                    f"raise 'timeout:' for step '{task.instance.step}' if it needs longer",
                )  # fmt: skip
            return self._fail(
                task, f"worker died: the Dask worker {worker} running this step was lost "
                "(killed, out of memory, crashed, or its node went away)",
                "the kernel's OOM killer or the batch system may have killed it (check the "
                f"worker's log and 'dmesg'); 'retries:' reruns such steps; log: {task.log_path}",
            )  # fmt: skip
        if isinstance(exc, (ImportError, AttributeError)):
            return self._fail(task, f"a Dask worker could not load the engine: {exc!r}",
                              "workers need the project on PYTHONPATH; see docs/cluster.md")
        return self._fail(task, f"executor error: {exc!r}")

    # -- cancel / shutdown -----------------------------------------------------------------------

    def cancel_all(self) -> None:
        entries = list(self._inflight.values())
        self._inflight.clear()
        self._ready.clear()
        client = self._client
        if not entries or client is None or client.status != "running":
            return
        with contextlib.suppress(Exception):  # shell steps: kill their process groups
            client.run(_kill_groups, self._token, self._tmp_root, True, on_error="ignore",
                       callback_timeout=10)
        with contextlib.suppress(Exception):
            client.cancel([f for f, _ in entries], force=True)
        python_running = any(t.instance.command is None for _, t in entries)
        if python_running and self._cluster is not None:
            # A worker thread cannot be interrupted: restart our own workers (a shared
            # scheduler's workers are left alone; their Python steps run to the end).
            with contextlib.suppress(Exception):
                client.restart(timeout=30, wait_for_workers=False)

    def shutdown(self) -> None:
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        self._inflight.clear()
        if client is not None:
            if client.status == "running":
                # Every attempt has ended, so a marker left is an orphan of a dead worker: kill
                # its group; remove this run's node-local directories.
                with contextlib.suppress(Exception):
                    client.run(_kill_groups, self._token, self._tmp_root, True,
                               on_error="ignore", callback_timeout=10)
            with contextlib.suppress(Exception):
                client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)

    # -- helpers -----------------------------------------------------------------------------

    def _resources_for(
        self, instance: StepInstance
    ) -> tuple[dict[str, float], tuple[str, str] | None]:
        wanted: dict[str, float] = {}
        if "slots" in self._limits:
            wanted["slots"] = min(float(max(instance.threads, 1)), self._limits["slots"])
        for name, amount in instance.resources.items():
            if name == "slots" or name not in self._limits:
                continue
            if amount > self._limits[name]:
                return {}, (f"needs {name}={amount} but the largest Dask worker offers "
                            f"{self._limits[name]:g}",
                            f"start workers with more {name} (--resources {name}=N) or lower "
                            "the step's resources")
            wanted[name] = float(amount)
        return wanted, None

    def _module_of(self, instance: StepInstance) -> str | None:
        if instance.uses is None:
            return None
        if instance.uses not in self._modules:
            self._modules[instance.uses] = module_of(instance.uses)
        return self._modules[instance.uses]

    def _reap(self) -> None:
        """After a worker death: kill the process groups whose worker process is gone, on every
        node that lost a worker, as soon as a worker runs there again (the dead one's nanny
        restarts it): a shell step outlives its worker otherwise."""
        if not self._reap_hosts or self._client is None or self._client.status != "running":
            return
        try:
            workers = self._client.scheduler_info().get("workers", {})
            targets = [w for w in workers if _host(w) in self._reap_hosts]
            if targets:
                answers = self._client.run(_reap_orphans, self._token, self._tmp_root,
                                           workers=targets, on_error="return",
                                           callback_timeout=10)
                now = time.monotonic()
                for worker, answer in answers.items():
                    host = _host(worker)
                    # Found the orphan (or gave it time to turn into a zombie): done there.
                    if not isinstance(answer, BaseException) and (
                        answer or now > self._reap_hosts.get(host, 0.0)
                    ):
                        self._reap_hosts.pop(host, None)
        except Exception:
            pass  # tried again on the next wait()

    def _lost_text(self) -> str:
        return f"lost the connection to the Dask scheduler at {self._address or '?'}"

    def _lost_hint(self) -> str:
        return ("the scheduler process stopped or the network failed; the step may still have "
                "run: run the same command again to resume")

    def _fail(self, task: _Task, error: str, hint: str | None = None) -> Outcome:
        return failed_outcome(task.instance, task.attempt, task.log_path, error,
                              started=task.submitted, ended=time.time(), hint=hint)


# -- cluster construction --------------------------------------------------------------------


def make_jobqueue_cluster(kind: str, config: Mapping[str, Any]) -> Any:
    """A dask_jobqueue cluster of ``kind`` (slurm|pbs|sge|lsf) from the ``dask:`` settings.

    One worker process per batch job with ``cores`` threads, advertising ``slots=cores`` (and the
    ``resources:`` mapping) as Dask worker resources. No job is submitted until it is scaled.
    """
    module = _require("dask_jobqueue")
    options = {k: v for k, v in config.items() if k in JOBQUEUE_KEYS}
    if "memory" not in options:
        raise UsageError(f"--cluster {kind} needs 'dask: {{memory: ...}}' (memory per job)",
                         "for example: dask: {cores: 8, memory: 32GB, walltime: '04:00:00'}")
    cores = int(options.setdefault("cores", 1))
    offered = {"slots": cores, **_float_values(config.get("resources"))}
    spec = ",".join(f"{k}={v:g}" for k, v in offered.items())
    options["worker_extra_args"] = [*options.get("worker_extra_args", ()), "--resources", spec]
    options.setdefault("job_name", "mi-run")
    options["processes"] = 1  # one worker per job: ``cores`` threads share its slots
    return getattr(module, CLUSTERS[kind])(**options)


def _shorten_batching(client: Any) -> None:
    """Send submissions to the scheduler within 2 ms instead of Dask's 10 ms batching window.

    Dask batches client messages for throughput with thousands of queued tasks; the loop here
    keeps at most ``-j`` attempts in flight, so every step waits out that window (measured:
    10.7 ms -> 6.1 ms median submit-to-result round trip on a LocalCluster). ``interval`` is
    an attribute of distributed's ``BatchedSend``; without it nothing changes.
    """
    comm = getattr(client, "scheduler_comm", None)
    if comm is not None and isinstance(getattr(comm, "interval", None), float):
        comm.interval = 0.002


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=float(os.environ.get("MI_DASK_CONNECT_TIMEOUT", 20)))
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot connect to the Dask scheduler at {address}: {exc}",
                         "start one with: dask scheduler --host HOST --port PORT") from None


def _advertised(client: Any) -> dict[str, float]:
    """Largest amount of each resource that every connected worker advertises."""
    workers = client.scheduler_info().get("workers", {}).values()
    offers = [w.get("resources") or {} for w in workers]
    if not offers:
        return {}
    common = set.intersection(*(set(o) for o in offers))
    return {name: max(float(o[name]) for o in offers) for name in common}


def _as_given(outcome: Outcome, task: _Task) -> Outcome:
    """The worker got an absolute log path (its cwd differs); report the one the loop gave."""
    if outcome.log_path == task.log_path:
        return outcome
    return dataclasses.replace(outcome, log_path=task.log_path)


def _host(address: str) -> str:
    """``tcp://10.0.0.5:4001`` -> ``10.0.0.5``."""
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def _float_values(mapping: Any) -> dict[str, float]:
    if not mapping:
        return {}
    if not isinstance(mapping, Mapping):
        raise UsageError("'dask: {resources: ...}' must map resource names to numbers")
    return {str(k): float(v) for k, v in mapping.items()}


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"--backend dask needs the Python package '{module}'",
                         _INSTALL_HINT[module]) from None


def _engine_version() -> str:
    import engine

    return engine.__version__


def _log_has(path: str, text: str, offset: int = 0) -> bool:
    """Whether ``text`` was written to the log ``path`` past byte ``offset``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return text.encode() in handle.read()
    except OSError:
        return False


def _start_line(task: _Task) -> str:
    """What the runner writes first into the log when it starts an attempt."""
    return f"[mi-run] {task.instance.id} attempt {task.attempt}:"


# -- functions that run on the workers (imported there by name) ---------------------------------


def _node_dir(token: str, tmp_root: str | None) -> str:
    return os.path.join(tmp_root or tempfile.gettempdir(), f"mi-run-dask-{token}")


def _work(
    instance: StepInstance,
    attempt: int,
    log_path: str,
    token: str,
    tmp_root: str | None,
    key: str,
    step_module: str | None,
    hash_limit: int | None,
    kill_grace: float,
    version: str,
) -> Outcome:
    """One attempt on a worker: node-local tmp dir and marker, Python-step watchdog."""
    if _engine_version() != version:
        now = time.time()
        return failed_outcome(
            instance, attempt, log_path,
            f"the Dask worker runs engine {_engine_version()}, mi-run runs {version}",
            started=now, ended=now, hint="start the workers from the same checkout/venv",
        )  # fmt: skip
    state_tmp = _node_dir(token, tmp_root)
    os.makedirs(state_tmp, exist_ok=True)
    finished = threading.Event()
    if instance.timeout and instance.command is None:
        limit = instance.timeout + kill_grace
        threading.Thread(target=_watchdog, args=(finished, limit, log_path), daemon=True).start()
    try:
        return execute(instance, attempt, log_path, state_tmp,
                       marker=os.path.join(state_tmp, _marker_name(key)), step_module=step_module,
                       hash_limit=hash_limit)
    finally:
        finished.set()


def _marker_name(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_~" else "_" for c in key)[:200] + ".run"


def _watchdog(finished: threading.Event, limit: float, log_path: str) -> None:
    if finished.wait(limit):
        return
    with contextlib.suppress(OSError), open(log_path, "a", encoding="utf-8") as log:
        log.write(f"{_TIMEOUT_NOTE} ({limit:g} s)\n")
    os._exit(70)  # the scheduler reports KilledWorker for every task of this worker


def _probe(modules: list[str]) -> dict[str, Any]:
    import importlib

    import engine

    missing = {}
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            missing[module] = f"{type(exc).__name__}: {exc}"
    return {"engine": engine.__version__, "path": os.path.dirname(engine.__file__ or ""),
            "python": "{}.{}".format(*sys.version_info[:2]), "missing": missing}


def _tune_scheduler(allowed: int, dask_scheduler: Any = None) -> None:
    """Fail fast on worker deaths, and hand out no more tasks than threads (see start)."""
    dask_scheduler.allowed_failures = allowed
    dask_scheduler.WORKER_SATURATION = 1.0


def _kill_groups(token: str, tmp_root: str | None, kill: bool) -> None:
    """Kill (if ``kill``) this run's running shell process groups on this node; remove the dir."""
    folder = _node_dir(token, tmp_root)
    if kill:
        for name in _markers(folder):
            info = read_marker(os.path.join(folder, name))
            if info is not None and info.pgid is not None:
                kill_group(info.pgid)
    shutil.rmtree(folder, ignore_errors=True)


def _reap_orphans(token: str, tmp_root: str | None) -> list[int]:
    """Kill the process groups of attempts whose worker process died on this node."""
    folder = _node_dir(token, tmp_root)
    killed = []
    for name in _markers(folder):
        path = os.path.join(folder, name)
        info = read_marker(path)
        if info is None or _alive(info.pid):
            continue
        if info.pgid is not None:
            kill_group(info.pgid)
            killed.append(info.pgid)
        shutil.rmtree(info.tmp_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(path)
    return killed


def _markers(folder: str) -> list[str]:
    try:
        return [n for n in os.listdir(folder) if n.endswith(".run")]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a dead worker not yet reaped by its nanny is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


