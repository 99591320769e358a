"""A made-up run record of any size, shaped as the engine writes them (docs/report.md), for
testing reports and traces of big runs without running them."""

from __future__ import annotations

from typing import Any


def _instance(index: int, start: float, step: str, status: str, **extra: Any) -> dict[str, Any]:
    sample = f"SRR{1000000 + index}"
    duration = 0.5 + (index % 17) * 0.25
    code = 0 if status == "completed" else 1
    attempt = {"attempt": 1, "status": status, "submitted": start, "started": start,
               "ended": start + duration, "cpu_time": duration * 0.8, "peak_mem_mb": 40.0 + index % 50,
               "exit_code": code, "signal": None,
               "log": f"/data/project/.mi/logs/{step}/{sample}.log", "error": None}
    entry = {
        "id": f"{step}[{sample}]", "step": step, "status": status, "reasons": ["never run"],
        "attempts": 1, "started": start, "ended": start + duration, "duration": duration,
        "cpu_time": duration * 0.8, "peak_mem_mb": 40.0 + index % 50, "exit_code": code,
        "signal": None, "log": attempt["log"],
        "command": f"kallisto quant -i index/transcripts.idx -o quant/{sample} -t 1 "
                   f"--single -l 200 -s 20 fastq/{sample}.fastq.gz",
        "params": {},
        "inputs": [{"name": "reads", "path": f"fastq/{sample}.fastq.gz", "size": 1_000_000 + index},
                   {"name": "index", "path": "index/transcripts.idx", "size": 52_000_000}],
        "outputs": [{"name": "abundance", "path": f"quant/{sample}/abundance.tsv", "size": 4_000 + index}],
        "output": {"mapping_rate": 0.8 + (index % 10) / 100, "reads": 10_000 + index},
        "warnings": [], "metadata": {"execution_time": duration, "peak_mem_mb": 40.0},
        "error": None, "hint": None, "attempt_list": [attempt],
    }
    entry.update(extra)
    return entry


def synthetic_record(fanout: int, failed: int = 3, run_id: str = "20250101-120000-abcdef",
                     workflow: str = "big") -> dict[str, Any]:
    """A run of ``fanout`` ``quant`` instances (``failed`` of them failed) after one
    ``index`` instance, and a ``merge`` of them all that did not start."""
    zero = 1_700_000_000.0
    instances = [_instance(0, zero, "index", "completed", id="index", output={})]
    for index in range(fanout):
        start = zero + 10 + index * 0.4
        status = "failed" if index < failed else "completed"
        extra: dict[str, Any] = {"error": "command failed (exit status 1)",
                                 "log_tail": "line\n" * 20} if status == "failed" else {}
        instances.append(_instance(index + 1, start, "quant", status, **extra))
    ids = [e["id"] for e in instances[1:]]
    merge = {"id": "merge", "step": "merge", "status": "not started", "reasons": [],
             "attempts": 0, "command": "amalgkit merge --out_dir out", "params": {},
             "inputs": [{"name": "quant", "path": f"quant/{i}/abundance.tsv", "size": None}
                        for i in ids],
             "outputs": [{"name": "table", "path": "merge/table.tsv", "size": None}]}
    instances.append(merge)
    end = zero + 10 + fanout * 0.4 + 5
    return {
        "format": 1, "run_id": run_id, "workflow": workflow, "status": "failed",
        "started": zero, "ended": end, "elapsed": end - zero,
        "spec": {"path": "big.yaml", "sha256": "0" * 64}, "argv": ["mi-run", "big.yaml", "-k"],
        "options": {"jobs": 8}, "engine": {"version": "0.1.0", "python": "3.11.7"},
        "host": {"name": "node1", "platform": "Linux", "cpus": 8}, "work_dir": "/data/project",
        "config": [{"key": "threads", "value": 1, "origin": "spec big.yaml:3:3", "layer": "spec"}],
        "tools": {"kallisto": {"path": "/usr/bin/kallisto", "version": "kallisto, version 0.48.0",
                               "error": None, "steps": ["quant"]}},
        "counts": {"completed": fanout - failed + 1, "failed": failed, "not started": 1},
        "steps": [
            {"name": "index", "instances": 1, "fanned_out": False, "needs": []},
            {"name": "quant", "instances": fanout, "fanned_out": True,
             "needs": [["index", "file"]]},
            {"name": "merge", "instances": 1, "fanned_out": False, "needs": [["quant", "file"]]},
        ],
        "critical_path": {"instances": ["index", ids[-1]], "seconds": 5.0},
        "instances": instances,
    }
