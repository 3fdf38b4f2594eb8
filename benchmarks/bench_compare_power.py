"""How often `effbench compare` flags cells between two runs of the same code, and how many real
slowdowns it finds: slows 10 random cells of run B down by x1.1, x1.2, x1.5 (multiplying their
samples) and counts the flags, for each unit (samples, repeats) with and without --adjust-drift,
over --draws random choices of the 10 cells (seeds 0, 1, ...).

    EFFBENCH_DB=... .venv/bin/python benchmarks/bench_compare_power.py RUN_A RUN_B

Runs made with 3 or more repeats (the default of `effbench run`) allow the repeats unit. Reads the store; measures nothing.
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
    ap.add_argument("--draws", type=int, default=5, help="how many random choices of the slowed cells")
    args = ap.parse_args()
    with Store(create=False) as store:
        a, b = store.load_run(args.run_a), store.load_run(args.run_b)
    cells = sorted({(s.candidate, s.batch_size) for s in b.samples if s.kind == "latency_per_call"})
    units = ["samples"] + (["repeats"] if all(repeat_medians(s) is not None for run in (a, b) for s in run.samples
                                             if s.kind == "latency_per_call") else [])
    draws = [{cells[i] for i in np.random.default_rng(seed).choice(len(cells), args.cells, replace=False)}
             for seed in range(args.draws)]
    print(f"runs {a.run_id} -> {b.run_id}: {len(cells)} cells; {args.cells} slowed down in B, {args.draws} random draws")
    for factor in (1.0, 1.1, 1.2, 1.5):
        for unit in units:
            for drift in (False, True):
                found = others = 0
                for slow in (draws if factor != 1.0 else [set()]):
                    bx = copy.deepcopy(b)
                    for s in bx.samples:
                        if (s.candidate, s.batch_size) in slow:
                            s.values = s.values * factor
                    r = compare_runs(a, bx, unit=unit, adjust_drift=drift)
                    flagged = {(c.candidate, c.batch_size) for c in r.cells if c.change in ("slower", "faster")}
                    found += len(flagged & slow)
                    others += len(flagged - slow)
                n = 1 if factor == 1.0 else args.draws
                target = f"{found}/{n * args.cells} slowed cells found, " if factor != 1.0 else ""
                print(f"x{factor:<4g} unit={unit:8s} adjust_drift={drift!s:5s}: {target}{others}/"
                      f"{n * (len(cells) - (args.cells if factor != 1.0 else 0))} unchanged cells flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
