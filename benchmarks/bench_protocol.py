"""Validate effbench's timing protocol against known costs and other timers (prints figures).

    .venv/bin/python benchmarks/bench_protocol.py [--part a,b,c] [--db PATH]

(a) a synthetic candidate busy-waiting 100 us, 1 ms, 10 ms, measured through ``effbench.benchmark``
    (spawned worker, the suite's timing defaults): median vs the truth;
(b) harness overhead on a no-op: effbench's per-call median minus a bare loop of clock reads;
(c) the small CNN at batch 1, one thread, side by side in one process: effbench's protocol vs a bare
    perf_counter loop vs ``torch.utils.benchmark`` (blocked_autorange, adaptive_autorange), and
    the variants that explain the gap (autograd on/off, per-block mean vs per-call median).

Figures and the exact command are in docs/protocol.md. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time

import numpy as np


def busy_wait(seconds: float, X):
    """Spin on time.perf_counter for ``seconds``: a candidate whose true cost is known."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass
    return np.zeros(len(X), dtype=np.int64)


def noop(X):
    return X


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def part_a(db):
    import effbench
    from effbench.analysis.stats import quantile_ci
    from effbench.api import SUITE_TIMING

    X = np.zeros((16, 8), dtype=np.float32)
    y = np.zeros(16, dtype=np.int64)
    print(f"\n(a) busy-wait candidates through effbench.benchmark (worker process, timing {SUITE_TIMING})")
    print(f"    load average before: {load()}")
    models = {f"busy_{int(d * 1e6)}us": functools.partial(busy_wait, d) for d in (100e-6, 1e-3, 10e-3)}
    result = effbench.benchmark(models, X, y, batch_sizes=[1], db=db, progress=False)
    print(f"{'candidate':14s} {'truth':>9s} {'median':>11s} {'95% CI of median':>25s} {'error':>8s} {'n':>6s}  stop")
    for name, d in zip(models, (100e-6, 1e-3, 10e-3)):
        s = next(s for s in result.run.samples if s.candidate == f"{name}/callable" and s.batch_size == 1)
        m = quantile_ci(s.values, 0.5)
        print(f"{name:14s} {d * 1e6:8.1f}u {m.value * 1e6:10.2f}u [{m.low * 1e6:10.2f}u, {m.high * 1e6:10.2f}u] "
              f"{(m.value / d - 1):+8.3%} {len(s.values):6d}  {s.meta['stop_reason']}")
    print(f"    load average after: {load()}  (run {result.run_id})")


def bare_clock_reads(n: int = 200_000) -> np.ndarray:
    clock = time.perf_counter
    out = np.empty(n)
    for i in range(n):
        t0 = clock()
        t1 = clock()
        out[i] = t1 - t0
    return out


def part_b(db):
    import effbench
    from effbench.api import SUITE_TIMING
    from effbench.candidates.callable_adapter import CallableCandidate
    from effbench.measure.timer import TimingConfig, measure_latency

    print("\n(b) harness overhead on a no-op")
    print(f"    load average before: {load()}")
    bare = float(np.median(bare_clock_reads()))
    print(f"    bare loop of two clock reads (t1 - t0), median of 200000: {bare * 1e9:.1f} ns")
    cand = CallableCandidate("noop", noop)
    prepared = cand.prepare(np.zeros((1, 8), dtype=np.float32))
    rows = []
    for label, cfg in (("in-process, calibrated (blocks)", SUITE_TIMING),
                       ("in-process, one call per sample", TimingConfig(max_time_s=0.6, min_time_s=0.1, min_block_s=0.0))):
        r = measure_latency(lambda: cand.infer(prepared), cfg)
        rows.append((label, float(np.median(r.samples_s)), r.block_size, len(r.samples_s)))
    X = np.zeros((16, 8), dtype=np.float32)
    res = effbench.benchmark({"noop": noop}, X, np.zeros(16, dtype=np.int64), batch_sizes=[1], db=db, progress=False)
    s = next(s for s in res.run.samples if s.candidate == "noop/callable")
    rows.append(("effbench.benchmark (worker), calibrated", float(np.median(s.values)), s.meta["block_size"], len(s.values)))
    print(f"    {'how':42s} {'median per call':>16s} {'minus bare':>11s} {'block':>6s} {'samples':>8s}")
    for label, med, k, n in rows:
        print(f"    {label:42s} {med * 1e9:13.1f} ns {(med - bare) * 1e9:8.1f} ns {k:6d} {n:8d}")
    print(f"    load average after: {load()}")


