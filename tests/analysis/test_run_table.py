"""run_objective_table on a hand-built RunRecord."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.run_table import (
    available_indicators,
    default_direction,
    indicator_interval,
    indicator_provenance,
    is_known_indicator,
    latency_quantile,
    run_noise,
    run_objective_table,
)
from effbench.analysis.stats import quantile_key
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
    # as runs.recorder.Recorder.energy stores it: per batch size only
    run.metrics.append(Metric("a/torch", "energy_per_sample_j", 0.5, "J", "estimated", batch_size=1))
    run.metrics.append(Metric("a/torch", "train_energy_j", 40.0, "J", "measured"))
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
    keys, X, rep = run_objective_table(make_run(), ["accuracy", "throughput_samples_per_s_b10", "energy_per_sample_j_b1"])
    assert keys == ["a/torch"] and X[0, 1] == pytest.approx(10 / 2e-2) and X[0, 2] == 0.5
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
        run_objective_table(run, ["energy_per_sample_j_b1"])
    assert "latency_p99_s_b10" in available_indicators(run) and "peak_rss_bytes_b1" in available_indicators(run)
    assert default_direction("accuracy") == "max" and default_direction("latency_p99_s_b1") == "min"


def test_per_batch_metric_needs_its_batch_suffix():
    run = make_run()
    assert is_known_indicator(run, "energy_per_sample_j_b1") and is_known_indicator(run, "train_energy_j")
    assert not is_known_indicator(run, "energy_per_sample_j")  # stored at batch 1 only
    assert not is_known_indicator(run, "peak_rss_bytes") and not is_known_indicator(run, "energy_per_sample_j_b8")
    with pytest.raises(ConfigError, match="'energy_per_sample_j' is stored per batch size in run r1: use energy_per_sample_j_b1"):
        run_objective_table(run, ["accuracy", "energy_per_sample_j"])
    keys, X, _ = run_objective_table(run, ["train_energy_j"])
    assert keys == ["a/torch"] and X[0, 0] == 40.0


def test_p99_9_in_both_spellings():
    run = make_run()
    v = np.arange(1, 101, dtype=float) * 1e-3
    assert latency_quantile("latency_p99_9_s_b1") == pytest.approx(0.999) == latency_quantile("latency_p99.9_s_b1")
    assert latency_quantile(f"latency_{quantile_key(0.999)}_s_b1") == pytest.approx(0.999)
    keys, X, _ = run_objective_table(run, ["latency_p99_9_s_b1", "latency_p99.9_s_b1", "latency_p99_9_per_sample_s_b1"])
    assert X[0, 0] == pytest.approx(np.quantile(v, 0.999)) == X[0, 1] == X[0, 2]
    assert latency_quantile("latency_mean_s_b1") is None and latency_quantile("params") is None
    with pytest.raises(ConfigError, match="percentile must lie in 0..100"):
        run_objective_table(run, ["latency_p150_s_b1"])


def test_missing_nan_keeps_partial_rows_and_provenance():
    run = make_run()
    keys, X, rep = run_objective_table(run, ["params", "energy_per_sample_j_b1"], missing="nan")
    assert keys == ["a/torch", "a.prune50u/torch", "b/sklearn"] and np.isnan(X[1:, 1]).all() and X[0, 1] == 0.5
    assert [d.key for d in rep.dropped] == ["c/sklearn"]
    assert indicator_provenance(run, "a/torch", "energy_per_sample_j_b1") == "estimated"
    assert indicator_provenance(run, "a/torch", "latency_p50_s_b1") == "measured"
    assert indicator_provenance(run, "a.prune50u/torch", "nonzero_params") == "analytic"
    assert indicator_provenance(run, "b/sklearn", "energy_per_sample_j_b1") is None
    with pytest.raises(ConfigError, match="missing must be 'drop' or 'nan'"):
        run_objective_table(run, ["params"], missing="zero")


def test_run_noise_from_the_run_itself():
    from effbench.analysis.stochastic_frontier import Noise, Samples, relative

    run = make_run()
    keys = ["a/torch", "a.prune50u/torch", "b/sklearn"]
    cols = ["accuracy", "f1_macro", "latency_p99_s_b1", "latency_p50_per_sample_s_b1", "throughput_samples_per_s_b1",
            "latency_mean_s_b1", "params"]
    noise, words = run_noise(run, keys, cols, {"params": relative(0.1)})
    assert noise["accuracy"] == Noise("n", 4.0, 1.0) and "n = 4 test examples" in words["accuracy"]
    assert "approximation" in words["f1_macro"]
    lat = noise["latency_p99_s_b1"]
    assert isinstance(lat, Samples) and lat.statistic == pytest.approx(0.99) and len(lat.values) == 3
    assert lat.values[0].tolist() == pytest.approx((np.arange(1, 101) * 1e-3).tolist())
    assert "bootstrap" in words["latency_p99_s_b1"] and "quantile 0.99" in words["latency_p99_s_b1"]
    assert noise["latency_mean_s_b1"].statistic == "mean"
    # the statistic of a column applied to the raw samples gives the column's value
    a = np.asarray(noise["latency_p50_per_sample_s_b1"].values[0])[None, :]
    assert float(noise["latency_p50_per_sample_s_b1"].statistic(a)[0]) == pytest.approx(np.median(a))
    t = noise["throughput_samples_per_s_b1"].statistic(np.full((1, 4), 1e-3))
    assert float(t[0]) == pytest.approx(1000.0)
    assert noise["params"] == relative(0.1) and words["params"] == "given: Gaussian, relative sd 0.1"
    noise, words = run_noise(run, keys, ["peak_rss_bytes_b1"])
    assert noise == {} and words == {"peak_rss_bytes_b1": "exact"}
    with pytest.raises(DataError, match="b/sklearn has no latency samples at batch 10"):
        run_noise(run, ["a/torch", "b/sklearn"], ["latency_p99_s_b10"])


def test_indicator_interval_from_the_raw_samples():
    from effbench.estimates import mean_ci, quantile_ci

    run = make_run()
    v = np.arange(1, 101, dtype=float) * 1e-3
    med = quantile_ci(v, 0.5, 0.9)
    assert indicator_interval(run, "a/torch", "latency_p50_s_b1", 0.9) == (med.low, med.high)
    p90 = quantile_ci(v, 0.9)
    assert indicator_interval(run, "a/torch", "latency_p90_s_b1") == (p90.low, p90.high)
    assert indicator_interval(run, "a/torch", "latency_p99_s_b1") is None  # 100 samples: too few for a p99 interval
    m = mean_ci(v)
    assert indicator_interval(run, "a/torch", "latency_mean_s_b1") == pytest.approx((m.low, m.high))
    # per sample: divided by the batch size
    assert indicator_interval(run, "a/torch", "latency_p50_per_sample_s_b1", 0.9) == (med.low, med.high)
    run.samples.append(SampleSet("a/torch", 4, "latency_per_call", "s", v * 4))
    assert indicator_interval(run, "a/torch", "latency_p50_per_sample_s_b4", 0.9) == pytest.approx((med.low, med.high))
    med95 = quantile_ci(v, 0.5)
    assert indicator_interval(run, "a/torch", "throughput_samples_per_s_b1") == pytest.approx((1 / med95.high, 1 / med95.low))
    # no interval: too few samples for a p99, the maximum, a count, no samples at that batch size
    assert indicator_interval(run, "b/sklearn", "latency_p99_s_b1") is None
    assert indicator_interval(run, "a/torch", "latency_p100_s_b1") is None
    assert indicator_interval(run, "a/torch", "params") is None
    assert indicator_interval(run, "a/torch", "latency_p50_s_b32") is None
