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
:func:`engine.executors.worker.execute` (through :func:`remote.work`) with ``retries=0``:
retries belong to the loop (``retries:`` in the spec), so a step is never rerun behind its back.

Cores. The loop charges a step ``threads`` slots of ``-j``. On one machine (LocalCluster) that
is exact, so tasks carry no Dask resources. On real clusters a worker may have several cores:
when workers advertise a ``slots`` resource (jobqueue workers always do: ``slots=cores``; start
manual workers with ``--resources slots=N``), each task asks for ``slots=threads`` (capped at the
largest worker, which it then has to itself), so Dask never packs more threads onto a node than
it has. Other ``resources:`` of a step (``mem_mb``...) are requested too when workers advertise
them; a step asking for more than any worker advertises fails at once instead of waiting forever.

Outcomes. A worker publishes each attempt's outcome as a Dask event on a topic of this run
(worker -> scheduler -> client, the path the "task finished" message takes anyway), so the loop
does not fetch the task's result from the worker afterwards; the scheduler is told to keep only
the last event of the topic. The result remains the task's return value: when no event came
(a scheduler whose event store cannot be bounded) the loop fetches it as before. Finished
futures are released at the next ``wait``, after the loop's submits (a release just ahead of a
submit would hold it back for the client's batching window).

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

Modules: :mod:`.cluster` gets the workers (local, scheduler address, or batch system) and
checks them; :mod:`.executor` submits attempts and turns what Dask reports into outcomes;
:mod:`.remote` holds the functions that run on the workers.
"""

from engine.executors.dask.cluster import CLUSTERS, make_jobqueue_cluster
from engine.executors.dask.executor import DaskExecutor

__all__ = ["CLUSTERS", "DaskExecutor", "make_jobqueue_cluster"]
