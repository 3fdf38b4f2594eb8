"""Why the tail-quality prediction misses: slow episodes of the machine, seen in stored rounds.

    .venv/bin/python benchmarks/bench_tail_episodes.py DB [DB ...] [--fit-rounds 20] [--rounds 100]

Reads the raw rounds that `effbench tail measure --fixed-rounds 100` stored (sample sets
``tail_e2e_per_batch``, batch size 1, digits) from each store, and for every candidate of every
run: fits the prediction (empirical per-instance model + round effect, 2000 simulated rounds) on
the first ``--fit-rounds`` rounds, predicts the expected worst case of the remaining rounds at the
p99 deadline of the fitting rounds (``inverted_cdf``), and compares it with the worst held-out
round. Beside the error it prints how slow that worst round was as a whole: its median time
against the typical round median (the median of all round medians). A ratio of 1.15 or more is
counted as a *slow episode*: the whole machine ran slower for that round.

Correctness per instance comes from the stored predictions against digits' test labels. Reads the
stores; measures nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys

import numpy as np

EPISODE = 1.15


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", nargs="+", help="effbench stores holding tail-measure runs (LABEL=PATH to name the machine)")
    ap.add_argument("--fit-rounds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()

    from effbench.analysis.tail import evaluate_prediction, quality_matrix
    from effbench.store.db import Store
    from effbench.tasks.digits import load_digits_task

    y = load_digits_task().y_test
    k, n = args.fit_rounds, args.rounds
    print(f"fit on rounds 1-{k}, predict the worst of rounds {k + 1}-{n}; deadline: p99 of the fitting rounds' times")
    print(f"{'machine':10s} {'run':5s} {'candidate':22s} {'err pp':>7s} {'observed':>8s} {'predicted':>9s} "
          f"{'worst rnd':>9s} {'its median / typical':>20s} {'episode in fit':>14s}")
    results = []
    for spec in args.db:
        label, _, path = spec.rpartition("=")
        label = label or path
        with contextlib.closing(sqlite3.connect(path)) as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id")]
        with Store(path, create=False) as store:
            for run_id in ids:
                run = store.load_run(run_id)
                for s in run.samples:
                    if s.kind != "tail_e2e_per_batch" or s.batch_size != 1:
                        continue
                    t = np.asarray(s.values, dtype=float).reshape(-1, y.size)[:n]
                    if t.shape[0] < n:
                        continue
                    correct = (np.asarray(run.candidate(s.candidate).predictions) == y).astype(float)
                    deadline = float(np.quantile(t[:k].ravel(), 0.99, method="inverted_cdf"))
                    check = evaluate_prediction(t, correct, [deadline], fit_rounds=k, n_rounds=2000)
                    held = quality_matrix(t[k:], correct, [deadline])[:, 0]
                    worst = k + int(np.argmin(held))
                    medians = np.median(t, axis=1)
                    typical = float(np.median(medians))
                    ratio = float(medians[worst] / typical)
                    in_fit = bool(np.any(medians[:k] >= EPISODE * typical))
                    err = float(check.error_min_pp[0])
                    results.append((label, s.candidate, err, ratio))
                    print(f"{label:10s} {run_id[-4:]:5s} {s.candidate:22s} {err:7.2f} {check.observed['min'][0]:8.4f} "
                          f"{check.predicted_min_over_holdout[0]:9.4f} {worst + 1:9d} {ratio:20.2f} {str(in_fit):>14s}")
    print()
    for label in dict.fromkeys(r[0] for r in results):
        for cand in sorted({r[1] for r in results if r[0] == label}):
            errs = [r[2] for r in results if r[0] == label and r[1] == cand]
            print(f"{label}: {cand}: within 1 pp in {sum(e <= 1 for e in errs)} of {len(errs)} runs; "
                  f"errors {', '.join(f'{e:.2f}' for e in errs)}")
    for name, keep in (("not in a slow episode", lambda r: r < EPISODE), ("in a slow episode", lambda r: r >= EPISODE)):
        errs = [r[2] for r in results if keep(r[3])]
        if errs:
            print(f"worst held-out round {name} (its median {'<' if name.startswith('not') else '>='} {EPISODE}x typical): "
                  f"{len(errs)} cases, {sum(e <= 1 for e in errs)} within 1 pp, median error {np.median(errs):.2f} pp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
