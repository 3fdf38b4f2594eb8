"""The misnomer analysis over a run's candidates, on hand-made runs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effbench.analysis.run_misnomer import RUN_COLUMNS, RUN_INDICATORS, run_indicator_table, run_misnomer
from effbench.errors import DataError
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet


def _run(rows, *, with_size=True) -> RunRecord:
    """rows: (key, params, flops, accuracy, rss_b1, latency_b1_s); latency samples are constant."""
    run = RunRecord(run_id="r1", created_at="2026-01-01T00:00:00+00:00", status="complete")
    for key, params, flops, acc, rss, lat in rows:
        run.candidates.append(CandidateRecord(key=key, model=key.split("/")[0], backend="x", status="ok"))
        for name, value, unit, prov, b in (("params", params, "count", "analytic", 0), ("flops_per_sample", flops, "FLOP", "analytic", 0),
                                           ("accuracy", acc, "ratio", "measured", 0), ("peak_rss_bytes", rss, "bytes", "measured", 1)):
            if value is not None:
                run.metrics.append(Metric(key, name, value, unit, prov, batch_size=b))
        if with_size and params is not None:
            run.metrics.append(Metric(key, "size_bytes", 4.0 * params, "bytes", "measured"))
        if lat is not None:
            run.samples.append(SampleSet(key, 1, "latency_per_call", "s", np.full(9, lat)))
    return run


# params and FLOPs rank alike; latency runs the other way (more params = faster); throughput = 1 / latency
ROWS = [
    ("a/x", 1_000, 2_000, 0.90, 100e6, 8e-3),
    ("b/x", 2_000, 4_000, 0.91, 100e6, 4e-3),
    ("c/x", 4_000, 8_000, 0.92, 100e6, 2e-3),
    ("d/x", 8_000, 16_000, 0.93, 100e6, 1e-3),
]


def _corr(res, x, y):
    return next(c for c in res.correlations if (c.x, c.y) == (x, y))


def _pair(res, x, y):
    return next(p for p in res.contradictions if (p.x, p.y) == (x, y))


def test_indicator_table_reads_the_run_table():
    names, values, provs, dropped = run_indicator_table(_run(ROWS))
    assert names == ["a/x", "b/x", "c/x", "d/x"] and dropped == []
    assert values["params"].tolist() == [1000, 2000, 4000, 8000]
    assert values["latency_p50_s_b1"].tolist() == pytest.approx([8e-3, 4e-3, 2e-3, 1e-3])
    assert values["best_throughput_samples_per_s"].tolist() == pytest.approx([125, 250, 500, 1000])
    assert provs["params"] == ["analytic"] * 4 and provs["latency_p50_s_b1"] == ["measured"] * 4


def test_known_correlations_and_contradictions():
    rm = run_misnomer(_run(ROWS))
    res = rm.result
    # same order on params and FLOPs, both :min -> oriented +1
    assert _corr(res, "params", "flops_per_sample").kendall_oriented == pytest.approx(1.0)
    # fewer params = slower: goodness on params and on latency always disagree
    c = _corr(res, "params", "latency_p50_s_b1")
    assert c.kendall_oriented == pytest.approx(-1.0) and c.kendall_raw == pytest.approx(-1.0)
    assert c.spearman_oriented == pytest.approx(-1.0)
    # latency :min and throughput :max agree perfectly
    assert _corr(res, "latency_p50_s_b1", "best_throughput_samples_per_s").kendall_oriented == pytest.approx(1.0)
    # every pair of the 4 candidates contradicts on params vs latency (factors 2..8 both ways)
    p = _pair(res, "params", "latency_p50_s_b1")
    assert (p.count, p.n_pairs) == (6, 6)
    assert p.top[0].text == "a/x needs 8.0x fewer parameters than d/x but is 8.0x slower (p50 latency at batch 1)"
    # constant peak memory: correlation undefined, no contradiction
    m = _corr(res, "params", "peak_rss_bytes_b1")
    assert math.isnan(m.kendall_oriented)
    assert _pair(res, "params", "peak_rss_bytes_b1").count == 0


def test_missing_indicators_and_candidates_are_dropped_with_reasons():
    rows = ROWS + [("e/x", None, None, 0.5, None, None)]  # only accuracy: fewer than 2 indicators
    rm = run_misnomer(_run(rows, with_size=False))
    assert [n for n, _ in rm.dropped_candidates] == ["e/x"]
    assert dict(rm.dropped_indicators) == {"size_bytes": "measured for 0 candidate(s), need 3"}
    assert "size_bytes" not in [i.name for i in rm.result.indicators]
    assert rm.names == ("a/x", "b/x", "c/x", "d/x")
    d = rm.to_dict()
    assert d["run_id"] == "r1" and d["dropped_candidates"][0]["candidate"] == "e/x"


def test_names_are_those_of_run_table_and_pareto():
    from effbench.analysis.run_table import default_direction, run_objective_table

    run = _run(ROWS)
    names = [i.name for i in RUN_INDICATORS]
    assert set(names) == set(RUN_COLUMNS)
    keys, X, _ = run_objective_table(run, names)  # every default indicator is a run_table name
    _, values, _, _ = run_indicator_table(run)
    for j, n in enumerate(names):
        assert values[n].tolist() == pytest.approx(X[:, j].tolist())
    assert all(i.direction == default_direction(i.name) for i in RUN_INDICATORS)


def test_failed_candidates_are_left_out_with_their_error():
    run = _run(ROWS + [("f/x", 16_000, 32_000, 0.99, 100e6, 5e-4)])
    run.candidates[-1].status, run.candidates[-1].error = "failed", "worker crashed"
    rm = run_misnomer(run)
    assert "f/x" not in rm.names
    assert ("f/x", "candidate failed: worker crashed") in rm.dropped_candidates
    names, _, _, dropped = run_indicator_table(run)
    assert "f/x" not in names and dropped == [("f/x", "candidate failed: worker crashed")]


def test_other_run_table_indicators_and_p99_9():
    from effbench.analysis.misnomer import Indicator

    run = _run(ROWS)
    inds = (Indicator("params", "min"), Indicator("latency_p99_9_s_b1", "min"), Indicator("latency_p99.9_s_b1", "min"))
    _, values, provs, _ = run_indicator_table(run, [i.name for i in inds])
    assert values["latency_p99_9_s_b1"].tolist() == pytest.approx([8e-3, 4e-3, 2e-3, 1e-3])
    assert values["latency_p99_9_s_b1"].tolist() == values["latency_p99.9_s_b1"].tolist()
    assert provs["latency_p99_9_s_b1"] == ["measured"] * 4
    rm = run_misnomer(run, indicators=inds)
    assert len(rm.result.indicators) == 3


def test_too_few_candidates_is_a_data_error():
    with pytest.raises(DataError, match="at least 3 candidates"):
        run_misnomer(_run(ROWS[:2]))


def test_default_indicators_and_directions():
    assert [(i.name, i.direction) for i in RUN_INDICATORS] == [
        ("params", "min"), ("flops_per_sample", "min"), ("size_bytes", "min"), ("latency_p50_s_b1", "min"),
        ("best_throughput_samples_per_s", "max"), ("peak_rss_bytes_b1", "min"), ("accuracy", "max"),
    ]
