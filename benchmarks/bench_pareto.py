"""Figures of the Pareto issue, measured side by side with the peers in one run.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_pareto.py [--quick] [--skip-command] [--paretoset-cap S]
    PYTHONPATH=src .venv/bin/python benchmarks/bench_pareto.py --scaling [--quick]

The peers are the benchmark-only extra (``pip install -e '.[bench]'``: paretoset, pymoo; moocore
is a dependency of effbench). A peer that is not installed is skipped with a message.

Every time is CPU time (``time.process_time``) of the same task on the same data in this
process, best of ``repeat`` runs; ratios are peer / effbench, so above 1 means effbench is
faster. CPU-time ratios in one process are robust to other work on the machine (wall-clock
times are not). paretoset on the sphere runs in a child process under a cap (its CPU time is
measured in the child), since it is quadratic there.

Sections: frontier, layers (non-dominated sorting), DEA (4 models x orientations, with the
max-slack stage), stochastic frontier, the command (``effbench pareto --csv``: wall and CPU
time and peak RSS of a child process, and the analysis' own peak memory by tracemalloc); with
``--scaling`` instead, the scaling table: each algorithm's CPU time at n = 10^4 to 10^6 (less
where 10^6 is not feasible, e.g. DEA: 10^3 to 10^4 models) and the exponent. Every effbench result is checked against the peer
it is timed with. This is a benchmark, not a test: it prints figures and asserts correctness.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np


def cpu(fn, repeat=1):
    """(best CPU seconds, result) over ``repeat`` runs."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn()
        best = min(best, time.process_time() - t0)
    return best, result


def sphere(n, d, seed=0):
    s = np.abs(np.random.default_rng(seed).standard_normal((n, d)))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


