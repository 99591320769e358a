"""Getting Dask workers: a local cluster, a running scheduler, or a batch-system cluster."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from engine import envvars
from engine.errors import UsageError
from engine.executors.dask.remote import probe, tune_scheduler
from engine.registry import REGISTRY
from engine.version import __version__

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

# Observability that costs CPU on every worker while steps run, for dashboards this engine does
# not start: the statistical profiler samples the running thread's stack every 10 ms, and the
# event-loop health check ticks every 20 ms. Measured on a 2-worker LocalCluster running
# 100 x ``sleep 0.2`` (10 s): 0.95 s of Dask CPU by default, 0.74 s without the profiler,
# 0.80 s with a 1 s tick, 0.55 s with both -- CPU the steps' own processes get instead.
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}

_INSTALL_HINT = {
    "distributed": "install the Dask extra: pip install 'metainformant-flow[dask]'",
    "dask_jobqueue": "install the HPC extra: pip install 'metainformant-flow[hpc]'",
}


def check_settings(scheduler: str | None, cluster: str | None, config: Any) -> dict[str, Any]:
    """The ``dask:`` settings as a dict, after refusing contradictory or unknown ones."""
    if cluster is not None and cluster not in CLUSTERS:
        raise UsageError(f"unknown --cluster '{cluster}'", f"choose from {', '.join(CLUSTERS)}")
    if cluster is not None and scheduler:
        raise UsageError("--cluster starts its own scheduler: do not also give --scheduler")
    if config is not None and not isinstance(config, Mapping):
        raise UsageError("the 'dask:' config section must be a mapping of settings")
    settings: dict[str, Any] = dict(config or {})
    unknown = sorted(set(settings) - OWN_KEYS - (JOBQUEUE_KEYS if cluster else set()))
    if unknown:
        allowed = sorted(OWN_KEYS | (JOBQUEUE_KEYS if cluster else set()))
        raise UsageError(f"unknown 'dask:' setting(s): {', '.join(unknown)}",
                         f"allowed here: {', '.join(allowed)} (see docs/cluster.md)")
    return settings


class Connection:
    """The client, and the cluster this run started (None when it joined a running scheduler).

    :meth:`open` fills the attributes as it goes, so :meth:`close` after a failed open still
    closes what was started.
    """

    def __init__(self, scheduler: str | None, cluster: str | None, config: dict[str, Any],
                 allowed_failures: int):
        self.scheduler = scheduler
        self.cluster_kind = cluster
        self.config = config
        self.allowed_failures = allowed_failures
        self.cluster: Any = None
        self.client: Any = None
        self.address = ""
        self.limits: dict[str, float] = {}  # resource name -> largest amount a worker offers

    def open(self, slots: int) -> None:
        import dask

        # worker-saturation 1.0: when Dask queues tasks on the scheduler, a worker is handed no
        # more than it has threads, so its death takes down only what really ran on it (tasks
        # merely queued on a dying worker are resubmitted anyway: see the executor's _failure).
        settings = {"distributed.scheduler.allowed-failures": self.allowed_failures,
                    "distributed.scheduler.worker-saturation": 1.0, **QUIET}
        with dask.config.set(settings):  # read by schedulers (and LocalCluster workers) made here
            self._open_client(slots)
        shorten_batching(self.client)
        if self.cluster_kind is None:  # jobqueue clusters start with no workers
            self._wait_for_workers()
            self.check_workers()
            self.limits = advertised(self.client)

    def _open_client(self, slots: int) -> None:
        from distributed import Client

        if self.cluster_kind is not None:
            self.cluster = self._jobqueue_cluster(slots)
        elif not self.scheduler:
            self.cluster = self._local_cluster(slots)
        if self.cluster is not None:
            self.client = Client(self.cluster)
            self.address = self.cluster.scheduler_address
        else:
            self.address = str(self.scheduler)
            self.client = connect(self.address)
            self.client.run_on_scheduler(tune_scheduler, allowed=self.allowed_failures)

    def running(self) -> bool:
        return self.client is not None and self.client.status == "running"

    def close(self) -> None:
        client, self.client = self.client, None
        cluster, self.cluster = self.cluster, None
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:
                pass
        if cluster is not None:
            try:
                cluster.close(timeout=10)
            except Exception:
                pass

    def _local_cluster(self, slots: int) -> Any:
        from distributed import LocalCluster

        # memory_limit=0: the nanny must not kill a worker over the *worker's* RSS (steps'
        # tools run as children anyway); memory is managed with --resources mem_mb=...
        return LocalCluster(
            n_workers=slots, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=self.config.get("memory_limit", 0),
            silence_logs=logging.CRITICAL,  # deaths are reported per step, not as log noise
        )  # fmt: skip

    def _jobqueue_cluster(self, slots: int) -> Any:
        cluster = make_jobqueue_cluster(self.cluster_kind or "slurm", self.config)
        cores = int(self.config.get("cores", 1))
        maximum = int(self.config.get("max_workers", max(1, math.ceil(slots / cores))))
        cluster.adapt(minimum=int(self.config.get("min_workers", 0)), maximum=maximum)
        self.limits = {"slots": float(cores), **float_values(self.config.get("resources"))}
        return cluster

    def _wait_for_workers(self) -> None:
        patience = float(self.config.get("wait_for_workers", 60))
        if self.client.scheduler_info().get("workers"):
            return
        try:
            self.client.wait_for_workers(1, timeout=patience)
        except TimeoutError:
            raise UsageError(
                f"no Dask workers connected to {self.address} within {patience:g} s",
                f"start workers: dask worker {self.address} --nthreads 1 (with PYTHONPATH set "
                "so they can import the project); see docs/cluster.md",
            ) from None

    def check_workers(self) -> None:
        """Every worker must import this engine version and the step modules in use."""
        modules = REGISTRY.modules()
        answers = self.client.run(probe, modules, on_error="return")
        problems = []
        for worker, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                problems.append(f"{worker}: cannot run the check ({type(answer).__name__}: "
                                f"{answer}) -- is the project on the worker's PYTHONPATH?")
                continue
            if answer["engine"] != __version__:
                problems.append(f"{worker}: engine {answer['engine']} at {answer['path']}, "
                                f"here {__version__}")
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


def make_jobqueue_cluster(kind: str, config: Mapping[str, Any]) -> Any:
    """A dask_jobqueue cluster of ``kind`` (slurm|pbs|sge|lsf) from the ``dask:`` settings.

    One worker process per batch job with ``cores`` threads, advertising ``slots=cores`` (and the
    ``resources:`` mapping) as Dask worker resources. No job is submitted until it is scaled.
    """
    module = require("dask_jobqueue")
    options = {k: v for k, v in config.items() if k in JOBQUEUE_KEYS}
    if "memory" not in options:
        raise UsageError(f"--cluster {kind} needs 'dask: {{memory: ...}}' (memory per job)",
                         "for example: dask: {cores: 8, memory: 32GB, walltime: '04:00:00'}")
    cores = int(options.setdefault("cores", 1))
    offered = {"slots": cores, **float_values(config.get("resources"))}
    spec = ",".join(f"{k}={v:g}" for k, v in offered.items())
    options["worker_extra_args"] = [*options.get("worker_extra_args", ()), "--resources", spec]
    options.setdefault("job_name", "mi-run")
    options["processes"] = 1  # one worker per job: ``cores`` threads share its slots
    return getattr(module, CLUSTERS[kind])(**options)


def shorten_batching(client: Any) -> None:
    """Send submissions to the scheduler within 2 ms instead of Dask's 10 ms batching window.

    Dask batches client messages for throughput with thousands of queued tasks; the loop here
    keeps at most ``-j`` attempts in flight, so every step waits out that window (measured:
    10.7 ms -> 6.1 ms median submit-to-result round trip on a LocalCluster). ``interval`` is
    an attribute of distributed's ``BatchedSend``; without it nothing changes.
    """
    comm = getattr(client, "scheduler_comm", None)
    if comm is not None and isinstance(getattr(comm, "interval", None), float):
        comm.interval = 0.002


def connect(address: str) -> Any:
    from distributed import Client

    try:
        timeout = envvars.read_float(envvars.DASK_CONNECT_TIMEOUT) or 20.0
    except envvars.BadVariable as exc:
        raise UsageError(str(exc), exc.hint) from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot connect to the Dask scheduler at {address}: {exc}",
                         "start one with: dask scheduler --host HOST --port PORT") from None


def advertised(client: Any) -> dict[str, float]:
    """Largest amount of each resource that every connected worker advertises."""
    workers = client.scheduler_info().get("workers", {}).values()
    offers = [w.get("resources") or {} for w in workers]
    if not offers:
        return {}
    common = set.intersection(*(set(o) for o in offers))
    return {name: max(float(o[name]) for o in offers) for name in common}


def float_values(mapping: Any) -> dict[str, float]:
    if not mapping:
        return {}
    if not isinstance(mapping, Mapping):
        raise UsageError("'dask: {resources: ...}' must map resource names to numbers")
    return {str(k): float(v) for k, v in mapping.items()}


def require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"--backend dask needs the Python package '{module}'",
                         _INSTALL_HINT[module]) from None
