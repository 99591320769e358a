"""Peak memory of a step, from the kernel's RSS high-water marks (and its CPU time).

Peak memory (``peak_mem_mb``, also in ``metadata``):

* shell steps: ``ru_maxrss`` from ``os.wait4`` of the bash process, which Linux defines as the
  largest RSS of that process and of every descendant it waited for -- i.e. the biggest single
  process of the step's tree (not the sum of processes running side by side). Linux also
  carries the spawning process's RSS high-water mark into the child at ``exec``, so the worker's
  mark is reset just before spawning and the figure has a floor of the worker's current RSS
  (~40 MB in a loky worker; the engine's RSS in the threads/serial executors): values at that
  floor mean "small", values above it are the tool's real peak;
* Python steps: the worker's peak RSS during the step, measured by resetting the kernel's
  high-water mark (``echo 5 > /proc/self/clear_refs``) before the call and reading ``VmHWM``
  after it, so it includes the interpreter's baseline (~30-80 MB); tools the step ran are
  covered by ``RUSAGE_CHILDREN`` when their peak exceeds every earlier child of the worker. In
  the threads executor the figure is process-wide (concurrent steps share it).
"""

from __future__ import annotations

import os
import resource
import time


class PeakMemory:
    """Peak RSS of this process (and of its children) from construction to :meth:`peak_mb`."""

    def __init__(self) -> None:
        self.reset = reset_hwm()
        self.self_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    def peak_mb(self) -> float:
        own = _read_hwm_kb() if self.reset else None
        if own is None:  # no /proc: the high-water mark since process start is all we have
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child_peak = children if children > self.children_before else 0
        return max(own, child_peak) / 1024.0


class CpuClock:
    """CPU seconds of this thread and of the child processes reaped meanwhile (in the threads
    executor the children of concurrent steps are counted by whichever step ends first)."""

    def __init__(self) -> None:
        self._thread = time.thread_time()
        self._children = _children_cpu()

    def seconds(self) -> float:
        return (time.thread_time() - self._thread) + max(0.0, _children_cpu() - self._children)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_clear_refs: tuple[int, int] | None = None  # (pid, fd): kept open, one write per reset


def reset_hwm() -> bool:
    """Reset this process's peak-RSS mark (Linux >= 4.0); False when not possible."""
    global _clear_refs
    try:
        if _clear_refs is None or _clear_refs[0] != os.getpid():
            _clear_refs = (os.getpid(), os.open("/proc/self/clear_refs", os.O_WRONLY))
        os.write(_clear_refs[1], b"5")
        return True
    except OSError:
        return False


def _read_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
