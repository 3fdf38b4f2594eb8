"""Misnomer analysis against hand-made tables with known answers and against scipy."""

from __future__ import annotations

import itertools
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import kendalltau, norm, spearmanr

from effbench.analysis import misnomer as mis
from effbench.analysis.misnomer import (
    Indicator,
    describe_contradiction,
    find_contradictions,
    format_factor,
    misnomer_analysis,
    rank_correlations,
)
from effbench.errors import ConfigError, DataError

NAMES = ["m0", "m1", "m2", "m3", "m4", "m5"]
X = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def _corr(values, indicators, names=NAMES, **kw):
    (c,) = rank_correlations(names, values, indicators, **kw)
    return c


# --------------------------------------------------------------------------- correlations


def test_identical_ranks_same_direction_agree():
    c = _corr({"a": X, "b": [10, 20, 30, 40, 50, 60]}, [Indicator("a", "min"), Indicator("b", "min")])
    assert c.kendall_raw == pytest.approx(1.0) and c.kendall_oriented == pytest.approx(1.0)
    assert c.spearman_raw == pytest.approx(1.0) and c.spearman_oriented == pytest.approx(1.0)


def test_identical_ranks_opposite_directions_disagree():
    # more of "a" is better, less of "b" is better, and they rise together: always disagree
    c = _corr({"a": X, "b": X}, [Indicator("a", "max"), Indicator("b", "min")])
    assert c.kendall_raw == pytest.approx(1.0)
    assert c.kendall_oriented == pytest.approx(-1.0)
    assert c.spearman_oriented == pytest.approx(-1.0)


def test_reversed_ranks_gmacs_vs_throughput():
    # throughput = 1 / GMACs: raw -1 (the familiar sign), oriented +1 (they agree on efficiency)
    gmacs = np.array(X)
    c = _corr(
        {"gmacs": gmacs, "throughput": 1.0 / gmacs},
        [Indicator("gmacs", "min"), Indicator("throughput", "max")],
    )
    assert c.kendall_raw == pytest.approx(-1.0) and c.kendall_oriented == pytest.approx(1.0)
    assert c.spearman_raw == pytest.approx(-1.0) and c.spearman_oriented == pytest.approx(1.0)
    assert c.kendall_raw_ci == pytest.approx((-1.0, -1.0))
    assert c.kendall_oriented_ci == pytest.approx((1.0, 1.0))


def test_reversed_ranks_same_direction():
    c = _corr({"a": X, "b": X[::-1]}, [Indicator("a", "min"), Indicator("b", "min")])
    assert c.kendall_raw == pytest.approx(-1.0) and c.kendall_oriented == pytest.approx(-1.0)


@pytest.mark.parametrize("dirs", [("min", "min"), ("min", "max"), ("max", "min"), ("max", "max")])
def test_matches_scipy_with_ties_and_missing(dirs):
    rng = np.random.default_rng(0)
    n = 60
    a = rng.integers(0, 15, n).astype(float)  # ties on purpose
    b = a + rng.normal(0, 4, n)
    b[[3, 17]] = np.nan
    a[40] = np.nan
    names = [f"m{i}" for i in range(n)]
    c = _corr({"a": a, "b": b}, [Indicator("a", dirs[0]), Indicator("b", dirs[1])], names=names)
    ok = ~(np.isnan(a) | np.isnan(b))
    assert c.n_models == int(ok.sum()) == 57
    kt, sr = kendalltau(a[ok], b[ok]), spearmanr(a[ok], b[ok])
    sign = (1 if dirs[0] == "max" else -1) * (1 if dirs[1] == "max" else -1)
    assert c.kendall_raw == pytest.approx(kt.statistic)
    assert c.kendall_oriented == pytest.approx(sign * kt.statistic)
    assert c.kendall_p_value == pytest.approx(kt.pvalue)
    assert c.spearman_raw == pytest.approx(sr.statistic)
    assert c.spearman_oriented == pytest.approx(sign * sr.statistic)
    assert c.spearman_p_value == pytest.approx(sr.pvalue)
    for est, ci in [
        (c.kendall_raw, c.kendall_raw_ci),
        (c.kendall_oriented, c.kendall_oriented_ci),
        (c.spearman_raw, c.spearman_raw_ci),
        (c.spearman_oriented, c.spearman_oriented_ci),
    ]:
        assert ci[0] < est < ci[1]
    # the documented Fisher-z intervals, computed by hand
    z = norm.ppf(0.975)
    m = c.n_models
    t = c.kendall_oriented
    se = math.sqrt(0.437 / (m - 4))
    assert c.kendall_oriented_ci == pytest.approx(
        (math.tanh(math.atanh(t) - z * se), math.tanh(math.atanh(t) + z * se))
    )
    r = c.spearman_oriented
    se = math.sqrt((1 + r * r / 2) / (m - 3))
    assert c.spearman_oriented_ci == pytest.approx(
        (math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se))
    )


