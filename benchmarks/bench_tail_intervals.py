"""Prediction intervals of tail quality, and the stopping rules, on rounds measured here.

    # measure: per candidate, train once, then --trials independent workers x --rounds fixed rounds
    .venv/bin/python benchmarks/bench_tail_intervals.py collect --out /tmp/tail_rounds.npz
    # figures from the stored rounds (fit on the first --fit-rounds rounds, predict the rest)
    .venv/bin/python benchmarks/bench_tail_intervals.py report /tmp/tail_rounds.npz
    # synthetic streams with known slow episodes, stalls and a change of load: coverage over --seeds streams
    .venv/bin/python benchmarks/bench_tail_intervals.py synthetic --seeds 200

``collect`` measures each candidate (default: cnn_small/torch, mlp/torch, logreg/sklearn) at batch
size 1, end-to-end time per instance, one discarded warm-up round, in a fresh worker process per
trial (1 thread), and stores the raw times and correctness (and the load average before and after
every trial) in an .npz file. ``report`` then, per trial: the 90 % prediction interval of the
worst held-out round at the p99 deadline of the fitting rounds (``predict_worst_interval``),
whether it covers the observed worst, its width in percentage points beside the error of the point
prediction of today (``evaluate_prediction``'s expected worst), and the rounds the stopping rules
(``js``, ``tail``, ``yang``) replayed on the trial's rounds need, with the error of today's point
prediction fitted on those rounds. A script, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

DEFAULT = "cnn_small/torch,mlp/torch,logreg/sklearn"


def _load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def collect(args) -> int:
    from effbench.runs.tail import TailConfig, _measure_candidate
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, parse_candidate_keys, select_keys

    keys = [k.strip() for k in args.candidates.split(",") if k.strip()]
    task = load_digits_task()
    built, _ = build_candidates(task, select_keys(parse_candidate_keys(keys), False))
    cfg = TailConfig(fixed_rounds=args.rounds, holdout_rounds=0)
    out: dict[str, np.ndarray] = {"y": np.asarray(task.y_test)}
    print(f"cores {os.cpu_count()}; load average before: {_load_average()}", flush=True)
    for c in built:
        times, correct, loads = [], [], []
        for trial in range(args.trials):
            before = os.getloadavg()[0]
            m = _measure_candidate(c, task.X_test, task.y_test, cfg, lambda text: None)
            data = m.all_rounds()
            times.append(data.instance_times("e2e"))
            correct.append(data.correct(task.y_test))
            loads.append((before, os.getloadavg()[0]))
            print(f"{c.key} trial {trial + 1}: {data.rounds} rounds, load {loads[-1][0]:.2f} -> {loads[-1][1]:.2f}",
                  flush=True)
        out[f"{c.key}|times"] = np.stack(times)
        out[f"{c.key}|correct"] = np.stack(correct)
        out[f"{c.key}|load"] = np.asarray(loads)
        np.savez_compressed(args.out, **out)
    print(f"load average after: {_load_average()}; wrote {args.out}")
    return 0


def _p99(times) -> float:
    return float(np.quantile(times, 0.99, method="inverted_cdf"))


def _rules():
    from effbench.analysis.tail_rules import rule_config

    from dataclasses import replace

    yang_us = replace(rule_config("yang", threshold=0.05), isj_unit_s=1e-6)
    return {"js": rule_config("js"), "tail": rule_config("tail"), "yang 0.05": rule_config("yang", threshold=0.05),
            "yang 0.005": rule_config("yang", threshold=0.005), "yang-us 0.05": yang_us}


def _rule_figures(times, correct, fit_rounds: int, names) -> dict:
    """Per rule: rounds used on the trial's rounds, and today's point error / the interval's coverage
    when fitted on those rounds and checked on the rest (at the p99 of the rounds used)."""
    from effbench.analysis.tail import Threshold
    from effbench.analysis.tail_interval import IntervalConfig, held_out_rows
    from effbench.analysis.tail_rules import replay_rule

    out = {}
    for name, cfg in _rules().items():
        if name not in names:
            continue
        res = replay_rule(times, cfg)
        used = res.rounds_used
        row = {"rounds": used, "stopped_by": res.stopped_by}
        if used < times.shape[0]:
            thr = [Threshold(_p99(times[:used]), "percentile", "p99")]
            r = held_out_rows(times, correct, thr, fit_rounds=used, config=IntervalConfig(n_draws=200))[0]
            row.update(point_error_pp=r["point_error_pp"], covered=r["covered"], width_pp=r["width_pp"])
        out[name] = row
    return out


def report(args) -> int:
    from effbench.analysis.tail import Threshold
    from effbench.analysis.tail_interval import IntervalConfig, held_out_rows

    data = np.load(args.npz)
    keys = [k[: -len("|times")] for k in data.files if k.endswith("|times")]
    k = args.fit_rounds
    names = list(_rules()) if args.rules == "all" else [n.strip() for n in args.rules.split(",") if n.strip() != "none"]
    print(f"fit on rounds 1-{k}, predict the worst of rounds {k + 1}-100 at the p99 of the fitting rounds; "
          f"90% intervals ({args.draws} posterior draws)")
    summary = {}
    for key in keys:
        times, correct, load = data[f"{key}|times"], data[f"{key}|correct"], data[f"{key}|load"]
        rows = []
        for i in range(times.shape[0]):
            thr = [Threshold(_p99(times[i, :k]), "percentile", "p99")]
            r = held_out_rows(times[i], correct[i], thr, fit_rounds=k, config=IntervalConfig(n_draws=args.draws))[0]
            rules = _rule_figures(times[i], correct[i], k, names)
            rows.append((r, rules))
            w = r["predicted_worst"]
            print(f"{key:18s} trial {i + 1:2d}: [{w['low']:.4f}, {w['high']:.4f}] point {w['point']:.4f} observed "
                  f"{r['observed_worst']:.4f} covered {str(r['covered']):5s} width {r['width_pp']:5.1f} pp | today's point "
                  f"{r['point_worst']:.4f} err {r['point_error_pp']:5.2f} pp | rounds " +
                  " ".join(f"{n}={v['rounds']}" for n, v in rules.items()) + f" | load {load[i, 0]:.1f}-{load[i, 1]:.1f}",
                  flush=True)
        summary[key] = rows
    print()
    for key, rows in summary.items():
        cov = sum(r["covered"] for r, _ in rows)
        print(f"{key}: covered {cov} of {len(rows)}; median width {np.median([r['width_pp'] for r, _ in rows]):.1f} pp; "
              f"today's point error median {np.median([r['point_error_pp'] for r, _ in rows]):.2f} pp "
              f"(within 1 pp in {sum(r['point_error_pp'] <= 1 for r, _ in rows)})")
        for name in names:
            rr = [rules[name] for _, rules in rows]
            errs = [x["point_error_pp"] for x in rr if "point_error_pp" in x]
            covs = [x["covered"] for x in rr if "covered" in x]
            print(f"    rule {name:10s}: rounds median {np.median([x['rounds'] for x in rr]):.0f} "
                  f"(min {min(x['rounds'] for x in rr)}, max {max(x['rounds'] for x in rr)}; "
                  f"{sum(x['stopped_by'] != 'converged' for x in rr)} not converged in 100); "
                  + (f"point error median {np.median(errs):.2f} pp, interval covered {sum(covs)} of {len(covs)}"
                     if errs else "no rounds left to check"))
    return 0


def synthetic(args) -> int:
    from effbench.analysis.tail_interval import IntervalConfig, check_worst_interval, episode_stream, prior_stream

    cfg = IntervalConfig(n_draws=args.draws, level_shift=args.level_shift)
    k, n, st = args.fit_rounds, args.instances, args.stall_rate
    ls = args.level_shift
    settings = {
        "prior: episodes, stalls, load": lambda s: prior_stream(s, cfg, rounds=100, instances=n, stall_rate=st,
                                                                change_at=k)[:2],
        "prior, no stalls": lambda s: prior_stream(s, cfg, rounds=100, instances=n, stall_rate=0.0, change_at=k)[:2],
        "no episodes, stalls, load": lambda s: episode_stream(s, rounds=100, instances=n, episode_rate=0.0,
                                                              stall_rate=st, load_change=ls, change_at=k),
        "rate .02, 1.3-2.3x, stalls, load": lambda s: episode_stream(s, rounds=100, instances=n, stall_rate=st,
                                                                     load_change=ls, change_at=k),
    }
    print(f"{args.seeds} seeded streams per setting, {n} instances, fit {k} rounds, predict the worst of the other "
          f"{100 - k}; 90% intervals ({args.draws} draws, level_shift {ls}; the streams' change of load at round {k} "
          f"has the same sd); stalls: {st:g} of calls 10-100x; deadlines p90/p95/p99 of the fitting rounds. "
          f"PIT: coverage by the randomised PIT (ties split); closed: low <= observed <= high; content: the closed "
          f"interval's mean predictive probability (binomial sd at 0.9: {np.sqrt(0.09 / args.seeds):.3f})")
    for name, make in settings.items():
        pit, closed, content, widths = [], [], [], []
        for seed in range(args.seed0, args.seed0 + args.seeds):
            times, correct = make(seed)
            deadlines = np.quantile(times[:k], [0.9, 0.95, 0.99], method="inverted_cdf")
            chk = check_worst_interval(times, correct, deadlines, fit_rounds=k, config=cfg)
            b = chk.interval.worst_bounds
            pit.append(chk.pit_covered)
            closed.append(chk.covered)
            content.append(chk.content)
            widths.append(100 * (b["high"] - b["low"]))
        fmt = lambda v: " / ".join(f"{x:.3f}" for x in np.mean(v, axis=0))  # noqa: E731
        print(f"{name:34s}: PIT {fmt(pit)}; closed {fmt(closed)} (content {fmt(content)}); median width "
              f"{' / '.join(f'{x:.1f}' for x in np.median(widths, axis=0))} pp", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--candidates", default=DEFAULT)
    c.add_argument("--trials", type=int, default=10)
    c.add_argument("--rounds", type=int, default=100)
    c.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("npz")
    r.add_argument("--fit-rounds", type=int, default=20)
    r.add_argument("--draws", type=int, default=400)
    r.add_argument("--rules", default="all",
                   help="stopping rules replayed, comma-separated names of the table (js, tail, 'yang 0.05', ...), "
                        "'all' or 'none' (the interval figures alone are much faster)")
    y = sub.add_parser("synthetic")
    y.add_argument("--seeds", type=int, default=200)
    y.add_argument("--instances", type=int, default=200)
    y.add_argument("--fit-rounds", type=int, default=20)
    y.add_argument("--draws", type=int, default=200)
    y.add_argument("--level-shift", type=float, default=0.5,
                   help="the prior sd of a change of load, and the sd of the streams' (0: none)")
    y.add_argument("--stall-rate", type=float, default=0.03, help="the share of calls that stall 10-100x")
    y.add_argument("--seed0", type=int, default=0, help="the first seed")
    args = ap.parse_args()
    return {"collect": collect, "report": report, "synthetic": synthetic}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