def part_c(db, rounds: int = 5):
    import torch
    import torch.utils.benchmark as tb

    import effbench
    from effbench.api import SUITE_TIMING
    from effbench.candidates.torch_adapter import TorchCandidate
    from effbench.measure.timer import measure_latency
    from effbench.zoo.nets import SmallCNN

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = SmallCNN().eval()
    x = torch.randn(1, 64)
    cand = TorchCandidate("cnn_small", model)
    cand.configure_threads(1)
    prepared = cand.prepare(x.numpy())

    def bare_loop(ctx, seconds=1.0):
        out = []
        clock = time.perf_counter
        end = clock() + seconds
        with ctx():
            while clock() < end:
                t0 = clock()
                model(x)
                out.append(clock() - t0)
        return np.asarray(out)

    def bare_same_call(seconds=1.0):
        out = []
        clock = time.perf_counter
        end = clock() + seconds
        while clock() < end:
            t0 = clock()
            cand.infer(prepared)
            out.append(clock() - t0)
        return np.asarray(out)

    def bare_per_call_context(seconds=1.0):
        out = []
        clock = time.perf_counter
        end = clock() + seconds
        while clock() < end:
            t0 = clock()
            with torch.inference_mode():
                model(x)
            out.append(clock() - t0)
        return np.asarray(out)

    def timer(stmt):
        return tb.Timer(stmt=stmt, globals={"model": model, "x": x, "torch": torch}, num_threads=1)

    methods = {
        "effbench measure_latency (inference_mode)": lambda: np.median(measure_latency(lambda: cand.infer(prepared), SUITE_TIMING).samples_s),
        "bare perf_counter loop, inference_mode": lambda: np.median(bare_loop(torch.inference_mode)),
        "bare loop, inference_mode entered per call": lambda: np.median(bare_per_call_context()),
        "bare loop around cand.infer(prepared) (same call)": lambda: np.median(bare_same_call()),
        "bare perf_counter loop, no_grad": lambda: np.median(bare_loop(torch.no_grad)),
        "bare perf_counter loop, autograd on": lambda: np.median(bare_loop(torch.enable_grad)),
        "bare loop inference_mode, MEAN per call": lambda: np.mean(bare_loop(torch.inference_mode)),
        "bare loop autograd on, MEAN per call": lambda: np.mean(bare_loop(torch.enable_grad)),
        "torch Timer('model(x)').blocked_autorange": lambda: timer("model(x)").blocked_autorange(min_run_time=1.0).median,
        "torch Timer('model(x)').adaptive_autorange": lambda: timer("model(x)").adaptive_autorange(min_run_time=0.2, max_run_time=5.0).median,
        "torch Timer(inference_mode stmt).blocked_autorange": lambda: timer(
            "with torch.inference_mode():\n    model(x)").blocked_autorange(min_run_time=1.0).median,
        "  same, fastest block instead of median block": lambda: min(timer(
            "with torch.inference_mode():\n    model(x)").blocked_autorange(min_run_time=1.0).times),
    }
    print(f"\n(c) SmallCNN, batch 1, 1 thread (torch {torch.__version__}, get_num_threads()={torch.get_num_threads()}), "
          f"{rounds} interleaved rounds, in one process")
    print(f"    load average before: {load()}")
    results = {k: [] for k in methods}
    for _ in range(rounds):
        for name, f in methods.items():
            results[name].append(float(f()))
    ref = statistics.median(results["bare perf_counter loop, inference_mode"])
    print(f"    {'method':52s} {'median of rounds':>16s} {'vs bare inference_mode':>23s}   rounds (us)")
    for name, vals in results.items():
        med = statistics.median(vals)
        print(f"    {name:52s} {med * 1e6:13.2f} us {med / ref - 1:+22.1%}   " + ", ".join(f"{v * 1e6:.2f}" for v in vals))
    X = np.random.default_rng(0).random((16, 64), dtype=np.float32)
    res = effbench.benchmark({"cnn_small": model}, X, np.zeros(16, dtype=np.int64), batch_sizes=[1], db=db, progress=False)
    s = next(s for s in res.run.samples if s.candidate == "cnn_small/torch")
    med = float(np.median(s.values))
    print(f"    {'effbench.benchmark (own worker process, spawn)':52s} {med * 1e6:13.2f} us {med / ref - 1:+22.1%}   "
          f"n={len(s.values)}, stop={s.meta['stop_reason']}")
    print(f"    load average after: {load()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="a,b,c", help="comma-separated parts to run: a, b, c")
    ap.add_argument("--db", default=None, help="store for the runs (default: a temporary file)")
    args = ap.parse_args()
    from effbench.measure.environment import collect_environment

    env = collect_environment(1)
    print(f"machine: {env['cpu'].get('model')}, {env['cores_logical']} logical cores, affinity {env['affinity']}, "
          f"governor {env['cpu'].get('governor')}, turbo {env['cpu'].get('turbo')}; threads per candidate 1")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or os.path.join(tmp, "protocol.sqlite")
        parts = {"a": part_a, "b": part_b, "c": part_c}
        for p in args.part.split(","):
            parts[p.strip()](db)


if __name__ == "__main__":
    main()
