"""The authors' stopping rule (Yang et al., run_tq.py) and the ISJ bandwidth."""

import numpy as np
import pytest

from effbench.analysis import tail_rules as R
from effbench.errors import DataError

# Reference values from KDEpy 1.1.12, KDEpy.bw_selection.improved_sheather_jones(x.reshape(-1, 1)).
REFERENCE = [
    (lambda: np.random.default_rng(0).normal(size=200), 0.11681006030295488),
    (lambda: np.random.default_rng(1).lognormal(3, 0.5, 1000), 0.9748357195772922),
    (lambda: np.concatenate([np.random.default_rng(2).normal(0, 1, 300), np.random.default_rng(3).normal(5, 0.5, 200)]),
     0.1100580038454777),
]


@pytest.mark.parametrize("make,expected", REFERENCE)
def test_isj_matches_kdepy_reference_values(make, expected):
    assert R.isj_bandwidth(make()) == pytest.approx(expected, rel=1e-9)


def test_isj_matches_kdepy_when_installed():
    kdepy = pytest.importorskip("KDEpy.bw_selection")
    x = np.random.default_rng(5).gamma(2.0, 3.0, 700)
    assert R.isj_bandwidth(x) == pytest.approx(float(kdepy.improved_sheather_jones(x.reshape(-1, 1))), rel=1e-9)


def test_isj_depends_on_the_unit_like_kdepy():
    """KDEpy's mesh reaches 6 units past the data: in seconds a 0.1 ms spread is a sliver of it."""
    x = np.random.default_rng(0).lognormal(-9, 0.2, 4500)
    in_us = R.isj_bandwidth(x * 1e6) / 1e6
    in_s = R.isj_bandwidth(x)
    assert in_s < in_us / 10


def test_isj_refuses_constant_data():
    with pytest.raises(DataError, match="two distinct"):
        R.isj_bandwidth([1.0, 1.0, 1.0])


def test_gaussian_density_matches_direct_sum():
    x = np.random.default_rng(0).normal(size=300)
    grid = np.linspace(-4, 4, 50)
    h = 0.3
    direct = np.exp(-0.5 * ((grid[:, None] - x[None, :]) / h) ** 2).sum(axis=1) / (x.size * h * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(R.gaussian_density(x, grid, h, chunk_pairs=1000), direct, rtol=1e-9, atol=1e-12)


def test_yang_schedule_checks_every_ten_rounds_from_round_13():
    rng = np.random.default_rng(0)
    times = 1e3 * rng.lognormal(-7, 0.3, (60, 200))  # milliseconds: a stationary stream
    res = R.yang_round(times, R.YangConfig(threshold=1e-9, max_rounds=60))
    fits = [s.round for s in res.trace]
    assert fits[:3] == [3, 5, 7]
    checks = [s.round for s in res.trace if s.rjsd is not None]
    assert checks == [13, 23, 33, 43, 53]
    assert res.stopped_by == "max_rounds" and res.rounds_used == 60


def test_yang_stops_on_a_stationary_stream_and_not_on_a_drifting_one():
    rng = np.random.default_rng(1)
    base = rng.lognormal(0, 0.3, (100, 300))
    stationary = R.yang_round(base, R.YangConfig(threshold=0.1))
    rjsd = [s.rjsd for s in stationary.trace if s.rjsd is not None]
    # sqrt of the mean JS *distance* (as the authors' code computes it): 0.22 at round 13, 0.094 at 53
    assert rjsd[0] == pytest.approx(0.2245, abs=1e-3) and rjsd == sorted(rjsd, reverse=True)
    assert stationary.converged and stationary.rounds_used == 53
    drift = base * np.linspace(1, 6, 100)[:, None]
    drifting = R.yang_round(drift, R.YangConfig(threshold=0.1, max_rounds=100))
    assert not drifting.converged and drifting.stopped_by == "max_rounds"
    d = drifting.to_dict()
    assert d["rule"] == "yang" and d["bandwidth_rule"] == "isj" and d["window"] == 5


def test_yang_isj_unit_changes_the_bandwidth_not_the_schedule():
    rng = np.random.default_rng(2)
    times = rng.lognormal(-9, 0.2, (15, 300))  # seconds, ~0.1 ms
    in_s = R.yang_round(times, R.YangConfig(max_rounds=15))
    in_us = R.yang_round(times, R.YangConfig(max_rounds=15, isj_unit_s=1e-6))
    assert [s.round for s in in_s.trace] == [s.round for s in in_us.trace]
    assert in_s.trace[0].bandwidth_s == pytest.approx(R.isj_bandwidth(times[:3]))
    assert in_us.trace[0].bandwidth_s == pytest.approx(R.isj_bandwidth(times[:3] * 1e6) / 1e6)
    assert in_us.trace[0].bandwidth_s > 10 * in_s.trace[0].bandwidth_s


def test_round_effects_below_the_grid_resolution_are_binned_not_nan():
    # per-round slowdowns that differ by 1e-7 in the log: Scott's bandwidth is far below the round
    # effects' grid spacing, the KDE is 0 at every grid point; the fit falls back to the nearest
    # cells (as constant samples do), so the tail rule compares real distributions and stops
    from effbench.analysis.tail import kde_probabilities

    grid = np.linspace(-1.0, 1.5, 2048)
    p, bandwidth = kde_probabilities(1e-7 * np.arange(10), grid)
    assert 0 < bandwidth < 1e-6 and np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    assert p[1 + int(np.argmin(np.abs(grid)))] == pytest.approx(1.0)
    times = np.full((40, 30), 1e-3) * (1 + 1e-7 * np.arange(40))[:, None] + 1e-4 * np.arange(30)[None, :]
    res = R.replay_rule(times, R.rule_config("tail", min_rounds=8))
    assert res.stopped_by == "converged" and res.rounds_used < 40
