"""The GPU paths of effbench, on a machine with an NVIDIA GPU (figures for docs/gpu.md).

    PYTHONPATH=src python3 benchmarks/bench_gpu.py --db /tmp/gpu.sqlite [--json OUT]

1. **environment**: what effbench records about the GPU (NVML: name, driver, clocks, power limit);
2. **timing protocol against a known GPU cost**: a kernel that spins for a fixed number of GPU
   clock cycles (``torch.cuda._sleep``), sized to about 100 us, 1 ms and 10 ms. The truth is the
   median of CUDA-event timings of the kernel alone (``torch.cuda.Event(enable_timing=True)``
   around each launch); effbench times it with its protocol (host clock, ``torch.cuda.synchronize``
   before every timestamp). The same protocol without the sync shows what an unsynchronised timer
   reports (the launch only);
3. **the digits PyTorch networks** (mlp, cnn_small, shufflenet_tiny, cnn_wide, trained as in the
   default suite) through ``effbench.benchmark`` on the GPU and on the CPU (1 thread), batch sizes
   1, 32 and 450, with energy: the GPU candidates read NVML's energy counter (measured), the CPU
   ones the CPU meter of the machine (RAPL if readable, else the labelled estimate).

This is a script, not a test: it prints figures and needs a CUDA GPU; it exits with status 2
and one line when there is none.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time


def spin_truth(torch, cycles: int, n: int = 200) -> float:
    """Median CUDA-event time (s) of one ``_sleep(cycles)`` kernel."""
    start = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    end = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    for _ in range(10):
        torch.cuda._sleep(cycles)
    torch.cuda.synchronize()
    for i in range(n):
        start[i].record()
        torch.cuda._sleep(cycles)
        end[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(start, end)) / 1e3


def timing_section(torch) -> list[dict]:
    from effbench.measure.timer import TimingConfig, measure_latency

    # cycles per second of the spin kernel, from one long kernel timed by events
    probe = 10_000_000
    rate = probe / spin_truth(torch, probe, n=5)
    config = TimingConfig(max_time_s=2.0)
    rows = []
    for target_s in (100e-6, 1e-3, 10e-3):
        cycles = int(rate * target_s)
        truth = spin_truth(torch, cycles, n=100 if target_s >= 10e-3 else 300)
        fn = lambda c=cycles: torch.cuda._sleep(c)  # noqa: E731
        synced = measure_latency(fn, config, sync=torch.cuda.synchronize)
        unsynced = measure_latency(fn, config)
        torch.cuda.synchronize()
        med = float(statistics.median(synced.samples_s))
        rows.append({"target_s": target_s, "cycles": cycles, "cuda_events_median_s": truth,
                     "effbench_median_s": med, "error_pct": 100.0 * (med / truth - 1.0),
                     "n_samples": len(synced.samples_s), "stop_reason": synced.stop_reason,
                     "no_sync_median_s": float(statistics.median(unsynced.samples_s))})
    return rows


def suite_section(torch, db: str, batch_sizes) -> list[dict]:
    import effbench
    from effbench.candidates.torch_adapter import TorchCandidate
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, select_specs

    task = load_digits_task()
    selection = select_specs(models=["mlp", "cnn_small", "shufflenet_tiny", "cnn_wide"], backends=["torch"])
    cpu, training = build_candidates(task, selection)
    gpu = [TorchCandidate(f"{c.model}-cuda", copy.deepcopy(c.module).to("cuda"), device="cuda", family=c.family,
                          info={k: v for k, v in c.info.items() if k != "device"}) for c in cpu]
    t0 = time.perf_counter()
    result = effbench.benchmark(gpu + cpu, task.X_test, task.y_test, batch_sizes=batch_sizes, db=db,
                                task_name="digits-gpu", train_times={k: v["train_time_s"] for k, v in training.items()})
    print(f"  effbench.benchmark: {time.perf_counter() - t0:.1f} s, run {result.run_id} in {result.db_path}")
    accuracy = {r["candidate"]: getattr(r.get("accuracy"), "value", None) for r in result.table()}
    rows = []
    for r in result.batch_table():
        energy = result.run.metric(r["candidate"], "energy_per_batch_j", r["batch_size"])
        rows.append({"candidate": r["candidate"], "batch_size": r["batch_size"], "accuracy": accuracy.get(r["candidate"]),
                     "latency_p50_s": r["latency_p50_s"], "latency_p99_s": r["latency_p99_s"],
                     "throughput_samples_per_s": r["throughput_samples_per_s"], "n_samples": r["n_samples"],
                     "energy_per_sample_j": r["energy_per_sample_j"], "energy_provenance": r["energy_provenance"],
                     "energy_detail": None if energy is None else energy.detail})
    return rows, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="effbench store for the suite section")
    ap.add_argument("--json", default=None, help="write every figure here")
    ap.add_argument("--batch-sizes", default="1,32,450")
    ap.add_argument("--skip-suite", action="store_true")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("bench_gpu: error: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    from effbench.measure.environment import collect_environment

    env = collect_environment()
    print("environment (GPU entries as effbench records them):")
    for g in env.get("gpu") or []:
        print("  " + json.dumps(g, sort_keys=True))
    if env.get("gpu_note"):
        print("  note:", env["gpu_note"])
    print(f"  torch {torch.__version__}, CUDA {torch.version.cuda}, device {torch.cuda.get_device_name(0)}")

    print("\ntiming protocol on a spin kernel of known length (truth: CUDA events, median):")
    timing = timing_section(torch)
    print(f"  {'target':>8} {'cycles':>10} {'events':>11} {'effbench':>11} {'error':>8} {'n':>6} {'stop':>10} {'no sync':>10}")
    for r in timing:
        print(f"  {r['target_s'] * 1e6:>6.0f}us {r['cycles']:>10d} {r['cuda_events_median_s'] * 1e6:>9.2f}us "
              f"{r['effbench_median_s'] * 1e6:>9.2f}us {r['error_pct']:>+7.2f}% {r['n_samples']:>6d} {r['stop_reason']:>10} "
              f"{r['no_sync_median_s'] * 1e6:>8.2f}us")

    out = {"environment_gpu": env.get("gpu"), "torch": torch.__version__, "timing": timing}
    if not args.skip_suite:
        print("\ndigits PyTorch networks, GPU against CPU (1 thread):")
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        rows, result = suite_section(torch, args.db, sizes)
        print(f"  {'candidate':24s} {'batch':>5} {'acc':>6} {'p50':>10} {'p99':>10} {'samples/s':>11} {'J/sample':>11}  meter")
        for r in rows:
            e = r["energy_per_sample_j"]
            mark = "~" if r["energy_provenance"] == "estimated" else " "
            print(f"  {r['candidate']:24s} {r['batch_size']:>5d} {r['accuracy'] or float('nan'):>6.4f} "
                  f"{r['latency_p50_s'] * 1e6:>8.1f}us {r['latency_p99_s'] * 1e6:>8.1f}us {r['throughput_samples_per_s']:>11.4g} "
                  f"{'-' if e is None else f'{e:.4g}':>10}{mark}  {(r['energy_detail'] or {}).get('meter', '')}")
        print("  (~ = estimated)")
        out["suite"] = rows
        out["run_id"] = result.run_id
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=str)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
