"""``effbench timeline`` on synthetic tables with known rates: writes one table and prints measured figures.

    .venv/bin/python benchmarks/timeline_synthetic.py --csv examples/timeline-synthetic.csv

The table: models published 2012-2023 (two a year), parameters growing 38 %/year and top-1
accuracy 2 %/year, each with lognormal scatter (sd 0.4 and 0.02 on the log scale), written as a
messy CSV (thousands separators in ``params``, one row without an accuracy). These are NOT
published models: the shared data (timm's tables) has no publication years.

Then, over ``--seeds`` tables drawn the same way (without the messy row), the share of 95 %
intervals that contain the true rate, for the cost, the quality and the cost / quality trend, and
how often the verdict is "faster" (the true answer), at 1 and 2 models a year.

This is a script, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import csv
import math

import numpy as np

from effbench.analysis.timeline import FASTER, timeline

COST_RATE, QUALITY_RATE, COST_SD, QUALITY_SD = 0.38, 0.02, 0.4, 0.02
YEARS = np.arange(2012, 2024)


def draw(seed: int, per_year: int):
    rng = np.random.default_rng(seed)
    years = np.repeat(YEARS, per_year).astype(float)
    t = years - YEARS[0]
    params = 5e6 * (1 + COST_RATE) ** t * np.exp(rng.normal(0, COST_SD, years.size))
    top1 = 60 * (1 + QUALITY_RATE) ** t * np.exp(rng.normal(0, QUALITY_SD, years.size))
    return years, params, top1


def write_table(path: str) -> None:
    years, params, top1 = draw(0, 2)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "year", "top1", "params"])
        for i, (y, p, q) in enumerate(zip(years, params, top1)):
            w.writerow([f"synthetic-{i + 1:02d}", int(y), f"{q:.2f}", f"{p:,.0f}"])
        w.writerow(["synthetic-no-accuracy", 2020, "", "120,000,000"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", default=None, help="write the seed-0 table here")
    ap.add_argument("--seeds", type=int, default=2000)
    args = ap.parse_args()
    if args.csv:
        write_table(args.csv)
        print(f"wrote {args.csv}")
    truth = {"cost": math.log1p(COST_RATE), "quality": math.log1p(QUALITY_RATE),
             "ratio": math.log1p(COST_RATE) - math.log1p(QUALITY_RATE)}
    for per_year in (1, 2):
        hits = dict.fromkeys(truth, 0)
        faster = 0
        for seed in range(args.seeds):
            years, params, top1 = draw(seed, per_year)
            tl = timeline(years, {"params": params, "top1": top1}, quality="top1", costs=["params"])
            for name, t in (("cost", tl.costs[0]), ("quality", tl.quality), ("ratio", tl.comparisons[0].ratio)):
                hits[name] += t.slope_low <= truth[name] <= t.slope_high
            faster += tl.comparisons[0].verdict == FASTER
        n = years.size
        cover = ", ".join(f"{k} {100 * v / args.seeds:.1f}%" for k, v in hits.items())
        print(f"{n} models ({per_year}/year), {args.seeds} seeds: 95% interval coverage: {cover}; "
              f"verdict 'faster': {100 * faster / args.seeds:.1f}%")


if __name__ == "__main__":
    main()
