"""The fault matrix: each faulty candidate beside a healthy one, in worker processes.

For every fault the run must complete, the faulty candidate must fail with a stored reason, and the
healthy one must be measured. Prints one row per fault:

    python benchmarks/bench_faults.py

The models are defined in this module (workers import it by name), so run it from the repository
root or with ``benchmarks/`` on the path.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import tempfile
import time

import numpy as np

import effbench
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress

N = 32


def ok(X):
    return np.zeros(len(X), dtype=np.int64)


def raises(X):
    raise RuntimeError("boom")


def hangs(X):
    if len(X) == 8:
        while True:
            time.sleep(3600)
    return ok(X)


def out_of_memory(X):
    np.ones((1 << 40,), dtype=np.float64)  # 8 TiB: numpy raises MemoryError
    return ok(X)


def killed(X):  # what the kernel's OOM killer does: SIGKILL
    if len(X) == 8:
        os.kill(os.getpid(), signal.SIGKILL)
    return ok(X)


def exits(X):
    if len(X) == 8:
        os._exit(3)
    return ok(X)


def aborts(X):
    if len(X) == 8:
        os.abort()
    return ok(X)


def segfaults(X):
    if len(X) == 8:
        ctypes.string_at(0)
    return ok(X)


def nan_labels(X):
    return np.full(len(X), np.nan)


def nan_scores(X):
    s = np.zeros((len(X), 3))
    s[:, 2] = np.nan
    return s


def wrong_shape(X):
    return np.zeros((len(X), 2, 2))


def too_few(X):
    return np.zeros(len(X) - 1, dtype=np.int64)


def none(X):
    return None


def strings(X):
    return np.array(["cat"] * len(X))


FAULTS = [raises, hangs, out_of_memory, killed, exits, aborts, segfaults, nan_labels, nan_scores, wrong_shape,
          too_few, none, strings]


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_faults as me  # the workers unpickle the models by this module's name

    X = np.random.default_rng(0).normal(size=(N, 4)).astype(np.float32)
    y = np.zeros(N, dtype=np.int64)
    timing = TimingConfig(max_time_s=0.05, min_time_s=0.01, min_samples=5)
    folder = tempfile.mkdtemp(prefix="effbench-faults-")
    print("| fault | run status | faulty candidate | stored reason | healthy candidate | seconds |")
    print("|---|---|---|---|---|---|")
    for fault in FAULTS:
        t0 = time.monotonic()
        r = effbench.benchmark({fault.__name__: getattr(me, fault.__name__), "ok": me.ok}, X, y, batch_sizes=[1, 8],
                               db=os.path.join(folder, f"{fault.__name__}.sqlite"), timing=timing, energy=None,
                               repeats=1, timeout_s=10.0, progress=SilentProgress())
        bad = r.run.candidate(f"{fault.__name__}/callable")
        good = r.run.candidate("ok/callable")
        reason = (bad.error or "").replace("|", "/")[:110]
        print(f"| {fault.__name__} | {r.run.status} | {bad.status} | {reason} | {good.status} | {time.monotonic() - t0:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
