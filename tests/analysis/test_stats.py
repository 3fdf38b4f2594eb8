"""Tests of effbench.analysis.stats against numpy/scipy references and seeded simulations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from effbench import estimates
from effbench.analysis import stats as S
from effbench.errors import ConfigError, DataError


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- point estimates


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
def test_quantile_matches_numpy_linear(q):
    x = _rng(1).lognormal(size=257)
    assert S.quantile(x, q) == np.quantile(x, q)
    assert S.quantile(x.tolist(), q) == np.quantile(x, q, method="linear")


def test_quantile_key():
    assert [S.quantile_key(q) for q in S.QUANTILES] == ["p50", "p90", "p95", "p99", "p99_9"]
    assert S.quantile_key(0.25) == "p25"


# ---------------------------------------------------------------- order-statistic intervals


@pytest.mark.parametrize(
    "n,q,c", [(200, 0.5, 0.95), (1000, 0.99, 0.95), (50, 0.9, 0.9), (6, 0.5, 0.95)]
)
def test_quantile_ci_ranks_against_binomial(n, q, c):
    x = _rng(2).exponential(size=n)
    est = S.quantile_ci(x, q, c)
    xs = np.sort(x)
    assert est.value == np.quantile(x, q)
    lo = int(np.flatnonzero(xs == est.low)[0]) + 1  # 1-based ranks
    up = int(np.flatnonzero(xs == est.high)[0]) + 1
    half = (1 - c) / 2
    # each tail holds at most alpha/2 ...
    assert sps.binom.cdf(lo - 1, n, q) <= half + 1e-12
    assert sps.binom.sf(up - 1, n, q) <= half + 1e-12
    # ... and the interval is the shortest such equal-tailed one
    if lo < n:
        assert sps.binom.cdf(lo, n, q) > half
    assert sps.binom.sf(up - 2, n, q) > half
    coverage = sps.binom.cdf(up - 1, n, q) - sps.binom.cdf(lo - 1, n, q)
    assert coverage >= c
    assert "order-statistic" in est.method


def test_quantile_ci_coverage_by_simulation():
    # 2000 replicates of n=200 exponential samples: the 95% median interval must cover ln 2
    # in 93-97% of them (its exact binomial coverage is 95.996%, SE of the estimate ~0.4%).
    rng = _rng(20240601)
    data = rng.exponential(size=(2000, 200))
    true_median = math.log(2.0)
    hits = sum(e.low <= true_median <= e.high for e in (S.quantile_ci(row, 0.5) for row in data))
    assert 0.93 <= hits / len(data) <= 0.97
    # and p90 (true value ln 10), same check
    true_p90 = math.log(10.0)
    hits90 = sum(e.low <= true_p90 <= e.high for e in (S.quantile_ci(row, 0.9) for row in data))
    assert 0.93 <= hits90 / len(data) <= 0.98  # exact coverage 96.7%


def test_quantile_ci_nan_when_too_few_samples():
    need = S.min_samples_for_quantile_ci(0.99)
    assert need == 368
    x = _rng(3).exponential(size=need - 1)
    est = S.quantile_ci(x, 0.99)
    assert math.isnan(est.low) and math.isnan(est.high)
    assert est.value == np.quantile(x, 0.99)
    assert "not computable" in est.method and "368" in est.method
    assert S.relative_halfwidth(est) == math.inf
    ok = S.quantile_ci(_rng(3).exponential(size=need), 0.99)
    assert ok.has_interval


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("c", [0.9, 0.95, 0.99])
def test_min_samples_is_the_exact_threshold(q, c):
    n = S.min_samples_for_quantile_ci(q, c)
    half = (1 - c) / 2
    # exists at n: both extreme tails within alpha/2; not at n - 1
    assert max(q, 1 - q) ** n <= half < max(q, 1 - q) ** (n - 1)
    assert estimates._order_stat_ranks(n, q, c) is not None
    assert estimates._order_stat_ranks(n - 1, q, c) is None


def test_known_minimum_sample_counts():
    assert [S.min_samples_for_quantile_ci(q) for q in S.QUANTILES] == [6, 36, 72, 368, 3688]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.001, 1e3, allow_nan=False), min_size=1, max_size=400),
    st.sampled_from([0.5, 0.9, 0.99]),
)
def test_interval_brackets_the_point_estimate(values, q):
    est = S.quantile_ci(values, q)
    if est.has_interval:
        assert est.low <= est.value <= est.high
    else:
        assert len(values) < S.min_samples_for_quantile_ci(q)


# ---------------------------------------------------------------- mean


def test_mean_ci_matches_scipy_t_interval():
    x = _rng(4).normal(10, 2, size=73)
    est = S.mean_ci(x, 0.9)
    lo, hi = sps.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert est.value == pytest.approx(x.mean())
    assert (est.low, est.high) == pytest.approx((lo, hi), rel=1e-12)
    one = S.mean_ci([3.0])
    assert one.value == 3.0 and math.isnan(one.low) and "not computable" in one.method


# ---------------------------------------------------------------- summary


def test_summarize_matches_numpy_scipy():
    x = _rng(5).lognormal(0, 0.5, size=5000)
    s = S.summarize(x)
    assert s.n == 5000
    assert s.median.value == np.median(x)
    assert s.mad == pytest.approx(sps.median_abs_deviation(x))  # unscaled
    assert s.std == pytest.approx(np.std(x, ddof=1))
    assert s.cv == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert s.iqr == pytest.approx(sps.iqr(x))
    assert (s.min, s.max) == (x.min(), x.max())
    assert set(s.quantiles) == set(S.QUANTILES)
    for q, est in s.quantiles.items():
        assert est.value == pytest.approx(np.quantile(x, q))
    assert s.quantiles[0.999].has_interval  # 5000 >= 3688
    assert s.mean.low < s.mean.value < s.mean.high


def test_tukey_outlier_counts():
    # quartiles of 0..100 are 25 and 75, IQR 50: inner fences -50/150, outer fences -75/175
    x = np.concatenate([np.arange(101.0), [160.0, -60.0, 200.0]])
    s = S.summarize(x)
    q25, q75 = np.quantile(x, [0.25, 0.75])
    iqr = q75 - q25
    severe = np.sum((x < q25 - 3 * iqr) | (x > q75 + 3 * iqr))
    beyond_inner = np.sum((x < q25 - 1.5 * iqr) | (x > q75 + 1.5 * iqr))
    assert s.outliers_severe == severe
    assert s.outliers_mild == beyond_inner - severe
    assert s.outliers_mild >= 1


def test_summary_to_dict_is_flat_and_strict_json():
    s = S.summarize(_rng(6).exponential(size=100))
    d = s.to_dict()
    json.dumps(d, allow_nan=False)  # nan became None
    for key in ("n", "mean", "median", "median_low", "median_high", "p50", "p90", "p99", "p99_low",
                "p99_high", "p99_9", "std", "mad", "cv", "iqr", "min", "max", "outliers_mild",
                "outliers_severe", "confidence", "quantile_method"):
        assert key in d
    assert d["p99_low"] is None and "not computable" in d["p99_method"]
    assert d["median"] == s.median.value
    assert all(not isinstance(v, (dict, list)) for v in d.values())


# ---------------------------------------------------------------- warnings


def _summary_with(iqr_share: float, n: int = 1000) -> S.Summary:
    x = 1.0 + iqr_share * (np.arange(n) / (n - 1) - 0.5) * 2  # uniform on [1-s, 1+s]: IQR = s
    return S.summarize(x)


def test_stability_warnings_rules():
    quiet = _summary_with(0.05)
    assert S.stability_warnings(quiet) == []
    noisy = S.stability_warnings(_summary_with(0.3))
    assert len(noisy) == 1 and "interquartile" in noisy[0]
    load = S.stability_warnings(quiet, load_before=0.2, load_after=1.5, n_cores=2)
    assert len(load) == 1 and "load average" in load[0]
    assert S.stability_warnings(quiet, load_before=0.2, load_after=1.1, n_cores=2) == []
    few = S.stability_warnings(_summary_with(0.05, n=100))
    assert len(few) == 1 and "p99" in few[0] and "368" in few[0]
    x = np.concatenate([np.full(980, 1.0) + _rng(7).normal(0, 0.01, 980), np.full(20, 5.0)])
    out = S.stability_warnings(S.summarize(x))
    assert any("severe outliers" in w for w in out)


# ---------------------------------------------------------------- comparisons


def test_compare_identical_distributions_not_significant():
    rng = _rng(8)
    a, b = rng.lognormal(0, 0.2, 1000), rng.lognormal(0, 0.2, 1000)
    c = S.compare(a, b)
    assert not c.significant
    assert c.ratio_median.low <= 1.0 <= c.ratio_median.high
    assert c.p_value == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    same = S.compare(a, a)
    assert same.ratio_median.value == 1.0 and not same.significant
    flat = S.compare(np.ones(50), np.ones(50))
    assert flat.p_value == 1.0 and not flat.significant


def test_compare_detects_ten_percent_shift():
    rng = _rng(9)
    a = rng.lognormal(0, 0.2, 1000)
    b = 1.1 * rng.lognormal(0, 0.2, 1000)
    c = S.compare(a, b)
    assert c.significant and c.p_value < 1e-6
    assert c.ratio_median.value == pytest.approx(1.1, abs=0.03)
    assert c.ratio_median.low < 1.1 < c.ratio_median.high
    assert set(c.ratios) == {0.5, 0.9, 0.99}
    assert c.ratios[0.99].has_interval and c.ratios[0.9].low > 1.0
    assert "Mann-Whitney" in c.test
    json.dumps(c.to_dict(), allow_nan=False)


def test_compare_is_deterministic_and_seeded():
    rng = _rng(10)
    a, b = rng.exponential(size=500), rng.exponential(size=500)
    assert S.compare(a, b, seed=3) == S.compare(a, b, seed=3)
    assert S.compare(a, b, seed=3).ratio_median.low != S.compare(a, b, seed=4).ratio_median.low


def test_compare_no_tail_interval_from_few_samples():
    rng = _rng(11)
    c = S.compare(rng.exponential(size=100), rng.exponential(size=100))
    assert c.ratios[0.5].has_interval
    assert not c.ratios[0.99].has_interval and "not computable" in c.ratios[0.99].method


@pytest.mark.parametrize("n,q", [(60, 0.5), (400, 0.99), (41, 0.9)])
def test_order_statistic_bootstrap_equals_index_resampling(n, q):
    # the vectorised bootstrap draws exactly the distribution of np.quantile(x[idx], q) with idx
    # uniform indices; check against the naive (n_boot, n) resampling with a two-sample KS test.
    x = np.sort(_rng(12).exponential(size=n))
    fast = S._boot_quantile(x, q, 4000, _rng(13))
    naive = np.quantile(x[_rng(14).integers(0, n, size=(4000, n))], q, axis=1)
    assert sps.ks_2samp(fast, naive).pvalue > 0.01
    tails = [0.025, 0.975]
    assert np.quantile(fast, tails) == pytest.approx(np.quantile(naive, tails), rel=0.05)


def test_holm_bonferroni_by_hand():
    # sorted: 0.005 <= .05/4, 0.01 <= .05/3, 0.03 > .05/2 -> stop
    assert S.holm_bonferroni([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert S.holm_bonferroni([0.01, 0.02, 0.03], alpha=0.1) == [True, True, True]
    assert S.holm_bonferroni([0.2, float("nan"), 0.001]) == [False, False, True]
    assert S.holm_bonferroni([]) == []
    with pytest.raises(DataError, match="p_values"):
        S.holm_bonferroni([1.5])


# ---------------------------------------------------------------- adaptive stopping


def test_precision_reached_false_for_few_or_noisy_samples():
    done, widths = S.precision_reached(_rng(15).normal(1.0, 0.001, 100))
    assert not done and widths[0.99] == math.inf and widths[0.5] < 0.05
    noisy = _rng(16).pareto(1.5, 2000) + 1.0
    done, widths = S.precision_reached(noisy)
    assert not done and 0.05 < widths[0.99] < math.inf
    assert S.precision_reached([]) == (False, {0.5: math.inf, 0.99: math.inf})


def test_precision_reached_true_for_many_tight_samples():
    x = _rng(17).normal(1.0, 0.01, 2000)
    done, widths = S.precision_reached(x)
    assert done and all(w <= 0.05 for w in widths.values())
    # the widths are those of quantile_ci
    for q, w in widths.items():
        assert w == pytest.approx(S.relative_halfwidth(S.quantile_ci(x, q)), rel=1e-9)
    done_tight, _ = S.precision_reached(x, rel_tol=1e-4)
    assert not done_tight


# ---------------------------------------------------------------- small helpers and errors


def test_relative_halfwidth():
    assert S.relative_halfwidth(S.Estimate(10.0, 9.0, 10.5, "m")) == pytest.approx(0.1)
    assert S.relative_halfwidth(S.Estimate(10.0, float("nan"), 11.0, "m")) == math.inf
    assert S.relative_halfwidth(S.Estimate(0.0, 0.0, 0.0, "m")) == 0.0


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: S.summarize([]), DataError, "samples"),
        (lambda: S.quantile([1.0, float("nan")], 0.5), DataError, "finite"),
        (lambda: S.quantile([1.0], 1.5), ConfigError, r"^q: expected a number in \[0, 1\], got 1\.5$"),
        (lambda: S.quantile_ci([1.0, 2.0], 1.0), ConfigError, r"^q: expected a number in \(0, 1\), got 1\.0$"),
        (lambda: S.mean_ci([1.0, 2.0], confidence=95), ConfigError, r"^confidence: expected a number in \(0, 1\), got 95$"),
        (lambda: S.compare([1.0], [2.0], alpha=0), ConfigError, r"^alpha: expected a number in \(0, 1\), got 0$"),
        (lambda: S.compare([1.0], [2.0], n_boot=10), ConfigError, r"^n_boot: expected a whole number >= 100, got 10$"),
        (lambda: S.compare([1.0], [2.0], n_boot=True), ConfigError, r"^n_boot: expected a whole number >= 100, got True$"),
        (lambda: S.compare([], [2.0]), DataError, "a:"),
        (lambda: S.precision_reached([1.0], rel_tol=0), ConfigError, r"^rel_tol: expected a number > 0, got 0$"),
        (lambda: S.min_samples_for_quantile_ci(0.0), ConfigError, r"^q: expected a number in \(0, 1\), got 0\.0$"),
    ],
)
def test_bad_input_raises_one_line_errors(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_trigamma_inverse_inverts_trigamma():
    from scipy.special import polygamma

    from effbench.analysis.stats import trigamma_inverse

    for y in (0.01, 0.3, 1.0, 2.5, 40.0, 5000.0):
        assert trigamma_inverse(float(polygamma(1, y))) == pytest.approx(y, rel=1e-6)
    with pytest.raises(DataError, match="positive"):
        trigamma_inverse(0.0)


def test_fit_variance_prior_recovers_a_scaled_inverse_chi_square_prior():
    from effbench.analysis.stats import fit_variance_prior, moderated_variances

    rng = np.random.default_rng(0)
    d0, s0_sq, d = 6.0, 0.01, 4
    true_var = s0_sq * d0 / rng.chisquare(d0, 20_000)
    s2 = true_var * rng.chisquare(d, true_var.size) / d
    fit_d0, fit_s0_sq = fit_variance_prior(s2, d)
    assert fit_d0 == pytest.approx(d0, rel=0.15) and fit_s0_sq == pytest.approx(s0_sq, rel=0.05)
    # the posterior variance lies between the cell's own and the prior's, on d0 + d degrees of freedom
    post, df = moderated_variances(s2[:3], d, fit_d0, fit_s0_sq)
    assert np.all((post - s2[:3]) * (post - fit_s0_sq) <= 0) and np.allclose(df, fit_d0 + d)
    # one common variance: the spread is sampling alone, d0 is infinite and every posterior is s0^2
    same = 0.04 * rng.chisquare(d, 5000) / d
    inf_d0, common = fit_variance_prior(same, d)
    assert math.isinf(inf_d0) or inf_d0 > 200
    assert common == pytest.approx(0.04, rel=0.05)
    post, df = moderated_variances([0.5, 0.001], d, math.inf, 0.04)
    assert np.allclose(post, 0.04) and np.all(np.isinf(df))
    with pytest.raises(DataError, match="at least 2"):
        fit_variance_prior([0.0, 1.0], 4)
