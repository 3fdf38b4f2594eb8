"""Energy per sample of every candidate of a stored run at every batch size, as a Markdown table.

    EFFBENCH_DB=... .venv/bin/python benchmarks/energy_table.py RUN_ID [--models logreg,mlp,...]

Prints what the run stored (``energy_per_sample_j`` per batch size) with its provenance; the batch
size with the least energy per sample is in bold. Nothing is measured here.
"""

from __future__ import annotations

import argparse
import sys

from effbench.analysis.costs import batch_rows
from effbench.store.db import Store


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_id")
    ap.add_argument("--models", help="comma-separated model names to keep (default: all)")
    args = ap.parse_args()
    with Store(create=False) as store:
        run = store.load_run(args.run_id)
    keep = set(args.models.split(",")) if args.models else None
    rows = [r for r in batch_rows(run) if keep is None or r["candidate"].split("/")[0] in keep]
    sizes = sorted({r["batch_size"] for r in rows})
    by = {(r["candidate"], r["batch_size"]): r for r in rows}
    provs = {r["energy_provenance"] for r in rows if r["energy_per_sample_j"] is not None}
    print(f"run {run.run_id}; energy per sample in microjoules, {', '.join(sorted(provs)) or 'not measured'} "
          f"({(run.environment.get('energy') or {}).get('meter', 'no meter')})\n")
    print("| candidate | " + " | ".join(f"b={b}" for b in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for cand in sorted({r["candidate"] for r in rows}, key=lambda k: [c.key for c in run.candidates].index(k)):
        vals = {b: by[(cand, b)]["energy_per_sample_j"] for b in sizes if (cand, b) in by}
        best = min((v, b) for b, v in vals.items() if v is not None)[1] if any(v is not None for v in vals.values()) else None
        cells = []
        for b in sizes:
            v = vals.get(b)
            text = "-" if v is None else f"{v * 1e6:.3g}"
            cells.append(f"**{text}**" if b == best else text)
        print(f"| {cand} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
