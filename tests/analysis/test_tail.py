"""Tail quality analysis: quality under deadlines, thresholds, convergence, prediction."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from effbench.analysis import tail as T
from effbench.errors import ConfigError, DataError


# ---------------------------------------------------------------- quality under a deadline


def test_hand_computed_small_case():
    times = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    correct = np.array([1, 1, 0, 1])
    q = T.quality_matrix(times, correct, [0.05, 0.1, 0.25, 0.3, 0.4, 1.0])
    # round 0: on time at 0.1 -> {0}; 0.25 -> {0,1}; 0.3 -> {0,1,2}(2 wrong); 0.4 -> all
    # round 1: on time at 0.1 -> {3}; 0.25 -> {2,3}; 0.3 -> {1,2,3}; 0.4 -> all
    expected = np.array(
        [[0, 1, 2, 2, 3, 3], [0, 1, 1, 2, 3, 3]]
    ) / 4
    np.testing.assert_allclose(q, expected)


def test_comparison_is_less_or_equal():
    q = T.quality_matrix([[0.5, 1.0]], [1, 1], [0.5, np.nextafter(0.5, 0)])
    np.testing.assert_allclose(q, [[0.5, 0.0]])


def test_threshold_order_is_kept():
    times = np.array([[0.1, 0.2, 0.3]])
    q_sorted = T.quality_matrix(times, [1, 1, 1], [0.1, 0.2, 0.3])
    q_shuffled = T.quality_matrix(times, [1, 1, 1], [0.3, 0.1, 0.2])
    np.testing.assert_allclose(q_shuffled, q_sorted[:, [2, 0, 1]])


def test_extreme_thresholds_give_unconstrained_and_zero():
    rng = np.random.default_rng(3)
    times = rng.lognormal(-4, 0.5, (7, 50))
    correct = rng.random((7, 50)) < 0.8
    q = T.quality_matrix(times, correct, [times.max(), times.min() * 0.999])
    np.testing.assert_allclose(q[:, 0], correct.mean(axis=1))
    np.testing.assert_allclose(q[:, 0], T.unconstrained_quality(correct))
    np.testing.assert_array_equal(q[:, 1], 0.0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    times=hnp.arrays(float, (3, 12), elements=st.floats(0, 5, allow_nan=False)),
    correct=hnp.arrays(bool, (12,)),
    thresholds=st.lists(st.floats(0, 6, allow_nan=False), min_size=1, max_size=15),
)
def test_quality_non_decreasing_in_threshold(times, correct, thresholds):
    thr = np.sort(np.asarray(thresholds))
    q = T.quality_matrix(times, correct, thr)
    assert np.all(np.diff(q, axis=1) >= 0)
    # matches the direct definition
    direct = ((times[:, :, None] <= thr[None, None, :]) & correct[None, :, None]).mean(axis=1)
    np.testing.assert_allclose(q, direct)


def test_correct_may_vary_by_round():
    times = np.zeros((2, 3))
    correct = np.array([[1, 0, 0], [1, 1, 1]])
    np.testing.assert_allclose(T.quality_matrix(times, correct, [1.0])[:, 0], [1 / 3, 1.0])


# ---------------------------------------------------------------- batching


def test_expand_batch_times():
    bt = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = T.expand_batch_times(bt, [0, 0, 1, 1, 1])
    np.testing.assert_allclose(out, [[1, 1, 2, 2, 2], [3, 3, 4, 4, 4]])
    with pytest.raises(DataError, match="batch_ids"):
        T.expand_batch_times(bt, [0, 2])


def test_instances_of_a_batch_share_validity():
    rng = np.random.default_rng(0)
    times = rng.random((5, 12))
    ids = np.repeat(np.arange(4), 3)
    shared = T.apply_batch_times(times, ids)
    for b in range(4):
        members = shared[:, ids == b]
        assert np.all(members == members[:, :1])
        np.testing.assert_allclose(members[:, 0], times[:, ids == b].max(axis=1))
    # per threshold: a batch is on time for all members or for none
    thr = np.quantile(times, [0.2, 0.5, 0.8])
    q = T.quality_matrix(times, np.ones(12), thr, batch_ids=ids)
    assert np.all(np.isin(np.round(q * 12), [0, 3, 6, 9, 12]))


# ---------------------------------------------------------------- thresholds and summaries


def test_select_thresholds_origins_and_percentile_method():
    times = np.arange(1, 101, dtype=float).reshape(4, 25) / 100  # 0.01 .. 1.00
    thr = T.select_thresholds(times, user_s=[0.5], percentiles=[90, 99.9], grid=3)
    assert [t.origin for t in thr] == ["user", "percentile", "percentile", "grid", "grid", "grid"]
    assert [t.label for t in thr][1:3] == ["p90", "p99.9"]
    # inverted_cdf: smallest observed value with ECDF >= p
    assert thr[1].value_s == pytest.approx(0.90)
    assert thr[2].value_s == pytest.approx(1.00)
    np.testing.assert_allclose([t.value_s for t in thr[3:]], [0.01, 0.505, 1.0])


def test_grid_of_constant_times_is_one_point():
    thr = T.select_thresholds(np.full((3, 4), 0.2), percentiles=[], grid=10)
    assert len(thr) == 1 and thr[0].value_s == 0.2


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), "abc"])
def test_non_positive_user_threshold_refused(bad):
    with pytest.raises(ConfigError, match="threshold"):
        T.select_thresholds(np.ones((1, 2)), user_s=[bad])


def test_summary_statistics():
    q = np.array([[0.9], [0.8], [1.0], [0.7]])
    s = T.summarize_quality(q, 0.01)
    assert s["min"][0] == 0.7 and s["max"][0] == 1.0
    assert s["quantile"][0] == 0.7  # fewer than 1/q rounds: the quantile is the worst case
    assert s["mean"][0] == pytest.approx(0.85)
    assert s["std"][0] == pytest.approx(np.std([0.9, 0.8, 1.0, 0.7], ddof=1))
    s50 = T.summarize_quality(q, 0.5)
    assert s50["quantile"][0] == 0.8


@pytest.mark.parametrize("q,key", [(0.01, "q01"), (0.05, "q05"), (0.1, "q10"), (0.001, "q001"), (0.25, "q25")])
def test_quantile_key(q, key):
    assert T.quantile_key(q) == key


def test_analyze_tail_to_dict_keys():
    rng = np.random.default_rng(1)
    res = T.analyze_tail(rng.random((10, 20)), rng.random(20) < 0.5, thresholds_s=[0.5], grid=4)
    d = res.to_dict()
    row = d["thresholds"][0]
    for key in ("threshold_s", "origin", "label", "min", "q01", "quantile", "mean", "std", "max", "unconstrained"):
        assert key in row
    assert row["origin"] == "user" and row["quantile"] == 0.01
    assert d["quantile_method"] == "inverted_cdf"


@pytest.mark.parametrize(
    "times,correct,match",
    [
        ([[0.1, -0.2]], [1, 0], ">= 0"),
        ([[0.1, np.nan]], [1, 0], "finite"),
        ([[0.1, 0.2]], [1, 2], "0 or 1"),
        ([[0.1, 0.2]], [1, 0, 1], "shape"),
    ],
)
def test_bad_arrays(times, correct, match):
    with pytest.raises(DataError, match=match):
        T.quality_matrix(times, correct, [1.0])


# ---------------------------------------------------------------- convergence


def test_js_distance_identity_and_symmetry():
    rng = np.random.default_rng(0)
    p, q = rng.random(50), rng.random(50)
    assert T.js_distance(p, p) == 0.0
    assert T.js_distance(p, q) == pytest.approx(T.js_distance(q, p))
    assert T.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    grid = np.linspace(-4, 4, 200)
    x = rng.normal(size=500)
    a, _ = T.kde_probabilities(x, grid)
    b, _ = T.kde_probabilities(x.copy(), grid)
    assert T.js_distance(a, b) == 0.0


def test_kde_probabilities_mass_outside_grid():
    x = np.random.default_rng(0).normal(10.0, 1.0, 400)
    p, bw = T.kde_probabilities(x, np.linspace(0, 1, 50))
    assert p.sum() == pytest.approx(1.0) and p[-1] > 0.99 and bw > 0
    pc, bwc = T.kde_probabilities(np.full(10, 0.3), np.linspace(0, 1, 11))
    assert bwc == 0.0 and pc[1 + 3] == 1.0


SMALL = T.ConvergenceConfig(every=2, window=3, threshold=0.05, min_rounds=8, max_rounds=40,
                            grid_points=256, max_kde_points=2000)


def test_stationary_stream_converges_before_max():
    rng = np.random.default_rng(5)
    base = rng.lognormal(-5, 0.2, 300)
    times = base[None, :] * rng.lognormal(0, 0.1, (40, 300))
    res = T.convergence_round(times, SMALL)
    assert res.converged and res.stopped_by == "converged"
    assert res.rounds_used < SMALL.max_rounds
    last = res.trace[-1]
    assert len(last.js_distances) == SMALL.window and last.max_js < SMALL.threshold


def test_drifting_stream_does_not_converge():
    rng = np.random.default_rng(5)
    base = rng.lognormal(-5, 0.2, 300)
    drift = np.linspace(1.0, 6.0, 40)[:, None]
    times = base[None, :] * drift * rng.lognormal(0, 0.1, (40, 300))
    res = T.convergence_round(times, SMALL)
    assert not res.converged and res.stopped_by == "max_rounds" and res.rounds_used == 40


def test_monitor_matches_replay_and_exhausted():
    rng = np.random.default_rng(2)
    times = rng.lognormal(-5, 0.3, (40, 100))
    mon = T.ConvergenceMonitor(SMALL)
    stopped = None
    for r, row in enumerate(times, start=1):
        if mon.update(row):
            stopped = r
            break
    replay = T.convergence_round(times, SMALL)
    assert stopped == replay.rounds_used
    assert [s.js_distances for s in mon.trace] == [s.js_distances for s in replay.trace]
    short = T.convergence_round(times[:5], SMALL)
    assert short.stopped_by == "exhausted" and short.rounds_used == 5 and not short.converged


def test_constant_times_converge():
    res = T.convergence_round(np.full((20, 10), 0.01), SMALL)
    assert res.converged and res.rounds_used == SMALL.min_rounds


def test_convergence_config_validated():
    with pytest.raises(ConfigError, match="max_rounds"):
        T.ConvergenceConfig(min_rounds=10, max_rounds=5)
    with pytest.raises(ConfigError, match="threshold"):
        T.ConvergenceConfig(threshold=0)


# ---------------------------------------------------------------- prediction


@pytest.mark.parametrize("method", ["kde", "empirical"])
def test_constant_times_predict_a_point(method):
    times = np.tile(np.array([0.1, 0.2, 0.3, 0.4]), (6, 1))
    pred = T.predict_quality(times, [1, 1, 0, 1], [0.25, 0.35, 1.0], n_rounds=200, method=method)
    s = pred.summary
    np.testing.assert_allclose(s["min"], s["max"])
    np.testing.assert_allclose(s["std"], 0.0)
    np.testing.assert_allclose(s["mean"], [0.5, 0.5, 0.75])


def test_prediction_is_seeded_and_close_on_stationary_data():
    rng = np.random.default_rng(11)
    base = rng.lognormal(-5, 0.2, 400)
    times = base[None, :] * rng.lognormal(0, 0.15, (60, 400))
    correct = rng.random(400) < 0.9
    thr = np.quantile(times, [0.5, 0.9, 0.99])
    a = T.predict_quality(times[:10], correct, thr, n_rounds=300, seed=4)
    b = T.predict_quality(times[:10], correct, thr, n_rounds=300, seed=4)
    np.testing.assert_array_equal(a.samples, b.samples)
    check = T.evaluate_prediction(times, correct, thr, fit_rounds=10, n_rounds=500, seed=4)
    assert check.holdout_rounds == 50
    assert np.all(check.error_mean_pp < 1.5)
    assert np.all(check.error_min_pp < 2.5)


def test_prediction_with_batches_shares_validity():
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(5), 4)
    times = T.expand_batch_times(rng.lognormal(-4, 0.3, (8, 5)), ids)
    pred = T.predict_quality(times, np.ones(20), [np.median(times)], n_rounds=100, batch_ids=ids)
    assert np.all(np.isin(np.round(pred.samples * 20), np.arange(0, 21, 4)))


def test_expected_minimum():
    assert T.expected_minimum([0.5, 0.7], 1) == pytest.approx(0.6)
    assert T.expected_minimum([0.5, 0.7], 2) == pytest.approx(0.75 * 0.5 + 0.25 * 0.7)
    assert T.expected_minimum([0.3, 0.3, 0.3], 50) == pytest.approx(0.3)


# ---------------------------------------------------------------- rows (CSV) in


def _rows(spec):
    return [dict(zip(("round", "instance", "time_s", "correct"), map(str, r))) for r in spec]


def test_arrays_from_rows_orders_rounds_and_instances():
    rows = _rows([(1, 10, 0.3, 1), (0, 2, 0.1, 0), (0, 10, 0.2, 1), (1, 2, 0.4, 0)])
    times, correct, rids, iids = T.arrays_from_rows(rows, ["round", "instance", "time_s", "correct"])
    assert rids == [0, 1] and iids == ["2", "10"]
    np.testing.assert_allclose(times, [[0.1, 0.2], [0.4, 0.3]])
    np.testing.assert_array_equal(correct, [[False, True], [False, True]])


@pytest.mark.parametrize(
    "spec,match",
    [
        ([(0, 0, 0.1, 1), (0, 1, 0.1, 1), (1, 0, 0.1, 1)], "round 1 lacks 1 of 2"),
        ([(0, 0, -0.1, 1)], "time_s"),
        ([(0, 0, 0.1, 2)], "correct"),
        ([(0, 0, "fast", 1)], "time_s"),
        ([(0.5, 0, 0.1, 1)], "round"),
        ([(0, 0, 0.1, 1), (0, 0, 0.2, 1)], "twice"),
    ],
)
def test_arrays_from_rows_bad_input(spec, match):
    with pytest.raises(DataError, match=match):
        T.arrays_from_rows(_rows(spec))


def test_arrays_from_rows_missing_column():
    with pytest.raises(DataError, match="missing column"):
        T.arrays_from_rows([], ["round", "instance", "time"])


def test_round_effect_widens_the_predicted_spread():
    rng = np.random.default_rng(7)
    base = rng.lognormal(-5, 0.2, 300)
    shared = rng.lognormal(0, 0.05, (40, 1))  # a slowdown shared by every instance of a round
    times = base[None, :] * shared * rng.lognormal(0, 0.05, (40, 300))
    correct = np.ones(300, dtype=bool)
    thr = [np.quantile(times, 0.9)]
    with_re = T.evaluate_prediction(times, correct, thr, fit_rounds=10, n_rounds=400, round_effect=True)
    without = T.evaluate_prediction(times, correct, thr, fit_rounds=10, n_rounds=400, round_effect=False)
    assert with_re.predicted["std"][0] > 2 * without.predicted["std"][0]
    assert with_re.error_min_pp[0] < without.error_min_pp[0]


def test_js_distance_with_subnormal_tail_cells_is_finite_and_not_zero_by_accident():
    # KDE tails far from the data give subnormal probabilities; scipy's (p + q) / 2 then underflows
    # to 0 and its distance becomes inf. Two different densities must not read as identical.
    import numpy as np

    from effbench.analysis.tail import js_distance

    tiny = np.finfo(float).tiny
    p = np.array([0.5, 0.5 - 1e-310, 1e-310])
    q = np.array([0.3, 0.7 - 1e-310, 1e-310])
    assert 0 < js_distance(p, q) < 1
    assert js_distance(p, p) == 0.0
    assert tiny > 1e-310  # the cells above really are subnormal


def test_times_beyond_any_inference_are_a_unit_mistake_not_a_grid_error():
    from effbench.analysis.tail import select_thresholds

    with pytest.raises(DataError, match=r"^times: time_s is in seconds, and 1e\+308 s is more than 1e\+09 s"):
        select_thresholds(np.array([[1e-300, 1e308], [0.1, 1e308]]), (), (99.0,), 0)


# ---------------------------------------------------------------- the tail-aware stopping rule


def test_tail_rule_waits_for_the_round_effects_to_settle():
    from effbench.analysis.tail_interval import episode_stream

    quiet, _ = episode_stream(0, rounds=120, instances=200, episode_rate=0.0)
    episode = quiet.copy()
    episode[12:14] *= 1.8  # a slow episode of two rounds, after the pooled rule has stopped
    pooled = T.ConvergenceConfig()
    tail = T.ConvergenceConfig(round_threshold=0.05)
    assert T.convergence_round(quiet, pooled).rounds_used == 8
    assert T.convergence_round(episode, pooled).rounds_used == 8  # blind to what came after
    res_quiet = T.convergence_round(quiet, tail)
    res_episode = T.convergence_round(episode, tail)
    assert res_quiet.converged and res_quiet.rounds_used == 26
    assert res_episode.converged and res_episode.rounds_used == 42
    last = res_episode.trace[-1]
    assert len(last.round_js_distances) == 3 and max(last.round_js_distances) < 0.05
    assert res_episode.to_dict()["rule"] == "tail" and res_episode.to_dict()["round_threshold"] == 0.05


def test_tail_rule_never_stops_while_round_effects_drift():
    from effbench.analysis.tail_interval import episode_stream

    times, _ = episode_stream(1, rounds=80, instances=100, episode_rate=0.0)
    times = times * np.exp(np.linspace(0, 0.8, 80))[:, None] ** (np.arange(80) % 2)[:, None]  # every other round slower and slower
    res = T.convergence_round(times, T.ConvergenceConfig(round_threshold=0.05, max_rounds=80))
    assert not res.converged and res.stopped_by == "max_rounds"
