"""Tail quality measured on default-suite candidates: figures for docs/tail-quality.md.

    .venv/bin/python benchmarks/bench_tail_suite.py --json /tmp/tail_suite.json

For every candidate (default: the small CNN and the MLP on PyTorch, the small CNN on ONNX
Runtime, logistic regression on scikit-learn and ONNX Runtime, the random forest and the RBF
SVM on scikit-learn): train it on digits, then in its own worker process one discarded warm-up
round and ``--rounds`` (100) fixed whole-test-set rounds at batch size 1. On those rounds:

1. the observed tail quality (worst round, q01, mean) at the candidate's own p99 deadline and at
   a common deadline (default: the median of the candidates' p99 deadlines);
2. the stopping rule replayed on the same rounds (KDE every 2 rounds, JS distance < 0.05 to the
   previous 3 fits, 8..200 rounds): the rounds it used;
3. the prediction fitted on only those rounds (empirical per-instance model + round effect,
   2000 simulated rounds): its expected worst case of ``--rounds`` rounds against the worst case
   the ``--rounds`` fixed rounds observe, in percentage points, at p90/p95/p99 (deadlines from the
   rounds the rule used) and at the common deadline; also against the held-out rounds only.

The Jensen-Shannon distance of ``effbench.analysis.tail`` is probed first: scipy's
``jensenshannon`` returns ``inf`` when a probability cell is a subnormal number (its half
underflows to 0), which that function maps to 0.0 ("identical") and so stops the rule too early.
With ``--js-fix auto`` (default) the script then replays the rule with a corrected distance
(subnormal cells flushed to 0; a non-finite distance counts as 1) and reports both.

This is a script, not a test: it prints figures. The machine may be shared with other work;
the load average before and after is printed (noise in the times is what tail quality is about,
but it changes the numbers from one run to the next).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

DEFAULT = "cnn_small/torch,cnn_small/onnxruntime,mlp/torch,logreg/sklearn,logreg/onnxruntime,random_forest/sklearn,svm_rbf/sklearn"


def fixed_js_distance(p, q) -> float:
    from scipy.spatial.distance import jensenshannon

    tiny = np.finfo(float).tiny
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    p = np.where(p < tiny, 0.0, p)
    q = np.where(q < tiny, 0.0, q)
    d = float(jensenshannon(p, q, base=2))
    return min(max(d, 0.0), 1.0) if math.isfinite(d) else 1.0


def js_is_buggy() -> bool:
    from effbench.analysis import tail as T

    return T.js_distance(np.array([5e-324, 0.5, 0.5]), np.array([0.0, 0.9, 0.1])) < 0.1


def replay(times, cfg, js):
    from effbench.analysis import tail as T

    saved = T.js_distance
    T.js_distance = js
    try:
        return T.convergence_round(times, cfg)
    finally:
        T.js_distance = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--time-kind", default="e2e", choices=["e2e", "inference"])
    ap.add_argument("--deadline-common", type=float, default=None)
    ap.add_argument("--js-fix", default="auto", choices=["auto", "off"])
    ap.add_argument("--n-simulated", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write every figure (and the reports) here")
    args = ap.parse_args()

    from effbench.analysis import tail as T
    from effbench.measure.environment import load_average
    from effbench.runs.tail import TailConfig, measure_tail
    from effbench.zoo.digits_suite import parse_candidate_keys, select_keys as _selection
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates

    buggy = js_is_buggy()
    use_fix = buggy and args.js_fix == "auto"
    print(f"load average before: {load_average()}; cores: {os.cpu_count()}")
    print(f"effbench.analysis.tail.js_distance maps scipy's inf (subnormal cells) to 0: {buggy}; "
          f"replaying the rule with the corrected distance: {use_fix}")
    keys = [k.strip() for k in args.candidates.split(",") if k.strip()]
    task = load_digits_task()
    t0 = time.perf_counter()
    built, training = build_candidates(task, _selection(parse_candidate_keys(keys), False))
    print(f"trained {len(training)} models in {time.perf_counter() - t0:.1f} s")

    cfg = TailConfig(batch_size=args.batch_size, time_kind=args.time_kind, fixed_rounds=args.rounds,
                     n_simulated=args.n_simulated, rule="js")  # the rule these figures were measured with
    conv_cfg = cfg.convergence()
    raw = {}
    for c in built:
        t1 = time.perf_counter()
        m = measure_tail(c, task.X_test, task.y_test, config=cfg)
        data = m.all_rounds()
        raw[c.key] = data
        print(f"{c.key}: {data.rounds} rounds in {time.perf_counter() - t1:.1f} s")

    y = np.asarray(task.y_test)
    js = fixed_js_distance if use_fix else T.js_distance
    p99 = {}
    per = {}
    for key, data in raw.items():
        t_all = data.instance_times(args.time_kind)
        conv_module = replay(t_all, conv_cfg, T.js_distance)
        conv = replay(t_all, conv_cfg, js)
        used = conv.rounds_used
        thr = T.select_thresholds(t_all[:used], (), (90, 95, 99), 0)
        p99[key] = thr[2].value_s
        per[key] = (data, conv, conv_module, used, thr)
    common = args.deadline_common or float(np.median(list(p99.values())))
    origin = "given" if args.deadline_common else "median of the candidates' own p99"

    out = {"rounds": args.rounds, "batch_size": args.batch_size, "time_kind": args.time_kind,
           "common_deadline_s": common, "common_origin": origin, "js_fix": use_fix, "candidates": {}}
    print()
    print(f"common deadline {common * 1e6:.1f} us ({origin}); {args.time_kind} time per instance, batch {args.batch_size}; "
          f"observed over {args.rounds} rounds; on time when time <= deadline")
    head = (f"{'candidate':<22} {'acc':>6} {'p99 us':>7} {'worst':>6} {'q01':>6} {'mean':>6} | {'common':>6} {'c.mean':>6} | "
            f"{'rule':>4} {'(mod)':>5} | {'err p90':>7} {'p95':>5} {'p99':>5} {'com':>5} | {'hold p99':>8}")
    print(head)
    print("-" * len(head))
    for key, (data, conv, conv_module, used, thr) in per.items():
        t_all = data.instance_times(args.time_kind)
        c_all = data.correct(y)
        values = np.array([t.value_s for t in thr] + [common])
        qual = T.quality_matrix(t_all, c_all, values)
        obs = T.summarize_quality(qual, 0.01)
        batch_ids = data.batch_ids if data.batch_size > 1 else None
        pred = T.predict_quality(t_all[:used], c_all[:used], values, n_rounds=args.n_simulated, batch_ids=batch_ids, seed=0)
        pmin = pred.expected_min(args.rounds)
        err_all = 100 * np.abs(pmin - obs["min"])
        hold = None
        if used < data.rounds:
            chk = T.evaluate_prediction(t_all, c_all, values, fit_rounds=used, n_rounds=args.n_simulated,
                                        batch_ids=batch_ids, seed=0)
            hold = chk.error_min_pp
        acc = float(c_all.mean())
        print(f"{key:<22} {acc:6.4f} {values[2] * 1e6:7.1f} {obs['min'][2]:6.4f} {obs['quantile'][2]:6.4f} {obs['mean'][2]:6.4f} | "
              f"{obs['min'][3]:6.4f} {obs['mean'][3]:6.4f} | {used:>4} {conv_module.rounds_used:>5} | "
              f"{err_all[0]:7.2f} {err_all[1]:5.2f} {err_all[2]:5.2f} {err_all[3]:5.2f} | "
              f"{'-' if hold is None else f'{hold[2]:.2f}':>8}")
        out["candidates"][key] = {
            "accuracy": acc,
            "thresholds_s": {"p90": values[0], "p95": values[1], "p99": values[2], "common": values[3]},
            "observed": {k: v.tolist() for k, v in obs.items()},
            "rule_rounds": used, "rule_stopped_by": conv.stopped_by,
            "rule_rounds_with_module_js": conv_module.rounds_used,
            "rule_trace_max_js": [s.max_js for s in conv.trace],
            "predicted_expected_min": pmin.tolist(),
            "error_min_pp_vs_all_rounds": err_all.tolist(),
            "error_min_pp_vs_holdout": None if hold is None else hold.tolist(),
            "times_per_batch_s": {k: {"p50": float(np.quantile(data.batch_times(k), 0.5)),
                                      "p99": float(np.quantile(data.batch_times(k), 0.99, method="inverted_cdf")),
                                      "max": float(data.batch_times(k).max())} for k in ("inference", "e2e")},
        }
    print()
    print("acc: accuracy without deadline (mean over rounds); p99 us: own p99 deadline (from the rounds the rule used); "
          "worst/q01/mean: quality over all rounds at it; common/c.mean: worst and mean at the common deadline; "
          "rule: rounds the stopping rule used; (mod): the same with the module's JS distance as it is; "
          "err: |predicted expected worst of all rounds - observed worst of all rounds| in pp, fitted on the rule's rounds; "
          "hold p99: the same against the held-out rounds only")
    print(f"load average after: {load_average()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