def test_interval_narrows_with_confidence_and_undefined_for_tiny_tables():
    vals = {"a": X, "b": [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]}
    inds = [Indicator("a", "min"), Indicator("b", "min")]
    wide = _corr(vals, inds, confidence=0.99).kendall_oriented_ci
    narrow = _corr(vals, inds, confidence=0.8).kendall_oriented_ci
    assert wide[0] < narrow[0] and narrow[1] < wide[1]
    tiny = _corr({"a": X[:4], "b": X[:4]}, inds, names=NAMES[:4])
    assert tiny.kendall_oriented_ci is None  # needs n > 4
    assert tiny.spearman_oriented_ci is not None  # needs n > 3


def test_constant_column_gives_nan_not_crash():
    res = misnomer_analysis(NAMES, {"a": X, "b": [2.0] * 6}, [Indicator("a", "min"), Indicator("b", "min")])
    c = res.correlations[0]
    assert math.isnan(c.kendall_oriented) and c.kendall_oriented_ci is None
    d = res.to_dict()["correlations"][0]
    assert d["kendall_tau_b"]["oriented"] is None
    json.dumps(res.to_dict(), allow_nan=False)


def test_every_pair_in_order():
    vals = {k: np.arange(1.0, 7.0) for k in "abcd"}
    res = rank_correlations(NAMES, vals, [Indicator(k, "min") for k in "abcd"])
    assert [(c.x, c.y) for c in res] == list(itertools.combinations("abcd", 2))


# --------------------------------------------------------------------------- contradictions

# Hand-made: a vs b -> a 2x fewer GMACs, 2x lower throughput (contradiction, product 4);
# a vs c -> 4x fewer GMACs, exactly 1.1x lower throughput (contradiction, product 4.4);
# a vs d -> 8x fewer GMACs but only 1.05x lower throughput (below 1.1: not one);
# every other pair agrees (fewer GMACs and higher throughput).
HAND = {
    "names": ["a", "b", "c", "d"],
    "gmacs": [1.0, 2.0, 4.0, 8.0],
    "throughput": [100.0, 200.0, 110.0, 105.0],
}
HAND_INDS = [Indicator("gmacs", "min"), Indicator("throughput", "max")]


def test_hand_made_contradictions_count_order_and_wording():
    (pair,) = find_contradictions(HAND["names"], HAND, HAND_INDS)
    assert (pair.x, pair.y, pair.n_models, pair.n_pairs, pair.count) == ("gmacs", "throughput", 4, 6, 2)
    first, second = pair.top
    assert (first.better, first.worse) == ("a", "c")
    assert first.factor_x == pytest.approx(4.0) and first.factor_y == pytest.approx(1.1)
    assert first.text == "a needs 4.0x fewer GMACs than c but has 1.10x lower throughput"
    assert (second.better, second.worse) == ("a", "b")
    assert second.text == "a needs 2.0x fewer GMACs than b but has 2.0x lower throughput"


def test_thresholds_change_the_count():
    count = lambda **kw: find_contradictions(HAND["names"], HAND, HAND_INDS, **kw)[0].count  # noqa: E731
    assert count(min_other_factor=1.04) == 3  # a vs d joins
    assert count(min_factor=2.5) == 1  # a vs b (2x, 2x) drops
    assert count(min_factor=1.0, min_other_factor=1.0) == 3


def test_wording_uses_first_indicator_as_the_winner_side():
    inds = [Indicator("throughput", "max", label="GPU throughput"), Indicator("gmacs", "min")]
    (pair,) = find_contradictions(HAND["names"], HAND, inds)
    assert pair.top[0].text == "c has 1.10x higher GPU throughput than a but needs 4.0x more GMACs"


def test_top_limits_the_list_not_the_count():
    (pair,) = find_contradictions(HAND["names"], HAND, HAND_INDS, top=1)
    assert pair.count == 2 and len(pair.top) == 1 and pair.top[0].worse == "c"
    (pair,) = find_contradictions(HAND["names"], HAND, HAND_INDS, top=0)
    assert pair.count == 2 and pair.top == ()


