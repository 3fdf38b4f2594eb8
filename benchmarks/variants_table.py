"""The PyTorch models of a stored run and their compressed variants, side by side (Markdown).

    EFFBENCH_DB=... .venv/bin/python benchmarks/variants_table.py RUN_ID

For every candidate whose model is a PyTorch model of the suite or one of its variants: accuracy,
params, non-zero params, size, counted FLOPs, FLOPs on non-zero weights (unstructured pruning),
p50 and p99 latency at batch 1, best throughput, energy per sample at batch 1 ("~": estimated).
Reads the store; measures nothing.
"""

from __future__ import annotations

import argparse
import sys

from effbench.analysis.costs import cost_table
from effbench.store.db import Store

TORCH_MODELS = ("mlp", "cnn_small", "shufflenet_tiny", "cnn_wide")


def _v(x):
    return None if x is None else x.value


def _fmt(x, fmt="{:.3g}"):
    return "-" if x is None else fmt.format(x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_id")
    args = ap.parse_args()
    with Store(create=False) as store:
        run = store.load_run(args.run_id)
    info = {c.key: c.info for c in run.candidates}
    print("| candidate | accuracy | params | non-zero params | size (KiB) | FLOPs/sample (counted) | FLOPs non-zero weights "
          "| p50 b=1 (us) | p99 b=1 (us) | best throughput (samples/s) | energy/sample b=1 (uJ) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in cost_table(run):
        if r["model"].split(".")[0] not in TORCH_MODELS:
            continue
        if r["status"] == "failed" and r["accuracy"] is None:
            print(f"| {r['candidate']} | failed: {r['error']} |" + " |" * 9)
            continue
        ci = info.get(r["candidate"], {})
        nonzero = ci.get("nonzero_params")
        params = _v(r["params"])
        pruning = ci.get("pruning") or {}
        energy = r["energy_per_sample_j_b1"]
        thr = r["best_throughput_samples_per_s"]
        print(" | ".join([
            f"| {r['candidate']}",
            _fmt(_v(r["accuracy"]), "{:.4f}"),
            _fmt(params, "{:d}"),
            "=" if nonzero is None or nonzero == params else str(nonzero),
            _fmt(None if _v(r["size_bytes"]) is None else _v(r["size_bytes"]) / 1024, "{:.1f}"),
            _fmt(_v(r["flops_per_sample"])),
            _fmt(pruning.get("conv_linear_flops_per_sample_nonzero")),
            _fmt(None if _v(r["latency_p50_s_b1"]) is None else _v(r["latency_p50_s_b1"]) * 1e6, "{:.1f}"),
            _fmt(None if _v(r["latency_p99_s_b1"]) is None else _v(r["latency_p99_s_b1"]) * 1e6, "{:.0f}"),
            "-" if thr is None else f"{thr.value:.3g} (b={r['best_throughput_batch_size']})",
            "-" if energy is None else f"{energy.value * 1e6:.3g}" + ("~" if energy.provenance == "estimated" else ""),
        ]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
