"""A 2-layer BERT-like text classifier (int64 input_ids and attention_mask, length 128) measured end
to end in worker processes on torch and on ONNX Runtime (its export), with the FLOPs of both against
the hand count.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_bert_like.py [--db /tmp/bert.sqlite]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bert_like_model, for the workers too
os.environ["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.abspath(__file__)), os.environ.get("PYTHONPATH", "")])


def main():
    import effbench
    from effbench.candidates.onnx_convert import onnx_from_torch
    from effbench.report.progress import SilentProgress

    import bert_like_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/effbench-bert-like.sqlite")
    parser.add_argument("--examples", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = {"input_ids": rng.integers(0, 1000, (args.examples, 128)).astype(np.int64),
         "attention_mask": np.ones((args.examples, 128), np.int64)}
    X["attention_mask"][:, 100:] = 0  # padding at the end of every sequence
    y = rng.integers(0, 2, args.examples)
    model = bert_like_model.build()
    onnx_bytes = onnx_from_torch(model, X)
    t0 = time.perf_counter()
    res = effbench.benchmark({"bert": model, "bert-onnx": onnx_bytes}, X, y, batch_sizes=[1, 8], energy=None,
                             progress=SilentProgress(), db=args.db, repeats=1)
    wall = time.perf_counter() - t0
    hand = bert_like_model.hand_flops()
    print(f"run {res.run_id}: {wall:.1f} s for both candidates; hand count {hand:,} FLOPs per example")
    batches = {(b["candidate"], b["batch_size"]): b for b in res.batch_table()}
    print(f"{'candidate':24} {'params':>8} {'FLOPs/example':>14} {'vs hand':>8} {'coverage':>9} {'uncounted':>9} "
          f"{'p50 b1':>10} {'p50/ex b8':>10} {'accuracy':>8}")
    for r in res.table():
        f = r["flops_per_sample"].value
        b1, b8 = batches[(r["candidate"], 1)], batches[(r["candidate"], 8)]
        print(f"{r['candidate']:24} {r['params'].value:8,.0f} {f:14,.0f} {f / hand - 1:+8.2%} {r['flops_coverage']:9.2f} "
              f"{r['flops_uncounted_work_share']:9.2%} {b1['latency_p50_s'] * 1e3:8.2f}ms {b8['latency_p50_per_sample_s'] * 1e3:8.2f}ms "
              f"{r['accuracy'].value:8.3f}")
    if res.failed:
        print("failed:", res.failed)


if __name__ == "__main__":
    main()
