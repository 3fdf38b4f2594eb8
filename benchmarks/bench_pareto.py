"""Figures of the Pareto issue, measured side by side in one run.

    .venv/bin/python benchmarks/bench_pareto.py [--paretoset-cap SECONDS] [--quick]

Prints wall-clock times (perf_counter) of:

1. the non-dominated set of 1,000,000 uniform points in 4 objectives (target < 1 s);
2. the non-dominated set of 50,000 points on a sphere in 3 objectives, all non-dominated
   (target < 2 s), and the ``paretoset`` package on the same data (optional: skipped with a
   message when it is not installed). paretoset runs in a child process under a time cap;
   when it hits the cap at n = 50,000 it is run at smaller n and the ratio is given at equal n;
3. DEA scores of 1,500 models with 2 inputs and 2 outputs (target < 10 s);
4. the stochastic frontier of 1,500 models, 3 objectives, 2,000 draws (target < 10 s).

Every effbench result is checked against paretoset's (when both finish) or a brute force.
This is a benchmark, not a test: it prints figures and asserts only correctness.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np


def _time(fn, repeat=1):
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def sphere(n, d, seed=0):
    rng = np.random.default_rng(seed)
    s = np.abs(rng.standard_normal((n, d)))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


def _paretoset_child(kind, n, d, seed, queue):
    from paretoset import paretoset

    X = sphere(n, d, seed) if kind == "sphere" else np.random.default_rng(seed).random((n, d))
    paretoset(X[:50], sense=["max"] * d)  # numba compilation outside the timing
    t0 = time.perf_counter()
    mask = paretoset(X, sense=["max"] * d, distinct=False)
    queue.put((time.perf_counter() - t0, np.flatnonzero(mask)))


def paretoset_time(kind, n, d, seed, cap):
    """(seconds, indices) or (None, None) when it ran past ``cap`` seconds."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_paretoset_child, args=(kind, n, d, seed, queue))
    proc.start()
    try:
        seconds, idx = queue.get(timeout=cap)
    except Exception:  # queue.Empty: ran past the cap
        proc.terminate()
        proc.join()
        return None, None
    proc.join()
    return seconds, idx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paretoset-cap", type=float, default=120.0, help="seconds per paretoset run")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()

    from effbench.analysis.dea import dea
    from effbench.analysis.objectives import parse_objectives
    from effbench.analysis.pareto import nondominated_layers, nondominated_mask
    from effbench.analysis.stochastic_frontier import binomial, relative, stochastic_frontier

    scale = 10 if args.quick else 1
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, python {platform.python_version()}")
    rows = []

    # 1. 1e6 uniform points in 4-D
    n = 1_000_000 // scale
    X = np.random.default_rng(0).random((n, 4))
    t, mask = _time(lambda: nondominated_mask(X), repeat=3)
    rows.append((f"non-dominated set, {n:,} uniform points, 4 objectives", t, "< 1 s", f"{mask.sum()} on the front"))
    have_paretoset = True
    try:
        import paretoset  # noqa: F401
    except ImportError:
        have_paretoset = False
        print("paretoset is not installed: its columns are skipped (pip install paretoset)")
    if have_paretoset:
        pt, pidx = paretoset_time("uniform", n, 4, 0, args.paretoset_cap)
        if pt is not None:
            assert np.array_equal(pidx, np.flatnonzero(mask)), "paretoset and effbench disagree"
            rows.append((f"  paretoset, same {n:,} points", pt, "", f"paretoset / effbench = {pt / t:.1f}"))
        else:
            rows.append((f"  paretoset, same {n:,} points", None, "", f"> {args.paretoset_cap:.0f} s cap"))

    # 2. 50,000 points on a sphere, 3-D, all non-dominated
    n = 50_000 // scale
    S = sphere(n, 3)
    t, mask = _time(lambda: nondominated_mask(S), repeat=3)
    assert mask.all()
    rows.append((f"non-dominated set, {n:,} points on a sphere, 3 objectives", t, "< 2 s", "all non-dominated"))
    if have_paretoset:
        pt, pidx = paretoset_time("sphere", n, 3, 0, args.paretoset_cap)
        if pt is not None:
            assert pidx.size == n
            rows.append((f"  paretoset, same {n:,} points", pt, "", f"paretoset / effbench = {pt / t:.0f}"))
        else:
            rows.append((f"  paretoset, same {n:,} points", None, "", f"> {args.paretoset_cap:.0f} s cap"))
            for m in (20_000, 10_000, 5_000):
                pt, pidx = paretoset_time("sphere", m, 3, 0, args.paretoset_cap)
                if pt is not None:
                    S2 = sphere(m, 3)
                    t2, _ = _time(lambda: nondominated_mask(S2), repeat=3)
                    rows.append((f"  at equal n = {m:,}: effbench", t2, "", ""))
                    rows.append((f"  at equal n = {m:,}: paretoset", pt, "", f"paretoset / effbench = {pt / t2:.0f}"))
                    break

    # 2b. non-dominated sorting (layers) of 1,500 models in 3-D
    L = np.random.default_rng(1).random((1500, 3))
    t, layers = _time(lambda: nondominated_layers(L), repeat=5)
    rows.append(("non-dominated sorting, 1,500 uniform points, 3 objectives", t, "", f"{layers.max()} layers"))

    # 3. DEA 1,500 models, 2 inputs, 2 outputs (a tiny warm-up call first: scipy's import)
    dea(np.ones((2, 1)), np.ones((2, 1)))
    n = 1500 // (scale if scale > 1 else 1)
    rng = np.random.default_rng(2)
    xin = rng.uniform(1, 10, (n, 2))
    yout = rng.uniform(1, 10, (n, 2))
    for model in ("ccr", "bcc"):
        t, res = _time(lambda: dea(xin, yout, model=model, orientation="input", slacks="max"))
        rows.append((f"DEA {model.upper()} input, {n:,} models, 2 in 2 out, max-slack stage", t, "< 10 s",
                     f"{int((res.efficiency > 1 - 1e-9).sum())} with score 1"))
    t, res = _time(lambda: dea(xin, yout, model="bcc", orientation="input", slacks="none"))
    rows.append((f"DEA BCC input, {n:,} models, scores only", t, "", ""))

    # 4. stochastic frontier 1,500 models, 3 objectives, 2,000 draws
    n = 1500
    draws = 2000 // scale
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.uniform(60, 90, n), rng.lognormal(0, 1, n), rng.lognormal(3, 1, n)])
    objectives = parse_objectives(["top1:max", "latency_s:min", "samples_per_s:max"])
    noise = {"top1": binomial(50_000), "latency_s": relative(0.05), "samples_per_s": relative(0.05)}
    t, res = _time(lambda: stochastic_frontier(values, objectives, noise, draws=draws, seed=0))
    rows.append((f"stochastic frontier, {n:,} models, 3 objectives, {draws:,} draws", t, "< 10 s",
                 f"{int((res.p_frontier > 0.5).sum())} with p_frontier > 0.5"))

    width = max(len(r[0]) for r in rows)
    print(f"{'case'.ljust(width)}  {'seconds':>9}  {'target':>7}  note")
    for name, t, target, note in rows:
        secs = f"{t:9.3f}" if t is not None else f"{'-':>9}"
        print(f"{name.ljust(width)}  {secs}  {target:>7}  {note}")


if __name__ == "__main__":
    main()
