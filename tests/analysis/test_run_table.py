"""run_objective_table on a hand-built RunRecord."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.run_table import available_indicators, default_direction, run_objective_table
from effbench.errors import ConfigError, DataError
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet


def make_run():
    run = RunRecord("r1", "2026-01-01T00:00:00+00:00", "complete", suite="hand", task={"y_test": [0, 1, 1, 0]})
    run.candidates = [
        CandidateRecord("a/torch", "a", "torch", "neural-network", status="ok", predictions=[0, 1, 1, 0]),
        CandidateRecord("a.prune50u/torch", "a.prune50u", "torch", "neural-network", parent="a/torch", status="ok",
                        info={"nonzero_params": 60}, predictions=[0, 1, 0, 0]),
        CandidateRecord("b/sklearn", "b", "sklearn", "linear", status="ok", predictions=[0, 1, 1, 1]),
        CandidateRecord("c/sklearn", "c", "sklearn", "linear", status="failed", error="boom"),
    ]
    for key, acc, params in (("a/torch", 1.0, 120), ("a.prune50u/torch", 0.75, 120), ("b/sklearn", 0.75, 10)):
        run.metrics += [Metric(key, "accuracy", acc, "ratio", "measured"), Metric(key, "params", params, "count", "analytic"),
                        Metric(key, "peak_rss_bytes", 1000.0 + params, "bytes", "measured", batch_size=1)]
    run.metrics.append(Metric("a/torch", "energy_per_sample_j", 0.5, "J", "estimated"))
    run.samples = [
        SampleSet("a/torch", 1, "latency_per_call", "s", np.arange(1, 101, dtype=float) * 1e-3),
        SampleSet("a/torch", 10, "latency_per_call", "s", np.full(5, 2e-2)),
        SampleSet("a.prune50u/torch", 1, "latency_per_call", "s", np.full(10, 1e-3)),
        SampleSet("b/sklearn", 1, "latency_per_call", "s", np.full(10, 1e-4)),
    ]
    return run


def test_values_and_report():
    run = make_run()
    cols = ["accuracy", "params", "nonzero_params", "latency_p50_s_b1", "latency_p99_s_b1", "peak_rss_bytes_b1"]
    keys, X, rep = run_objective_table(run, cols)
    assert keys == ["a/torch", "a.prune50u/torch", "b/sklearn"]
    assert X.shape == (3, 6)
    assert X[0, 3] == pytest.approx(np.quantile(np.arange(1, 101) * 1e-3, 0.5))
    assert X[0, 4] == pytest.approx(np.quantile(np.arange(1, 101) * 1e-3, 0.99))
    assert list(X[:, 2]) == [120, 60, 10] and list(X[:, 5]) == [1120, 1120, 1010]
    assert rep.files == ["run r1"] and rep.rows_read == {"run r1": 4} and rep.rows_kept == 3
    assert [(d.key, d.reason) for d in rep.dropped] == [("c/sklearn", "candidate failed: boom")]
    assert "latency samples at batch 1" in rep.column_sources["latency_p99_s_b1"]


def test_missing_values_are_dropped_with_reason_and_estimates_noted():
    keys, X, rep = run_objective_table(make_run(), ["accuracy", "throughput_samples_per_s_b10", "energy_per_sample_j"])
    assert keys == ["a/torch"] and X[0, 1] == pytest.approx(10 / 2e-2)
    reasons = {d.key: d.reason for d in rep.dropped}
    assert "no latency samples at batch 10" in reasons["b/sklearn"]
    assert any("estimated" in n and "energy_per_sample_j" in n for n in rep.notes)


def test_per_sample_latency_and_best_throughput():
    keys, X, _ = run_objective_table(make_run(), ["latency_mean_per_sample_s_b10", "best_throughput_samples_per_s"])
    assert keys == ["a/torch"] and X[0, 0] == pytest.approx(2e-3) and X[0, 1] == pytest.approx(500.0)


def test_errors():
    run = make_run()
    with pytest.raises(ConfigError, match="unknown indicator 'latency_s'.*available: .*accuracy"):
        run_objective_table(run, ["latency_s"])
    run.candidates[0].status = "failed"  # the only candidate with an energy value
    with pytest.raises(DataError, match="no candidate has every indicator"):
        run_objective_table(run, ["energy_per_sample_j"])
    assert "latency_p99_s_b10" in available_indicators(run) and "peak_rss_bytes_b1" in available_indicators(run)
    assert default_direction("accuracy") == "max" and default_direction("latency_p99_s_b1") == "min"