def _brute(gx, gy, lo, hi):
    n, hits = len(gx), []
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = gx[i] - gx[j], gy[i] - gy[j]
            if dx * dy < 0:
                big, small = max(abs(dx), abs(dy)), min(abs(dx), abs(dy))
                if big >= math.log(hi) - 1e-9 and small >= math.log(lo) - 1e-9:
                    hits.append((i, j, abs(dx) + abs(dy)))
    return hits


@pytest.mark.parametrize("factors", [(1.0, 1.0), (1.25, 1.1), (1.5, 1.5), (1.1, 2.0)])
def test_vectorised_search_matches_brute_force_in_small_blocks(monkeypatch, factors):
    monkeypatch.setattr(mis, "_BLOCK_ELEMENTS", 37)  # many small blocks
    rng = np.random.default_rng(1)
    n = 45
    x = np.round(np.exp(rng.normal(0, 1, n)), 1)  # ties
    y = x * np.exp(rng.normal(0, 0.6, n))
    names = [f"m{i:02d}" for i in range(n)]
    (pair,) = find_contradictions(
        names, {"x": x, "y": y}, [Indicator("x", "min"), Indicator("y", "max")],
        min_factor=factors[0], min_other_factor=factors[1], top=5,
    )
    hits = _brute(-np.log(x), np.log(y), min(factors), max(factors))
    assert pair.count == len(hits)
    strongest = sorted((h[2] for h in hits), reverse=True)[:5]
    assert [math.log(c.strength) for c in pair.top] == pytest.approx(strongest)
    for c in pair.top:  # the listed model is better on x and worse on y
        i, j = names.index(c.better), names.index(c.worse)
        assert x[i] < x[j] and y[i] < y[j]
        assert c.factor_x == pytest.approx(x[j] / x[i]) and c.factor_y == pytest.approx(y[j] / y[i])


def test_factor_one_counts_kendall_discordant_pairs():
    rng = np.random.default_rng(2)
    n = 30
    x, y = rng.permutation(n) + 1.0, rng.permutation(n) + 1.0  # no ties
    names = [str(i) for i in range(n)]
    inds = [Indicator("x", "max"), Indicator("y", "max")]
    res = misnomer_analysis(names, {"x": x, "y": y}, inds, min_factor=1.0, min_other_factor=1.0)
    pairs = n * (n - 1) // 2
    discordant = res.contradictions[0].count
    assert res.correlations[0].kendall_oriented == pytest.approx((pairs - 2 * discordant) / pairs)


def test_missing_and_nonpositive_values_are_left_out_of_the_pair():
    vals = {
        "gmacs": [1.0, 2.0, float("nan"), 8.0, 0.0],
        "throughput": [100.0, 200.0, 50.0, 105.0, 300.0],
        "params": [1.0, 1.0, 1.0, 1.0, 1.0],
    }
    inds = [Indicator("gmacs", "min"), Indicator("throughput", "max"), Indicator("params", "min")]
    res = misnomer_analysis(list("abcde"), vals, inds)
    gt = res.contradictions[0]
    assert (gt.n_models, gt.n_pairs, gt.count) == (3, 3, 1)  # c (NaN) and e (0) left out
    assert res.correlations[0].n_models == 4  # e (0) is fine for ranks
    assert res.contradictions[2].count == 0  # ties are never contradictions


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    "ind, better, worse",
    [
        (Indicator("params_m", "min"), "needs 2.0x fewer parameters than B", "needs 2.0x more parameters"),
        (Indicator("latency_s", "min"), "is 2.0x faster than B (latency_s)", "is 2.0x slower (latency_s)"),
        (Indicator("energy_j", "min", label="energy"), "uses 2.0x less energy than B", "uses 2.0x more energy"),
        (Indicator("cpu_samples_per_sec", "max"), "has 2.0x higher cpu_samples_per_sec than B", "has 2.0x lower cpu_samples_per_sec"),
        (Indicator("top1", "max"), "has 2.0x higher top-1 accuracy than B", "has 2.0x lower top-1 accuracy"),
        (Indicator("weird", "min"), "is 2.0x better on weird than B", "is 2.0x worse on weird"),
        (Indicator("latency_s", "max"), "is 2.0x better on latency_s than B", "is 2.0x worse on latency_s"),
        (Indicator("weird", "min", kind="time", label="batch-1 latency"), "is 2.0x faster than B (batch-1 latency)", "is 2.0x slower (batch-1 latency)"),
    ],
)
def test_unit_aware_verbs(ind, better, worse):
    text = describe_contradiction(ind, ind, "A", "B", 2.0, 2.0)
    assert text == f"A {better} but {worse}"


