"""Small stored runs for the multi-run tests: three candidates with known values on two "machines"."""

from __future__ import annotations

import numpy as np

from effbench.records import CandidateRecord, Metric, SampleSet

Y_TEST = [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]
# model -> (params, accuracy's predictions)
MODELS = {
    "small": (100, [0, 1, 1, 0, 1, 0, 1, 0, 0, 0]),   # 8/10
    "mid": (1_000, [0, 1, 1, 0, 1, 0, 1, 1, 0, 0]),   # 9/10
    "big": (10_000, [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]),  # 10/10
}


def env(cpu: str, cores: int = 8, gpus=()) -> dict:
    return {"cpu": {"model": cpu}, "cores_logical": cores, "affinity_count": cores,
            "gpu": [{"index": i, "name": g} for i, g in enumerate(gpus)]}


def add_run(store, latency: dict, *, environment=None, suite="test", nodes=None, batch=1,
            energy: dict | None = None) -> str:
    """A complete run: ``latency`` maps a model name to its per-call latencies (s) at batch 1;
    ``nodes`` maps a model to its ``info["node"]``; ``energy`` a model to energy per batch (J)."""
    run_id = store.create_run(suite=suite, config={"batch_sizes": [batch]}, environment=environment or env("cpu-x"),
                              task={"name": "t", "y_test": Y_TEST, "n_test": len(Y_TEST)}, effbench_version="0")
    for model, lat in latency.items():
        key = f"{model}/torch"
        params, pred = MODELS[model]
        info = {"node": nodes[model]} if nodes and model in nodes else {}
        store.add_candidate(run_id, CandidateRecord(key, model, "torch", "nn", None, "pending", info=info))
        acc = float(np.mean(np.asarray(pred) == np.asarray(Y_TEST)))
        store.add_metrics(run_id, [Metric(key, "params", params, "count", "analytic"),
                                   Metric(key, "accuracy", acc, "ratio", "measured", detail={"n_examples": len(Y_TEST)})])
        if energy and model in energy:
            store.add_metrics(run_id, [Metric(key, "energy_per_batch_j", energy[model], "J", "estimated", batch_size=batch)])
        store.add_samples(run_id, SampleSet(key, batch, "latency_per_call", "s", np.asarray(lat, dtype=float), {}))
        store.update_candidate(run_id, key, status="ok", predictions=pred)
    store.finish_run(run_id, "complete")
    return run_id


def add_tail_run(store, models, *, cost_run=None, environment=None, suite="digits-tail") -> str:
    """A tail-only run (tail rounds, no latency samples) with ``info["tail"]`` per candidate."""
    config = {"tail": {}} if cost_run is None else {"tail": {}, "cost_run": cost_run}
    run_id = store.create_run(suite=suite, config=config, environment=environment or env("cpu-x"),
                              task={"name": "t", "y_test": Y_TEST}, effbench_version="0")
    for model in models:
        key = f"{model}/torch"
        store.add_candidate(run_id, CandidateRecord(key, model, "torch", "nn", None, "ok", info={"tail": {
            "quantile": 0.01, "quantile_key": "q01", "rounds_used": 8, "rounds_measured": 8,
            "own_p99": {"threshold_s": 0.002, "label": "p99", "mean": 0.9, "q01": 0.8},
            "thresholds": [{"threshold_s": 0.001, "mean": 0.5, "q01": 0.4, "label": "p90"},
                           {"threshold_s": 0.002, "mean": 0.9, "q01": 0.8, "label": "p99"}]}}))
        store.add_samples(run_id, SampleSet(key, 1, "tail_e2e_per_batch", "s", np.full(8, 1e-3), {}))
    store.finish_run(run_id, "complete")
    return run_id
