"""How often `effbench compare` flags cells between two runs of the same code, and how many real
slowdowns it finds: slows 10 random cells of run B down by x1.1, x1.2, x1.5 (multiplying their
samples) and counts the flags, for each unit (samples, repeats) with and without --adjust-drift.

    EFFBENCH_DB=... .venv/bin/python benchmarks/bench_compare_power.py RUN_A RUN_B

Runs made with `effbench run --repeats 3` allow the repeats unit. Reads the store; measures nothing.
"""

from __future__ import annotations

import argparse
import copy
import sys

import numpy as np

from effbench.analysis.compare_runs import compare_runs, repeat_medians
from effbench.store.db import Store


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--cells", type=int, default=10, help="how many cells to slow down")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with Store(create=False) as store:
        a, b = store.load_run(args.run_a), store.load_run(args.run_b)
    cells = sorted({(s.candidate, s.batch_size) for s in b.samples if s.kind == "latency_per_call"})
    units = ["samples"] + (["repeats"] if all(repeat_medians(s) is not None for s in b.samples if s.kind == "latency_per_call") else [])
    slow = {cells[i] for i in np.random.default_rng(args.seed).choice(len(cells), args.cells, replace=False)}
    print(f"runs {a.run_id} -> {b.run_id}: {len(cells)} cells; {args.cells} slowed down in B")
    for factor in (1.0, 1.1, 1.2, 1.5):
        bx = copy.deepcopy(b)
        for s in bx.samples:
            if (s.candidate, s.batch_size) in slow and factor != 1.0:
                s.values = s.values * factor
        for unit in units:
            for drift in (False, True):
                r = compare_runs(a, bx, unit=unit, adjust_drift=drift)
                flagged = {(c.candidate, c.batch_size) for c in r.cells if c.change != "same"}
                found = len(flagged & slow) if factor != 1.0 else 0
                others = len(flagged - slow) if factor != 1.0 else len(flagged)
                target = f"{found}/{len(slow)} slowed cells found, " if factor != 1.0 else ""
                print(f"x{factor:<4g} unit={unit:8s} adjust_drift={drift!s:5s}: {target}{others}/"
                      f"{len(cells) - (len(slow) if factor != 1.0 else 0)} unchanged cells flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
