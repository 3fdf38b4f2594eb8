"""Peak resident memory of one inference call, measured by the kernel.

On Linux, writing ``5`` to ``/proc/self/clear_refs`` resets the process's peak resident set size
(``VmHWM`` in ``/proc/self/status``). effbench resets it, runs one call, and reads the peak. Two
figures come out of one call:

- ``peak_rss_bytes``: the worker process's whole footprint at its peak during the call
  (interpreter, libraries, model, buffers): what a process serving this model needs;
- ``peak_bytes``: that peak minus the RSS just before the call: what the call itself adds.

The worker runs one untimed batch-1 call before the first memory reading, so one-time runtime
initialisation (thread pools, kernel caches) is in the footprint but not in the per-call figure.
Where the reset is not available, a 1 ms psutil sampling thread gives a lower bound, and the
method says so.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

PROC_STATUS = "/proc/self/status"
PROC_CLEAR_REFS = "/proc/self/clear_refs"


@dataclass(frozen=True)
class MemoryReading:
    peak_bytes: int            # peak RSS during the call minus the RSS just before it
    peak_rss_bytes: int        # absolute peak RSS of the worker process during the call
    baseline_rss_bytes: int    # RSS just before the call
    method: str
    provenance: str = "measured"

    def to_dict(self) -> dict:
        return {
            "peak_bytes": self.peak_bytes,
            "peak_rss_bytes": self.peak_rss_bytes,
            "baseline_rss_bytes": self.baseline_rss_bytes,
            "method": self.method,
            "provenance": self.provenance,
        }


def _status_kb(field: str) -> int | None:
    try:
        with open(PROC_STATUS) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    value = _status_kb("VmRSS")
    if value is None:
        import psutil

        value = psutil.Process().memory_info().rss
    return int(value)


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark for this process; False where that is not possible."""
    try:
        with open(PROC_CLEAR_REFS, "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


def measure_peak_memory(fn) -> MemoryReading:
    """Run ``fn()`` once and report its peak RSS, absolute and above the RSS just before the call."""
    baseline_rss_bytes = rss_bytes()
    if reset_peak():
        fn()
        peak = _status_kb("VmHWM") or rss_bytes()
        method = "VmHWM after /proc/self/clear_refs reset (kernel peak RSS)"
    else:
        import psutil

        proc = psutil.Process()
        peak = proc.memory_info().rss
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, proc.memory_info().rss)
                time.sleep(0.001)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        try:
            fn()
        finally:
            stop.set()
            t.join()
        peak = max(peak, proc.memory_info().rss)
        method = "psutil RSS sampled every 1 ms (a lower bound: short peaks can be missed)"
    return MemoryReading(
        peak_bytes=max(0, int(peak) - int(baseline_rss_bytes)),
        peak_rss_bytes=int(peak),
        baseline_rss_bytes=int(baseline_rss_bytes),
        method=method,
    )
