"""Hand-built run records for the report tests (no suite is run); fixtures in conftest.py."""

from __future__ import annotations

import numpy as np
from effbench.analysis.tail import analyze_tail
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet

SCRIPT_NAME = "<script>alert(1)</script>"
SCRIPT_KEY = f"{SCRIPT_NAME}/torch"
LATEX_NAME = "beta & co_$#%{x}~^\\"
LATEX_KEY = f"{LATEX_NAME}/onnxruntime"
IMG_ERROR = '<img src=x onerror="alert(2)">'


def _lat(rng, median, n=200, spread=0.1):
    return median * np.exp(rng.normal(0.0, spread, n))


def make_run(*, energy: bool = True, tail: bool = True) -> RunRecord:
    """Five candidates: a complete one, the script-named one, a LaTeX-named one with estimated
    energy, one missing most measurements, and a failed one whose error holds HTML."""
    rng = np.random.default_rng(0)
    run = RunRecord(
        run_id="20260101-000000-test", created_at="2026-01-01T00:00:00+00:00", status="complete", suite="hand-made",
        finished_at="2026-01-01T00:01:00+00:00", effbench_version="0.1.0",
        config={"batch_sizes": [1, 8], "threads": 1, "timing": {"min_samples": 5}},
        environment={"cpu": {"model": "Test CPU <b>9000</b>", "mhz": 3000.0}, "cores_logical": 4,
                     "os": {"platform": "Linux-test"}, "python": {"implementation": "CPython", "version": "3.11.7"},
                     "libraries": {"effbench": "0.1.0", "numpy": "2.0"}, "gpu": []},
        task={"name": "digits", "n_test": 10, "sample_shape": [64], "dtype": "float32", "y_test": list(range(10))},
        notes=["a note with <em>html</em>"],
    )
    specs = [
        # key, model, backend, params, flops, size, acc, rss, p50 at b1, p50 at b8
        ("alpha/sklearn", "alpha", "sklearn", 1000, 2000, 5000, 0.95, 100e6, 50e-6, 120e-6),
        (SCRIPT_KEY, SCRIPT_NAME, "torch", 20000, 40000, 80000, 0.97, 250e6, 30e-6, 60e-6),
        (LATEX_KEY, LATEX_NAME, "onnxruntime", 20000, 40000, 79000, 0.97, 60e6, 8e-6, 20e-6),
    ]
    for key, model, backend, params, flops, size, acc, rss, p1, p8 in specs:
        info = {"description": f"{model} model", "worker": {"thread_settings": {"threads": 1}}}
        if backend == "torch":
            info["precision"] = "float32"
            info.update(nonzero_params=5000, sparsity=0.75)  # as a pruned variant records it
        run.candidates.append(CandidateRecord(key=key, model=model, backend=backend, family="f", status="ok", info=info))
        run.metrics += [
            Metric(key, "params", params, "count", "analytic"),
            Metric(key, "flops_per_sample", flops, "FLOP", "analytic",
                   detail={"coverage": 0.75, "uncounted_ops": {"relu": 2}, "method": "test"}),
            Metric(key, "size_bytes", size, "bytes", "measured", detail={"serialization": "test"}),
            Metric(key, "accuracy", acc, "ratio", "measured"),
            Metric(key, "f1_macro", acc - 0.01, "ratio", "measured"),
            Metric(key, "peak_rss_bytes", rss, "bytes", "measured", batch_size=1),
            Metric(key, "peak_memory_bytes", 4096.0, "bytes", "measured", batch_size=8),
            Metric(key, "train_time_s", 1.5, "s", "measured"),
        ]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", _lat(rng, p1), {"stop_reason": "max_time"}))
        run.samples.append(SampleSet(key, 8, "latency_per_call", "s", _lat(rng, p8), {"stop_reason": "max_time"}))
    if energy:
        # as runs.recorder.Recorder.energy stores them: per batch and per sample at every batch size, carbon estimated
        for key, prov, e1 in (("alpha/sklearn", "measured", 2e-3), (SCRIPT_KEY, "measured", 1e-3), (LATEX_KEY, "estimated", 5e-4)):
            for b, per_sample in ((1, e1), (8, e1 * 0.4)):
                run.metrics.append(Metric(key, "energy_per_batch_j", per_sample * b, "J", prov, batch_size=b))
                run.metrics.append(Metric(key, "energy_per_sample_j", per_sample, "J", prov, batch_size=b))
                run.metrics.append(Metric(key, "carbon_per_sample_g", per_sample / 3.6e6 * 475.0, "gCO2e", "estimated", batch_size=b,
                                          detail={"energy_provenance": prov, "g_per_kwh": 475.0, "region": "world"}))
        run.metrics.append(Metric("alpha/sklearn", "train_energy_j", 12.0, "J", "estimated"))
    if tail:
        times = rng.uniform(1e-3, 3e-3, size=(20, 10))
        correct = np.ones(10, dtype=int)
        correct[0] = 0
        run.candidates[0].info["tail"] = analyze_tail(times, correct, grid=5).to_dict()
    # missing most measurements: only accuracy and params
    run.candidates.append(CandidateRecord(key="gamma/torch", model="gamma", backend="torch", status="ok"))
    run.metrics += [Metric("gamma/torch", "params", 500, "count", "analytic"),
                    Metric("gamma/torch", "accuracy", 0.90, "ratio", "measured")]
    run.candidates.append(CandidateRecord(key="delta/torch", model="delta", backend="torch", status="failed", error=IMG_ERROR))
    return run
