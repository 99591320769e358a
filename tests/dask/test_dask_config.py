"""Construction of the dask executor: missing extras, the ``dask:`` settings, jobqueue clusters."""

from __future__ import annotations

import sys

import pytest

from engine.errors import UsageError
from engine.executors import EXECUTORS, make_executor


def test_dask_is_a_registered_backend() -> None:
    pytest.importorskip("distributed")
    assert "dask" in EXECUTORS
    executor = make_executor("dask", scheduler="tcp://127.0.0.1:1", config={"tmp_dir": "/x"})
    assert executor.name == "dask" and executor.running() == 0
    assert executor.wait(0.1) == []  # not started, nothing submitted: returns at once
    executor.shutdown()


@pytest.mark.parametrize(("missing", "cluster", "extra"),
                         [("distributed", None, "[dask]"), ("dask_jobqueue", "slurm", "[hpc]")])
def test_missing_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, missing: str, cluster: str | None, extra: str
) -> None:
    from engine.executors.dask import make_jobqueue_cluster

    monkeypatch.setitem(sys.modules, missing, None)  # makes ``import missing`` fail
    with pytest.raises(UsageError) as info:
        if missing == "distributed":
            make_executor("dask")
        else:
            make_jobqueue_cluster(cluster or "slurm", {"memory": "4GB"})
    assert missing in str(info.value)
    assert info.value.hint is not None and f"metainformant-flow{extra}" in info.value.hint


def test_unknown_settings_are_reported_with_the_allowed_ones() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(UsageError) as info:
        make_executor("dask", config={"cores": 4, "bogus": 1})
    assert "cores" in str(info.value) and "bogus" in str(info.value)  # cores needs --cluster
    assert info.value.hint is not None and "memory_limit" in info.value.hint
    make_executor("dask", cluster="slurm", config={"cores": 4, "memory": "8GB"}).shutdown()
    with pytest.raises(UsageError, match="--scheduler"):
        make_executor("dask", cluster="slurm", scheduler="tcp://h:1")
    with pytest.raises(UsageError, match="mapping"):
        make_executor("dask", config=["cores"])


def test_slurm_job_script_from_the_config_section() -> None:
    pytest.importorskip("dask_jobqueue")
    from engine.executors.dask import make_jobqueue_cluster

    config = {
        "cores": 8, "memory": "32GB", "queue": "long", "walltime": "04:00:00",
        "account": "lab42", "resources": {"mem_mb": 32000},
        "job_extra_directives": ["--constraint=avx2"],
        "job_script_prologue": ["source /shared/venv/bin/activate",
                                "export PYTHONPATH=/shared/metainformant-flow"],
        "max_workers": 10,  # read by the executor, not by dask_jobqueue
    }  # fmt: skip
    cluster = make_jobqueue_cluster("slurm", config)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p long" in script
    assert "#SBATCH -A lab42" in script
    assert "#SBATCH --cpus-per-task=8" in script
    assert "#SBATCH -t 04:00:00" in script
    assert "#SBATCH --constraint=avx2" in script
    assert "source /shared/venv/bin/activate" in script
    assert "--nthreads 8" in script and "--nworkers" not in script  # one worker per job
    assert "--resources slots=8,mem_mb=32000" in script
    assert "#SBATCH -J mi-run" in script


def test_jobqueue_needs_memory() -> None:
    pytest.importorskip("dask_jobqueue")
    from engine.executors.dask import make_jobqueue_cluster

    with pytest.raises(UsageError, match="memory"):
        make_jobqueue_cluster("pbs", {"cores": 2})
