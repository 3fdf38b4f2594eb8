"""Stochastic frontier: seeded, and equal to the exact analysis without noise."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.dea import dea_from_objectives
from effbench.analysis.objectives import oriented_matrix, parse_objectives
from effbench.analysis.pareto import nondominated_layers
from effbench.analysis.stochastic_frontier import (
    Noise,
    absolute,
    binomial,
    draw_tables,
    parse_uncertainty,
    relative,
    samples,
    stochastic_frontier,
)
from effbench.errors import ConfigError, DataError

OBJ = parse_objectives(["acc:max", "lat:min", "thr:max"])


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    # few distinct values: ties and duplicates included
    return np.column_stack([
        rng.integers(60, 66, n).astype(float),
        rng.integers(1, 6, n).astype(float),
        rng.integers(10, 15, n).astype(float),
    ])


@pytest.mark.parametrize("noise", [{}, {"acc": relative(0.0), "lat": absolute(0.0)}])
def test_zero_noise_equals_exact(noise):
    values = _table()
    exact = nondominated_layers(oriented_matrix(values, OBJ))
    r = stochastic_frontier(values, OBJ, noise, draws=7, seed=3, max_layer=3)
    assert np.array_equal(r.p_frontier, (exact == 1).astype(float))
    assert np.array_equal(r.layer_mean, exact.astype(float))
    expected_probs = np.zeros((len(values), 4))
    expected_probs[np.arange(len(values)), np.minimum(exact, 4) - 1] = 1.0
    assert np.array_equal(r.layer_probs, expected_probs)
    assert np.array_equal(r.layer_interval, np.column_stack([exact, exact]))


def test_zero_noise_dea_equals_exact():
    values = _table(25) + 1
    r = stochastic_frontier(values, OBJ, {}, draws=3, dea_options={"model": "bcc"}, dea_draws=2)
    exact = dea_from_objectives(values, OBJ, model="bcc").efficiency
    assert r.dea_draws == 2
    assert r.dea_mean == pytest.approx(exact)
    assert r.dea_interval[:, 0] == pytest.approx(exact)


def test_constant_samples_equal_exact():
    values = _table(30)
    boot = samples([np.full(5, v) for v in values[:, 1]], statistic="median")
    exact = nondominated_layers(oriented_matrix(values, OBJ))
    r = stochastic_frontier(values, OBJ, {"lat": boot}, draws=4)
    assert np.array_equal(r.layer_mean, exact.astype(float))


def test_seeded_and_reproducible():
    values = _table().astype(float)
    noise = {"acc": binomial(1000), "lat": relative(0.1), "thr": absolute(0.5)}
    a = stochastic_frontier(values, OBJ, noise, draws=50, seed=11)
    b = stochastic_frontier(values, OBJ, noise, draws=50, seed=11)
    c = stochastic_frontier(values, OBJ, noise, draws=50, seed=12)
    assert np.array_equal(a.p_frontier, b.p_frontier)
    assert np.array_equal(a.layer_probs, b.layer_probs)
    assert not np.array_equal(a.layer_probs, c.layer_probs)
    assert np.allclose(a.layer_probs.sum(axis=1), 1.0)
    assert np.all((a.p_frontier >= 0) & (a.p_frontier <= 1))


def test_clear_winner_and_clear_loser():
    values = np.array([[90.0, 1.0, 100.0], [50.0, 10.0, 10.0], [70.0, 5.0, 50.0], [71.0, 5.0, 49.0]])
    r = stochastic_frontier(values, OBJ, {"acc": binomial(500), "thr": relative(0.02)}, draws=200, seed=0)
    assert r.p_frontier[0] == 1.0 and r.p_frontier[1] == 0.0
    assert 0.0 <= r.p_frontier[2] <= 0.05 and r.layer_mean[1] > 2


def test_bootstrap_of_ragged_samples_with_a_quantile():
    rng = np.random.default_rng(0)
    lat_samples = [rng.lognormal(0, 0.1, size=20 + i) * (1 + i) for i in range(6)]
    values = np.column_stack([
        np.linspace(60, 70, 6),
        [np.quantile(s, 0.99) for s in lat_samples],
        np.full(6, 10.0),
    ])
    r = stochastic_frontier(values, OBJ, {"lat": samples(lat_samples, 0.99)}, draws=30, seed=1)
    assert r.p_frontier.shape == (6,)
    with pytest.raises(DataError, match="samples for 2 models"):
        stochastic_frontier(values, OBJ, {"lat": samples(lat_samples[:2])}, draws=3)
    with pytest.raises(ConfigError, match="statistic"):
        stochastic_frontier(values, OBJ, {"lat": samples(lat_samples, "mode")}, draws=3)


def test_binomial_needs_accuracies():
    values = _table(5)
    values[0, 0] = 120.0
    with pytest.raises(DataError, match="binomial"):
        stochastic_frontier(values, OBJ, {"acc": binomial(100)}, draws=2)


@pytest.mark.parametrize(
    "spec,column,noise",
    [
        ("top1=n:50000", "top1", Noise("n", 50000.0)),
        ("lat=rel:0.05", "lat", Noise("rel", 0.05)),
        ("a=b=abs:2", "a=b", Noise("abs", 2.0)),
    ],
)
def test_parse_uncertainty(spec, column, noise):
    assert parse_uncertainty(spec) == (column, noise)


@pytest.mark.parametrize("spec", ["top1", "top1=rel", "top1=sd:1", "top1=rel:x", "top1=rel:-1", "top1=n:2.5"])
def test_parse_uncertainty_errors(spec):
    with pytest.raises(ConfigError, match="--uncertainty"):
        parse_uncertainty(spec)


def test_unknown_noise_column_and_bad_draws():
    with pytest.raises(ConfigError, match="not an objective"):
        stochastic_frontier(_table(5), OBJ, {"nope": relative(0.1)})
    with pytest.raises(ConfigError, match="draws"):
        stochastic_frontier(_table(5), OBJ, {}, draws=0)


def test_layer_interval_uses_the_linear_quantile_of_stats():
    """The 5%/95% layer interval is numpy's 'linear' quantile (stats.QUANTILE_METHOD), as the DEA
    interval: rebuilt here from the layer counts, which fix the sorted layers of every draw."""
    from effbench.analysis.stats import QUANTILE_METHOD

    assert QUANTILE_METHOD == "linear"
    values = _table(12, seed=4)
    draws = 100  # (n - 1) x 0.95 = 94.05: a bound between two layers, which inverted_cdf never gives
    r = stochastic_frontier(values, OBJ, {"lat": relative(0.3), "acc": absolute(1.0)}, draws=draws, seed=1, max_layer=12)
    counts = np.rint(r.layer_probs * draws).astype(int)
    assert counts[:, -1].sum() == 0  # every layer is within max_layer: the counts are exact
    fractional = False
    for i in range(len(values)):
        layers = np.repeat(np.arange(1, counts.shape[1] + 1), counts[i])
        expected = np.quantile(layers, [0.05, 0.95], method="linear")
        assert r.layer_interval[i] == pytest.approx(expected)
        fractional |= bool(np.any(expected != np.round(expected)))
    assert fractional
    assert r.layer_mean == pytest.approx((counts * np.arange(1, counts.shape[1] + 1)).sum(axis=1) / draws)


def test_one_draw_equals_the_exact_frontier_of_the_drawn_table():
    values = _table(80, seed=4)
    noise = {"acc": binomial(200, scale=100), "lat": relative(0.3), "thr": absolute(1.0)}
    (drawn,) = list(draw_tables(values, OBJ, noise, draws=1, seed=11))
    exact = nondominated_layers(oriented_matrix(drawn[0], OBJ))
    r = stochastic_frontier(values, OBJ, noise, draws=1, seed=11, max_layer=50)
    assert np.array_equal(r.p_frontier, (exact == 1).astype(float))
    assert np.array_equal(r.layer_mean, exact.astype(float))
    assert not np.array_equal(drawn[0], values)  # the draw is noisy: not the table itself


def test_a_quantile_statistic_of_bootstrap_samples_is_numpys():
    rng = np.random.default_rng(5)
    raw = [rng.lognormal(0, 0.5, size=15 + 3 * i) for i in range(4)]
    values = np.column_stack([np.full(4, 60.0), [np.quantile(s, 0.9) for s in raw], np.full(4, 10.0)])
    (drawn,) = list(draw_tables(values, OBJ, {"lat": samples(raw, 0.9)}, draws=3, seed=2))
    replay = np.random.default_rng(2)
    for j, s in enumerate(raw):  # the generator's draws, in the order draw_tables makes them
        idx = replay.integers(0, s.size, size=(3, s.size))
        expected = [np.quantile(s[row], 0.9, method="linear") for row in idx]
        assert drawn[:, j, 1] == pytest.approx(expected, rel=0, abs=0)
    assert np.array_equal(drawn[:, :, 0], np.full((3, 4), 60.0))  # exact columns stay exact


@pytest.mark.parametrize("spec", ["c=n:nan", "c=rel:inf", "c=abs:-inf", "c=n:1e400"])
def test_uncertainty_must_be_finite(spec):
    from effbench.analysis.stochastic_frontier import parse_uncertainty

    with pytest.raises(ConfigError, match="expected a finite number"):
        parse_uncertainty(spec)