def test_format_factor():
    assert [format_factor(f) for f in (1.1, 1.25, 1.994, 2.04, 4.0, 9.94, 12.3)] == [
        "1.10", "1.25", "1.99", "2.0", "4.0", "9.9", "12",
    ]


# --------------------------------------------------------------------------- input


def test_accepts_objective_like_objects():
    objs = [SimpleNamespace(name="gmacs", direction="min"), SimpleNamespace(name="throughput", direction="max")]
    res = misnomer_analysis(HAND["names"], HAND, objs)
    assert res.contradictions[0].count == 2 and res.indicators[0].display == "GMACs"


def test_json_shape():
    d = misnomer_analysis(HAND["names"], HAND, HAND_INDS).to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) == {"method", "n_models", "indicators", "correlations", "contradictions", "total_contradictions"}
    assert set(d["correlations"][0]) == {"x", "y", "n_models", "kendall_tau_b", "spearman_rho"}
    assert set(d["correlations"][0]["kendall_tau_b"]) == {"oriented", "oriented_ci", "raw", "raw_ci", "p_value"}
    assert d["contradictions"][0]["count"] == 2 and d["total_contradictions"] == 2
    assert d["contradictions"][0]["top"][0]["better_on_x"] == "a"


@pytest.mark.parametrize(
    "kwargs, values, inds, err, words",
    [
        ({}, HAND, [Indicator("gmacs", "min"), Indicator("nope", "max")], DataError, "'nope' is not a column"),
        ({}, HAND, [Indicator("gmacs", "min")], ConfigError, "at least 2"),
        ({}, HAND, [Indicator("gmacs", "min"), Indicator("gmacs", "min")], ConfigError, "twice"),
        ({"names": ["a", "b"]}, {"x": [1, 2], "y": [1, 2]}, [Indicator("x", "min"), Indicator("y", "min")], DataError, "at least 3"),
        ({}, {**HAND, "throughput": [1, 2]}, HAND_INDS, DataError, "one value per model"),
        ({}, {**HAND, "throughput": ["1", "x", "2", "3"]}, HAND_INDS, DataError, "numeric"),
        ({"min_factor": 0.9}, HAND, HAND_INDS, ConfigError, r"^min_factor: expected a number >= 1, got 0\.9$"),
        ({"min_other_factor": float("inf")}, HAND, HAND_INDS, ConfigError, r"^min_other_factor: expected a number >= 1, got inf \(not a finite number\)$"),
        ({"top": -1}, HAND, HAND_INDS, ConfigError, r"^top: expected a whole number >= 0, got -1$"),
        ({"top": True}, HAND, HAND_INDS, ConfigError, r"^top: expected a whole number >= 0, got True$"),
        ({"confidence": 1.5}, HAND, HAND_INDS, ConfigError, r"^confidence: expected a number in \(0, 1\), got 1\.5$"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, values, inds, err, words):
    kwargs = dict(kwargs)
    names = kwargs.pop("names", HAND["names"])
    with pytest.raises(err, match=words) as info:
        misnomer_analysis(names, values, inds, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_direction():
    with pytest.raises(ConfigError, match="direction must be 'max' or 'min'"):
        Indicator("gmacs", "lower")


def test_factors_at_the_limits_of_floating_point_are_reported_not_raised():
    # 1e308 next to 1e-300 (a ratio beyond the largest float) and subnormals (1e-320, 5e-324)
    names = ["m1", "m2", "m3", "m4"]
    values = {"a": [1e-320, 5e-324, 1e308, 1e-300], "c": [3.0, 1.0, 2.0, 5.0]}
    res = find_contradictions(names, values, [Indicator("a", "min"), Indicator("c", "max")], top=10)
    (pair,) = res
    assert pair.count == 4
    by = {(t.better, t.worse): t for t in pair.top}
    assert math.isinf(by[("m2", "m3")].factor_x)
    assert by[("m2", "m4")].factor_x == pytest.approx(1e-300 / 5e-324, rel=1e-9)
    assert format_factor(math.inf) == "over 1.8e+308" and format_factor(2.0e23) == "2.0e+23"