def shapes(quick):
    k = 10 if quick else 1
    rng = np.random.default_rng(0)
    return {
        f"frontier, {1_000_000 // k:,} x 4 uniform": rng.random((1_000_000 // k, 4)),
        f"frontier, {200_000 // k:,} x 2 uniform": rng.random((200_000 // k, 2)),
        f"frontier, {50_000 // k:,} x 3 on a sphere (all on the front)": sphere(50_000 // k, 3),
        f"frontier, {1_000_000 // k:,} x 3, values 0..9 (many ties)": rng.integers(0, 10, (1_000_000 // k, 3)).astype(float),
    }


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        print(f"{module} is not installed: its rows are skipped (pip install -e '.[bench]')")
        return False


def _paretoset_child(X, queue):
    from paretoset import paretoset

    paretoset(X[:50], sense=["max"] * X.shape[1])  # numba compilation outside the timing
    t0 = time.process_time()
    mask = paretoset(X, sense=["max"] * X.shape[1], distinct=False)
    queue.put((time.process_time() - t0, np.flatnonzero(mask)))


def paretoset_capped(X, cap):
    """(CPU seconds, front indices) of paretoset in a child process, or (None, None) past ``cap``."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_paretoset_child, args=(X, queue))
    proc.start()
    try:
        return queue.get(timeout=cap)
    except Exception:  # queue.Empty: past the cap
        return None, None
    finally:
        proc.terminate()
        proc.join()


def frontier_rows(quick, cap):
    from effbench.analysis.pareto import nondominated_mask

    rows = []
    peers = {}
    if have("moocore"):
        import moocore

        peers["moocore.is_nondominated"] = lambda X: moocore.is_nondominated(X, maximise=True, keep_weakly=True)
    use_paretoset = have("paretoset")
    for name, X in shapes(quick).items():
        t, mask = cpu(lambda: nondominated_mask(X), repeat=3)
        rows.append((name, "effbench", t, "", f"{int(mask.sum()):,} on the front"))
        for peer, fn in peers.items():
            pt, pmask = cpu(lambda: fn(X), repeat=3)
            assert np.array_equal(pmask, mask), f"{peer} disagrees on {name}"
            rows.append(("", peer, pt, pt / t, ""))
        if use_paretoset:
            pt, pidx = paretoset_capped(X, cap)
            if pt is None:
                rows.append(("", "paretoset", None, None, f"> {cap:.0f} s cap"))
            else:
                assert np.array_equal(pidx, np.flatnonzero(mask)), f"paretoset disagrees on {name}"
                rows.append(("", "paretoset", pt, pt / t, ""))
    return rows


def layer_rows(quick):
    from effbench.analysis.pareto import nondominated_layers

    k = 10 if quick else 1
    rng = np.random.default_rng(1)
    cases = {f"layers, {20_000 // k:,} x 3": rng.random((20_000 // k, 3)),
             f"layers, {100_000 // k:,} x 2": rng.random((100_000 // k, 2)),
             f"layers, {1_000_000 // k:,} x 3": rng.random((1_000_000 // k, 3))}
    rows = []
    moo = have("moocore")
    pymoo = have("pymoo")
    for name, X in cases.items():
        big = X.shape[0] >= 500_000
        t, layer = cpu(lambda: nondominated_layers(X), repeat=1 if big else 3)
        rows.append((name, "effbench", t, "", f"{int(layer.max())} layers"))
        if moo:
            import moocore

            pt, rank = cpu(lambda: moocore.pareto_rank(X, maximise=True), repeat=1 if big else 3)
            assert np.array_equal(rank + 1, layer)
            rows.append(("", "moocore.pareto_rank", pt, pt / t, ""))
        if pymoo and not big:
            from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

            pt, (_, rank) = cpu(lambda: NonDominatedSorting().do(-X, return_rank=True), repeat=3)
            assert np.array_equal(rank + 1, layer)
            rows.append(("", "pymoo NonDominatedSorting", pt, pt / t, ""))
    return rows


def textbook_ccr_input(X, Y):
    """One textbook LP per model against every model (the peer of the DEA row)."""
    from scipy.optimize import linprog

    n, m = X.shape
    s = Y.shape[1]
    scores = np.empty(n)
    for o in range(n):
        a_ub = np.block([[-X[o][:, None], X.T], [np.zeros((s, 1)), -Y.T]])
        res = linprog(np.r_[1.0, np.zeros(n)], A_ub=a_ub, b_ub=np.r_[np.zeros(m), -Y[o]], method="highs")
        scores[o] = res.x[0]
    return scores


def dea_rows(quick):
    from effbench.analysis.dea import dea

    dea(np.ones((2, 1)), np.ones((2, 1)))  # scipy's import outside the timing
    n = 150 if quick else 1500
    rng = np.random.default_rng(2)
    X, Y = rng.uniform(1, 10, (n, 2)), rng.uniform(1, 10, (n, 2))
    rows = []
    for model in ("ccr", "bcc"):
        for orientation in ("input", "output"):
            t, r = cpu(lambda: dea(X, Y, model=model, orientation=orientation, slacks="max"))
            rows.append((f"DEA {model.upper()} {orientation}, {n:,} models, 2 in 2 out, max-slack stage", "effbench", t,
                         "", f"{int((r.efficiency > 1 - 1e-9).sum())} with score 1"))
            if model == "ccr" and orientation == "input":
                pt, scores = cpu(lambda: textbook_ccr_input(X, Y))
                assert np.abs(np.minimum(scores, 1) - r.efficiency).max() < 1e-9
                rows.append(("", "one textbook linprog per model (scores only)", pt, pt / t, ""))
    return rows


def stochastic_rows(quick):
    from effbench.analysis.objectives import parse_objectives
    from effbench.analysis.stochastic_frontier import binomial, draw_tables, relative, stochastic_frontier

    n, draws = 1500, 200 if quick else 2000
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.uniform(60, 90, n), rng.lognormal(0, 1, n), rng.lognormal(3, 1, n)])
    objectives = parse_objectives(["top1:max", "latency_s:min", "samples_per_s:max"])
    noise = {"top1": binomial(50_000), "latency_s": relative(0.05), "samples_per_s": relative(0.05)}
    t, res = cpu(lambda: stochastic_frontier(values, objectives, noise, draws=draws, seed=0))
    rows = [(f"stochastic frontier, {n:,} x 3, {draws:,} draws", "effbench", t, "",
             f"{int((res.p_frontier > 0.5).sum())} with p_frontier > 0.5")]
    if have("moocore"):
        import moocore

        signs = np.array([1.0, -1.0, 1.0])

        def peer():
            ranks = [moocore.pareto_rank(tab * signs, maximise=True) for b in
                     draw_tables(values, objectives, noise, draws=draws, seed=0) for tab in b]
            return (np.array(ranks) == 0).mean(axis=0)

        pt, p_front = cpu(peer)
        assert np.array_equal(p_front, res.p_frontier)
        rows.append(("", "same draws ranked by moocore.pareto_rank", pt, pt / t, ""))
    return rows


def _write_csv(path, X):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,a,b,c,d\n")
        for start in range(0, len(X), 100_000):
            block = X[start:start + 100_000]
            f.writelines(f"m{start + i},{r[0]:.6f},{r[1]:.6f},{r[2]:.6f},{r[3]:.6f}\n" for i, r in enumerate(block))


def command_rows(quick):
    """``effbench pareto --csv`` in a child: wall, CPU (user + sys) and peak RSS; and the analysis'
    own peak memory (tracemalloc) on the same table already in memory."""
    from effbench.analysis.objectives import parse_objectives
    from effbench.analysis.pareto_study import pareto_study
    from effbench.report.pareto_table import format_pareto_table

    rows = []
    objectives = parse_objectives(["a:max", "b:max", "c:min", "d:max"])
    # the child reports its own peak RSS: VmHWM starts afresh at exec, unlike ru_maxrss, which
    # would keep the high-water mark of this (large) process from before the fork
    exe = [sys.executable, "-c", "import sys\nfrom effbench.cli import main\ntry:\n    rc = main()\nfinally:\n"
           "    hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]\n"
           "    print('maxrss', hwm, file=sys.stderr)\nsys.exit(rc)"]
    for n in ((20_000, 100_000) if quick else (20_000, 1_000_000)):
        X = np.random.default_rng(4).random((n, 4)).round(6)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.csv")
            _write_csv(path, X)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            done = subprocess.run(exe + ["pareto", "--csv", path, "--key", "id", "--objective", "a:max", "--objective",
                                         "b:max", "--objective", "c:min", "--objective", "d:max"],
                                  check=True, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            csv_mb = os.path.getsize(path) / 2**20
        child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rss_mb = int(done.stderr.rsplit("maxrss", 1)[1].split()[0]) / 1024
        rows.append((f"command, {n:,} rows x 4 (effbench pareto --csv)", "child process, wall s", wall, None,
                     f"CPU {child_cpu:.2f} s, peak RSS {rss_mb:.0f} MB (CSV {csv_mb:.0f} MB, array {X.nbytes / 2**20:.0f} MB)"))
        keys = [f"m{i}" for i in range(n)]
        tracemalloc.start()
        t, _ = cpu(lambda: format_pareto_table(pareto_study(keys, X, objectives)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append(("", "analysis + table (in process)", t, None,
                     f"peak {peak / 2**20:.0f} MB traced = {peak / X.nbytes:.1f} x the array"))
    return rows


def _uniform(n, d, seed=5):
    return np.random.default_rng(seed).random((n, d))


def _stochastic_per_draw(n, draws):
    """CPU s per draw of the stochastic frontier on n x 3 (5 % relative noise on every column)."""
    from effbench.analysis.objectives import parse_objectives
    from effbench.analysis.stochastic_frontier import relative, stochastic_frontier

    values = _uniform(n, 3) + 1.0
    objectives = parse_objectives(["a:max", "b:min", "c:max"])
    noise = {o.name: relative(0.05) for o in objectives}
    return cpu(lambda: stochastic_frontier(values, objectives, noise, draws=draws, seed=0))[0] / draws


def _dea_ccr_input(n):
    from effbench.analysis.dea import dea

    rng = np.random.default_rng(2)
    X, Y = rng.uniform(1, 10, (n, 2)), rng.uniform(1, 10, (n, 2))
    return cpu(lambda: dea(X, Y, model="ccr", orientation="input", slacks="max"))[0]


def scaling_rows(quick):
    """CPU s of each algorithm at growing n (uniform data) and the exponent: the slope of log time
    against log n over the sizes measured. Sizes: 10^4, 10^5, 10^6 where that is feasible here."""
    from effbench.analysis.dea import dea
    from effbench.analysis.pareto import dominance_counts, dominators, nondominated_layers, nondominated_mask

    dea(np.ones((2, 1)), np.ones((2, 1)))  # scipy's import outside the timing
    full = (10_000, 100_000, 1_000_000)
    k = 10 if quick else 1
    def timed(d, fn, repeat_below=1_000_000):
        def run(n):
            X = _uniform(n, d)
            return cpu(lambda: fn(X), repeat=3 if n < repeat_below else 1)[0]
        return run

    cases = [
        ("front, 2-D", full, timed(2, nondominated_mask)),
        ("front, 3-D", full, timed(3, nondominated_mask)),
        ("front, 4-D", full, timed(4, nondominated_mask)),
        ("layers, 2-D", full, timed(2, nondominated_layers)),
        ("layers, 3-D", full, timed(3, nondominated_layers, 100_000)),
        ("dominator counts of every row, 2-D", full, timed(2, dominance_counts, 100_000)),
        # quadratic: 10^6 x 4 would take ~6 minutes here, so the range stops at 3 x 10^5
        ("dominator counts of every row, 4-D", (10_000, 30_000, 100_000, 300_000), timed(4, dominance_counts, 30_000)),
        ("dominators of every row (count + 10), 4-D", (10_000, 30_000, 100_000), timed(4, dominators, 30_000)),
        ("dominators of 25 rows, 4-D", full, timed(4, lambda X: dominators(X, rows=range(25)))),
        ("stochastic frontier, 3-D, per draw", full, lambda n: _stochastic_per_draw(n, max(1, 100_000 // n))),
        ("DEA CCR input + max-slack stage, 2 in 2 out", (1_000, 3_000, 10_000), _dea_ccr_input),
    ]
    rows = []
    for name, sizes, fn in cases:
        sizes = [n // k for n in sizes if n // k >= 100]
        times = [fn(n) for n in sizes]
        slope = np.polyfit(np.log10(sizes), np.log10(np.maximum(times, 1e-6)), 1)[0]
        rows.append((f"scaling, {name}", "n = " + ", ".join(f"{n:,}" for n in sizes), None, None,
                     "CPU s = " + ", ".join(f"{t:.4g}" for t in times) + f"; exponent {slope:.2f}"))
        print(rows[-1][0], rows[-1][1], rows[-1][4], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paretoset-cap", type=float, default=120.0, help="seconds per paretoset run")
    parser.add_argument("--quick", action="store_true", help="sizes / 10 (smoke run)")
    parser.add_argument("--skip-command", action="store_true", help="no command rows")
    parser.add_argument("--scaling", action="store_true",
                        help="only the scaling table: CPU s at n = 10^4 .. 10^6 and the exponent, per algorithm")
    args = parser.parse_args()
    versions = []
    for mod in ("moocore", "paretoset", "pymoo"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except (ImportError, AttributeError):
            pass
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"python {platform.python_version()}; {', '.join(versions)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.scaling:
        rows = scaling_rows(args.quick)
    else:
        rows = frontier_rows(args.quick, args.paretoset_cap) + layer_rows(args.quick) + dea_rows(args.quick)
        rows += stochastic_rows(args.quick)
        if not args.skip_command:
            rows += command_rows(args.quick)
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'case'.ljust(w0)}  {'who'.ljust(w1)}  {'CPU s':>8}  {'peer/eb':>7}  note")
    for case, who, t, ratio, note in rows:
        secs = f"{t:8.3f}" if t is not None else f"{'':>8}"
        rat = f"{ratio:7.2f}" if isinstance(ratio, float) else f"{'':>7}"
        print(f"{case.ljust(w0)}  {who.ljust(w1)}  {secs}  {rat}  {note}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
