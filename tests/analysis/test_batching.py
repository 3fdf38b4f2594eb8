"""The serving simulation: queueing theory checks, policies, and the recommendation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effbench.errors import ConfigError, DataError
from effbench.analysis.batching import (
    BatchProfile,
    LatencyObjective,
    batch_size_table,
    evaluate_settings,
    make_profiles,
    recommend_batch_size,
    simulate_dynamic,
    simulate_fixed,
)


def constant_profiles(service_s: dict[int, float], energy_j: dict[int, float], provenance="measured"):
    return make_profiles({b: [s] for b, s in service_s.items()}, energy_j, provenance)


def test_md1_mean_wait_matches_theory():
    d, rho = 0.01, 0.5
    prof = constant_profiles({1: d}, {1: 1.0})
    waits = [simulate_fixed(prof, 1, rho / d, n_requests=100_000, seed=s).mean_wait_s for s in range(3)]
    expected = rho * d / (2 * (1 - rho))
    assert np.mean(waits) == pytest.approx(expected, rel=0.05)


def test_md1_dynamic_batch_one_is_the_same_queue():
    d, rho = 0.01, 0.5
    prof = constant_profiles({1: d}, {1: 1.0})
    fixed = simulate_fixed(prof, 1, rho / d, n_requests=50_000, seed=7)
    dyn = simulate_dynamic(prof, 1, 0.003, rho / d, n_requests=50_000, seed=7)
    assert dyn.mean_wait_s == pytest.approx(fixed.mean_wait_s, rel=1e-9)
    assert dyn.mean_batch_size == 1.0


def test_mm1_mean_wait_matches_theory():
    mu, rho = 100.0, 0.5
    samples = np.random.default_rng(123).exponential(1 / mu, 100_000)
    prof = make_profiles({1: samples}, {1: 1.0})
    lam = rho * mu
    waits = [simulate_fixed(prof, 1, lam, n_requests=100_000, seed=s).mean_wait_s for s in range(4)]
    assert np.mean(waits) == pytest.approx(rho / (mu - lam), rel=0.08)


def test_deterministic_arrivals_fixed_batch_fill_wait():
    # 100 req/s, B = 4, service 2 ms: request k of a batch waits (3 - k) x 10 ms to fill.
    prof = constant_profiles({4: 0.002}, {4: 2.0})
    r = simulate_fixed(prof, 4, 100.0, arrivals="deterministic", n_requests=4_000, warmup_fraction=0.0)
    assert r.response_p50_s == pytest.approx(0.002 + 0.015, abs=1e-9)  # mean of 30,20,10,0 ms
    assert r.mean_response_s == pytest.approx(0.017)
    assert r.utilisation == pytest.approx(0.002 / 0.04, rel=1e-3)
    assert r.throughput_per_s == pytest.approx(100.0, rel=1e-3)
    assert r.energy_per_sample_j == pytest.approx(0.5)


def test_dynamic_zero_wait_is_batch_one_at_low_load():
    prof = make_profiles(
        {1: [0.001, 0.0012], 8: [0.004, 0.0045]},
        {1: 1.0, 8: 3.0},
    )
    lam = 5.0  # rho ~ 0.005
    one = simulate_fixed(prof, 1, lam, n_requests=20_000, seed=3)
    dyn = simulate_dynamic(prof, 8, 0.0, lam, n_requests=20_000, seed=3)
    assert dyn.mean_batch_size < 1.01
    assert dyn.response_p50_s == pytest.approx(one.response_p50_s, rel=0.02)
    assert dyn.energy_per_sample_j == pytest.approx(one.energy_per_sample_j, rel=0.02)


def test_dynamic_waiting_forms_bigger_batches_and_interpolates():
    prof = make_profiles({1: [0.001], 8: [0.004]}, {1: 1.0, 8: 3.0})
    dyn = simulate_dynamic(prof, 8, 0.02, 200.0, n_requests=20_000, seed=1)
    assert 2.0 < dyn.mean_batch_size <= 8.0
    assert "interpolated" in dyn.notes
    # no request waits in the queue longer than max wait + one service (server busy at most one batch)
    assert dyn.response_p99_s <= 0.02 + 0.004 + 0.004 + 1e-9


def test_bigger_batches_lower_energy_per_sample_when_sublinear():
    sizes = [1, 2, 4, 8, 16]
    prof = constant_profiles({b: 0.001 + 0.0005 * b for b in sizes}, {b: 1.0 + 0.1 * b for b in sizes})
    per_sample = [simulate_fixed(prof, b, 100.0, n_requests=5_000).energy_per_sample_j for b in sizes]
    assert all(x > y for x, y in zip(per_sample, per_sample[1:]))
    p99 = [simulate_fixed(prof, b, 100.0, n_requests=5_000).response_p99_s for b in sizes]
    assert p99[-1] > p99[0]  # ... at the price of the wait to fill


def test_idle_power_adds_idle_time_energy():
    prof = constant_profiles({1: 0.002}, {1: 1.0})
    base = simulate_fixed(prof, 1, 100.0, arrivals="deterministic", n_requests=1_000)
    idle = simulate_fixed(prof, 1, 100.0, arrivals="deterministic", n_requests=1_000, idle_power_w=10.0)
    # 8 ms idle per 10 ms cycle at 10 W: +0.08 J per request (to rounding at the ends)
    assert idle.energy_per_sample_j - base.energy_per_sample_j == pytest.approx(0.08, rel=0.01)


def test_unstable_is_reported_not_simulated():
    prof = constant_profiles({1: 0.01, 4: 0.02}, {1: 1.0, 4: 2.0})
    r = simulate_fixed(prof, 1, 150.0, objective=LatencyObjective(0.05))
    assert not r.stable and not r.meets_objective and math.isinf(r.response_p99_s)
    assert r.capacity_per_s == pytest.approx(100.0) and "unstable" in r.notes
    assert r.to_dict()["response_p99_s"] is None
    ok = simulate_fixed(prof, 4, 150.0, objective=LatencyObjective(0.05), n_requests=2_000)
    assert ok.stable


def test_recommendation_hand_made():
    prof = constant_profiles({1: 0.001, 4: 0.002, 16: 0.008}, {1: 1.0, 4: 2.0, 16: 4.0})
    obj = LatencyObjective(0.05, percentile=99)
    rec = recommend_batch_size(prof, 100.0, obj, policies=("fixed",), arrivals="deterministic", n_requests=4_800)
    by_b = {s.batch_size: s for s in rec.settings}
    assert by_b[1].meets_objective and by_b[4].meets_objective and not by_b[16].meets_objective
    assert rec.best is by_b[4]
    assert rec.best.energy_per_sample_j == pytest.approx(0.5)
    # B = 4 at 100 req/s: the first request waits 30 ms to fill, + 2 ms service
    assert rec.best.response_at_percentile_s == pytest.approx(0.032, abs=1e-6)
    assert rec.best.margin_s == pytest.approx(0.018, abs=1e-6)
    assert rec.best.margin_pct == pytest.approx(36.0, abs=0.01)
    assert by_b[16].margin_s < 0
    assert "fixed B=4" in rec.summary and "36.0 %" in rec.summary

    strict = recommend_batch_size(
        prof, 100.0, LatencyObjective(0.0005), policies=("fixed",), arrivals="deterministic", n_requests=4_800
    )
    assert strict.best is None and strict.closest.batch_size == 1
    assert "no setting meets" in strict.summary and "closest is fixed B=1" in strict.summary


def test_recommendation_when_everything_is_unstable():
    prof = constant_profiles({1: 0.01, 2: 0.015}, {1: 1.0, 2: 1.5})
    rec = recommend_batch_size(prof, 1_000.0, LatencyObjective(0.05), n_requests=1_000)
    assert rec.best is None and not rec.closest.stable
    assert rec.closest.batch_size == 2 and "unstable" in rec.summary


def test_evaluate_settings_grid_and_seeding():
    prof = make_profiles({1: [0.001, 0.002], 4: [0.003, 0.004]}, {1: 1.0, 4: 2.0})
    obj = LatencyObjective(0.02)
    a = evaluate_settings(prof, 200.0, obj, n_requests=2_000, seed=5)
    b = evaluate_settings(prof, 200.0, obj, n_requests=2_000, seed=5)
    assert [s.to_dict() for s in a] == [s.to_dict() for s in b]
    labels = [s.label for s in a]
    assert labels[0] == "fixed B=1" and labels[1] == "fixed B=4"
    assert sum(s.policy == "dynamic" for s in a) == 5  # B=4 x five default max waits
    c = evaluate_settings(prof, 200.0, obj, n_requests=2_000, seed=6)
    assert [s.response_p99_s for s in a] != [s.response_p99_s for s in c]


def test_estimated_energy_stays_labelled():
    prof = make_profiles({1: [0.001], 2: [0.0015]}, {1: 1.0, 2: 1.5}, {1: "measured", 2: "estimated"})
    r = simulate_fixed(prof, 1, 10.0, n_requests=1_000)
    assert r.energy_provenance == "estimated"
    rows = batch_size_table(prof)
    assert [row["energy_provenance"] for row in rows] == ["measured", "estimated"]


def test_batch_size_table():
    prof = make_profiles({1: [0.001, 0.003], 4: [0.004]}, {1: [1.0, 3.0], 4: 4.0})
    rows = batch_size_table(prof)
    assert rows[0]["energy_per_batch_j"] == pytest.approx(2.0)
    assert rows[0]["throughput_per_s"] == pytest.approx(500.0)
    assert rows[1]["per_sample_latency_s"] == pytest.approx(0.001)
    assert rows[1]["energy_per_sample_j"] == pytest.approx(1.0)


def test_batch_size_table_uses_the_median_like_the_cost_table():
    # skewed: median 2 ms, mean 4 ms; throughput and latency per sample from the p50 (b / p50),
    # capacity (what the simulation's stability uses) from the mean
    prof = make_profiles({4: [0.001, 0.002, 0.009]}, {4: 1.0})
    (row,) = batch_size_table(prof)
    assert row["batch_latency_p50_s"] == pytest.approx(0.002)
    assert row["batch_latency_p99_s"] == pytest.approx(np.quantile([0.001, 0.002, 0.009], 0.99))
    assert row["batch_latency_mean_s"] == pytest.approx(0.004)
    assert row["throughput_per_s"] == pytest.approx(2000.0)
    assert row["per_sample_latency_s"] == pytest.approx(0.0005)
    assert row["capacity_per_s"] == pytest.approx(1000.0)
    assert simulate_fixed(prof, 4, 500.0, n_requests=1_000).capacity_per_s == pytest.approx(row["capacity_per_s"])


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_arrival_rate(rate):
    prof = constant_profiles({1: 0.001}, {1: 1.0})
    why = r" \(not a finite number\)" if not np.isfinite(rate) else ""
    with pytest.raises(ConfigError, match=rf"^arrival_rate_per_s: expected a number > 0, got {rate!r}{why}$"):
        simulate_fixed(prof, 1, rate)
    with pytest.raises(ConfigError, match="arrival_rate_per_s"):
        recommend_batch_size(prof, rate, LatencyObjective(0.05))


@pytest.mark.parametrize("kwargs, words", [
    ({"bound_s": 0.0}, "bound_s: expected a number > 0, got 0.0"),
    ({"bound_s": -0.05}, "bound_s: expected a number > 0, got -0.05"),
    ({"bound_s": True}, "bound_s: expected a number > 0, got True"),
    ({"bound_s": 0.05, "percentile": 100}, r"percentile: expected a number in \(0, 100\), got 100"),
])
def test_bad_objective(kwargs, words):
    with pytest.raises(ConfigError, match=f"^latency objective {words}$"):
        LatencyObjective(**kwargs)


def test_bad_inputs():
    prof = constant_profiles({1: 0.001, 4: 0.002}, {1: 1.0, 4: 2.0})
    with pytest.raises(ConfigError, match="batch_size"):
        simulate_fixed(prof, 8, 10.0)
    with pytest.raises(ConfigError, match=r"^batch_size: expected a whole number >= 1, got 0$"):
        simulate_fixed(prof, 0, 10.0)
    with pytest.raises(ConfigError, match=r"^max_wait_s: expected a number >= 0, got -0\.001$"):
        simulate_dynamic(prof, 4, -0.001, 10.0)
    with pytest.raises(ConfigError, match=r"^arrivals: expected one of 'deterministic', 'poisson', got 'bursty'$"):
        simulate_fixed(prof, 1, 10.0, arrivals="bursty")
    with pytest.raises(ConfigError, match=r"^n_requests: expected a whole number >= 100, got 10$"):
        simulate_fixed(prof, 1, 10.0, n_requests=10)
    with pytest.raises(ConfigError, match=r"^n_requests: expected a whole number >= 100, got True$"):
        simulate_fixed(prof, 1, 10.0, n_requests=True)
    with pytest.raises(ConfigError, match="policies"):
        evaluate_settings(prof, 10.0, LatencyObjective(0.05), policies=("greedy",))
    with pytest.raises(DataError, match="service_times_s"):
        BatchProfile(1, np.array([0.001, -1.0]), 1.0)
    with pytest.raises(DataError, match="energy_per_batch_j"):
        make_profiles({1: [0.001]}, {})
    with pytest.raises(DataError, match="energy_provenance"):
        make_profiles({1: [0.001]}, {1: 1.0}, "analytic")


def test_fixed_vectorised_recursion_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    prof = make_profiles({3: rng.uniform(0.001, 0.02, 50)}, {3: 1.0})
    r = simulate_fixed(prof, 3, 120.0, n_requests=3_000, seed=11, warmup_fraction=0.0)
    # replay the same draws with a plain Lindley loop
    a = np.cumsum(np.random.default_rng(11).exponential(1 / 120.0, 3_000))
    u = np.random.default_rng([11, 1, 3]).random(1_000)
    s_sorted = prof[0].service_times_s
    free, responses = -math.inf, []
    for j in range(1_000):
        ready = a[3 * j + 2]
        start = max(ready, free)
        free = start + s_sorted[min(int(u[j] * s_sorted.size), s_sorted.size - 1)]
        responses += [free - a[3 * j + k] for k in range(3)]
    assert r.mean_response_s == pytest.approx(np.mean(responses), rel=1e-12)
    assert r.response_p99_s == pytest.approx(np.percentile(responses, 99), rel=1e-12)
