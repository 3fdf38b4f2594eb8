"""The batching study on a stored run: profiles from the run, and the run's idle power counted."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.batching import LatencyObjective
from effbench.analysis.costs import batch_rows
from effbench.analysis.run_batching import batching_study, profiles_from_run, run_idle_power_w
from effbench.errors import DataError
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet

KEY = "m/sklearn"


def _run(idle_power_w=None, energy=True):
    rng = np.random.default_rng(0)
    times = {1: rng.lognormal(np.log(1e-3), 0.3, 200), 8: rng.lognormal(np.log(4e-3), 0.3, 200)}
    samples = [SampleSet(KEY, b, "latency_per_call", "s", v, {}) for b, v in times.items()]
    metrics = [Metric(KEY, "energy_per_batch_j", e, "J", "measured", b) for b, e in ((1, 0.02), (8, 0.06))] if energy else []
    env = {"energy": {"idle_power_w": idle_power_w}} if idle_power_w is not None else {"energy": None}
    return RunRecord("r1", "2024-01-01", "complete", environment=env,
                     candidates=[CandidateRecord(KEY, "m", "sklearn", "linear", None, "ok")],
                     metrics=metrics, samples=samples)


def test_idle_power_of_the_run_makes_waiting_cost():
    obj = LatencyObjective(1.0)  # loose: every stable setting meets it
    common = dict(policies=("fixed",), arrivals="deterministic", n_requests=2_000)
    rate = 5.0  # requests/s: the server is idle almost all the time
    without = batching_study(_run(None), [KEY], rate, obj, **common).candidates[KEY].recommendation
    with_idle = batching_study(_run(50.0), [KEY], rate, obj, **common).candidates[KEY].recommendation
    assert without.idle_power_w == 0.0 and with_idle.idle_power_w == 50.0
    by_b0 = {s.batch_size: s for s in without.settings}
    by_b1 = {s.batch_size: s for s in with_idle.settings}
    for b in (1, 8):
        assert by_b1[b].energy_per_sample_j > by_b0[b].energy_per_sample_j
    # roughly 50 W x (1 / 5 s per request - busy time): about 10 J per request more
    assert by_b1[1].energy_per_sample_j - by_b0[1].energy_per_sample_j == pytest.approx(10.0, rel=0.02)
    d = with_idle.to_dict()
    assert d["idle_power_w"] == 50.0 and "idle power" in d["energy_per_sample_from"]
    assert "idle 50 W" in with_idle.summary
    assert "idle time not counted" in without.to_dict()["energy_per_sample_from"]
    # an explicit value wins over the run's
    explicit = batching_study(_run(50.0), [KEY], rate, obj, idle_power_w=0.0, **common).candidates[KEY].recommendation
    assert explicit.idle_power_w == 0.0


def test_run_idle_power_and_missing_energy():
    assert run_idle_power_w(_run(12.5)) == 12.5
    assert run_idle_power_w(_run(None)) is None
    assert run_idle_power_w(RunRecord("r", "t", "complete")) is None
    with pytest.raises(DataError, match="energy per batch"):
        profiles_from_run(_run(energy=False), KEY)
    with pytest.raises(DataError, match="no latency samples"):
        profiles_from_run(_run(), "other/torch")


def test_table_throughput_equals_the_cost_tables():
    run = _run(10.0)
    table = batching_study(run, [KEY], 5.0, LatencyObjective(1.0), policies=("fixed",), n_requests=1_000).candidates[KEY].table
    rows = {r["batch_size"]: r for r in batch_rows(run)}
    for t in table:
        r = rows[t["batch_size"]]
        assert t["throughput_per_s"] == pytest.approx(r["throughput_samples_per_s"], rel=1e-12)
        assert t["per_sample_latency_s"] == pytest.approx(r["latency_p50_per_sample_s"], rel=1e-12)
        assert t["batch_latency_p99_s"] == pytest.approx(r["latency_p99_s"], rel=1e-12)
        assert t["capacity_per_s"] == pytest.approx(t["batch_size"] / r["latency_mean_s"], rel=1e-12)
