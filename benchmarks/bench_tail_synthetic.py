"""Tail quality on a synthetic timing stream: writes a CSV and prints measured figures.

    .venv/bin/python benchmarks/bench_tail_synthetic.py --csv /tmp/tail_synthetic.csv

The stream: N instances, R rounds. Each instance has its own base time (lognormal) and the
harder (slower) instances are more often wrong; every inference gets multiplicative
lognormal noise, and 0.5 % of inferences a 3x stall; ``--round-noise`` adds a slowdown
shared by every instance of a round (which the prediction does not model). Then:

1. the observed quality under the p90/p95/p99/p99.9 deadlines over all R rounds;
2. the stopping rule (KDE every 2 rounds, JS distance < 0.05 against the previous 3 fits);
3. the prediction fitted on the rounds the rule used, against (a) the rounds held out and
   (b) what all R fixed rounds observe (predicted expected worst case of R rounds vs the
   observed worst case of the R rounds);
4. the time to compute qualities for many thresholds at once vs a loop over thresholds.

This is a script, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np

from effbench.analysis import tail as T


def synthetic(instances: int, rounds: int, seed: int, round_noise: float = 0.0):
    rng = np.random.default_rng(seed)
    base = rng.lognormal(np.log(4e-3), 0.25, instances)  # ~4 ms, per instance
    difficulty = (np.log(base) - np.log(base).mean()) / np.log(base).std()
    p_correct = 1.0 / (1.0 + np.exp(-(2.5 - 0.8 * difficulty)))
    correct = rng.random(instances) < p_correct
    noise = rng.lognormal(0.0, 0.08, (rounds, instances))
    stall = np.where(rng.random((rounds, instances)) < 0.005, 3.0, 1.0)
    shared = rng.lognormal(0.0, round_noise, (rounds, 1)) if round_noise > 0 else 1.0
    return base[None, :] * noise * stall * shared, correct


def write_csv(path, times, correct):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["round", "instance", "time_s", "correct"])
        for r in range(times.shape[0]):
            for i in range(times.shape[1]):
                w.writerow([r, i, f"{times[r, i]:.9g}", int(correct[i])])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", default=None, help="write the synthetic timings here")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--round-noise", type=float, default=0.0,
                    help="sd of a lognormal factor shared by all instances of a round (0: none)")
    args = ap.parse_args()

    times, correct = synthetic(args.instances, args.rounds, args.seed, args.round_noise)
    # the stored CSV has 9 significant digits; analyse what the CSV holds
    times = np.array([[float(f"{v:.9g}") for v in row] for row in times])
    if args.csv:
        write_csv(args.csv, times, correct)
        print(f"wrote {args.csv}: {args.rounds} rounds x {args.instances} instances")

    res = T.analyze_tail(times, correct, grid=0)
    print(f"\nobserved over {args.rounds} rounds; unconstrained quality {res.unconstrained.mean():.4f}")
    print(f"{'deadline':>9} {'ms':>8} {'min':>7} {'q01':>7} {'mean':>7} {'std':>7} {'max':>7}")
    for j, th in enumerate(res.thresholds):
        s = {k: v[j] for k, v in res.summary.items()}
        print(f"{th.label:>9} {th.value_s * 1e3:8.3f} {s['min']:7.4f} {s['quantile']:7.4f} "
              f"{s['mean']:7.4f} {s['std']:7.4f} {s['max']:7.4f}")

    import scipy.spatial.distance  # noqa: F401  (import time is not fit time)
    import scipy.stats  # noqa: F401

    cfg = T.ConvergenceConfig()
    t0 = time.perf_counter()
    conv = T.convergence_round(times, cfg)
    dt = time.perf_counter() - t0
    print(f"\nstopping rule: {conv.stopped_by} at round {conv.rounds_used} of {args.rounds} "
          f"({len(conv.trace)} KDE fits, {dt:.2f} s); max JS per fit: "
          + ", ".join(f"{s.max_js:.3f}" for s in conv.trace if s.max_js is not None))

    thr = np.array([th.value_s for th in res.thresholds])
    fit = conv.rounds_used
    for method, round_effect in (("empirical", True), ("kde", True), ("empirical", False), ("kde", False)):
        kw = dict(n_rounds=2000, method=method, seed=1, round_effect=round_effect)
        check = T.evaluate_prediction(times, correct, thr, fit_rounds=fit, **kw)
        pred = T.predict_quality(times[:fit], correct, thr, **kw)
        pmin_all = pred.expected_min(args.rounds)
        obs_min_all = res.summary["min"]
        print(f"\nprediction (method={method}, round_effect={round_effect}) fitted on rounds 1..{fit}, "
              "2000 simulated rounds")
        print(f"{'deadline':>9} {'pred mean':>9} {'obs mean':>9} {'err pp':>7} | {'pred min':>8} "
              f"{'obs min':>8} {'err pp':>7} (held-out {check.holdout_rounds}) | {'pred min':>8} {'obs min':>8} "
              f"{'err pp':>7} (all {args.rounds})")
        for j, th in enumerate(res.thresholds):
            print(f"{th.label:>9} {check.predicted['mean'][j]:9.4f} {check.observed['mean'][j]:9.4f} "
                  f"{check.error_mean_pp[j]:7.2f} | {check.predicted_min_over_holdout[j]:8.4f} "
                  f"{check.observed['min'][j]:8.4f} {check.error_min_pp[j]:7.2f}                | "
                  f"{pmin_all[j]:8.4f} {obs_min_all[j]:8.4f} {100 * abs(pmin_all[j] - obs_min_all[j]):7.2f}")

    # vectorised qualities vs a Python loop over thresholds
    many = np.linspace(times.min(), times.max(), 1000)
    t0 = time.perf_counter()
    qv = T.quality_matrix(times, correct, many)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    ql = np.stack([((times <= x) & correct[None, :]).mean(axis=1) for x in many], axis=1)
    t_loop = time.perf_counter() - t0
    assert np.allclose(qv, ql)
    print(f"\nquality for {many.size} thresholds x {args.rounds} rounds x {args.instances} instances: "
          f"vectorised {t_vec * 1e3:.1f} ms, loop over thresholds {t_loop * 1e3:.1f} ms (same values)")


if __name__ == "__main__":
    main()
