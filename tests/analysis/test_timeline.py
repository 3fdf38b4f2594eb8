"""effbench.analysis.timeline: fitted rates on synthetic tables with a known rate, the interval's
coverage over seeds, invariants, the verdict, and the refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from effbench.analysis.timeline import CANNOT_TELL, FASTER, SLOWER, fit_trend, timeline
from effbench.errors import ConfigError, DataError

YEARS = np.arange(2012, 2024, dtype=float)


def _table(seed, *, cost_rate=0.38, quality_rate=0.02, cost_sd=0.3, quality_sd=0.02, per_year=2):
    rng = np.random.default_rng(seed)
    years = np.repeat(YEARS, per_year)
    t = years - years[0]
    cost = 5e6 * (1 + cost_rate) ** t * np.exp(rng.normal(0, cost_sd, years.size))
    quality = 60 * (1 + quality_rate) ** t * np.exp(rng.normal(0, quality_sd, years.size))
    return years, {"params": cost, "top1": quality}


def test_exact_data_gives_the_rate_and_a_zero_width_interval():
    values = 3.0 * 1.38 ** (YEARS - 2012)
    t = fit_trend(YEARS, values, column="params")
    assert t.rate == pytest.approx(0.38, rel=1e-12)
    assert t.rate_low == pytest.approx(0.38, rel=1e-9) and t.rate_high == pytest.approx(0.38, rel=1e-9)
    assert t.fitted([2012, 2013]) == pytest.approx([3.0, 3.0 * 1.38])
    assert t.r_squared == pytest.approx(1.0)


def test_known_slope_and_interval_by_hand():
    # ln y = 0, 1, 3 at x = 0, 1, 2: slope 1.5, residuals -1/6, 1/3, -1/6, s^2 = (1/6)/1, se = s / sqrt(2)
    t = fit_trend([0, 1, 2], np.exp([0.0, 1.0, 3.0]), confidence=0.95)
    se = math.sqrt(1 / 6) / math.sqrt(2)
    t975 = 12.706204736174698  # scipy.stats.t.ppf(0.975, 1)
    assert t.slope == pytest.approx(1.5)
    assert (t.slope_low, t.slope_high) == pytest.approx((1.5 - t975 * se, 1.5 + t975 * se))
    assert t.rate == pytest.approx(math.exp(1.5) - 1)


def test_noisy_table_recovers_the_known_rates():
    years, cols = _table(0)
    tl = timeline(years, cols, quality="top1", costs=["params"])
    assert tl.costs[0].rate_low < 0.38 < tl.costs[0].rate_high
    assert tl.costs[0].rate == pytest.approx(0.38, abs=0.05)
    assert tl.quality.rate == pytest.approx(0.02, abs=0.005)
    assert tl.comparisons[0].verdict == FASTER
    # the comparison is the trend of cost / quality: its slope is the difference of the two slopes
    assert tl.comparisons[0].ratio.slope == pytest.approx(tl.costs[0].slope - tl.quality.slope)


def test_interval_coverage_over_seeds_is_close_to_the_confidence():
    true = math.log(1.38)
    covered = 0
    seeds = 1000
    for seed in range(seeds):
        years, cols = _table(seed, per_year=1)
        t = fit_trend(years, cols["params"], confidence=0.95)
        covered += t.slope_low <= true <= t.slope_high
    # binomial sd at 95 % over 1000 seeds: 0.7 points; +-3 sd
    assert 0.93 <= covered / seeds <= 0.97


def test_verdicts():
    years, cols = _table(3, cost_rate=0.01, quality_rate=0.30, quality_sd=0.05)
    assert timeline(years, cols, quality="top1", costs=["params"]).comparisons[0].verdict == SLOWER
    years, cols = _table(4, cost_rate=0.02, quality_rate=0.02, cost_sd=0.5)
    assert timeline(years, cols, quality="top1", costs=["params"]).comparisons[0].verdict == CANNOT_TELL


@settings(max_examples=60, deadline=None, derandomize=True)
@given(scale=st.floats(1e-6, 1e6), shift=st.integers(-3000, 3000), seed=st.integers(0, 2**31))
def test_rescaling_costs_and_shifting_years_change_no_rate(scale, shift, seed):
    years, cols = _table(seed, per_year=1)
    a = timeline(years, cols, quality="top1", costs=["params"])
    b = timeline(years + shift, {"params": cols["params"] * scale, "top1": cols["top1"]}, quality="top1", costs=["params"])
    for x, y in ((a.costs[0], b.costs[0]), (a.comparisons[0].ratio, b.comparisons[0].ratio)):
        assert (y.slope, y.slope_low, y.slope_high) == pytest.approx((x.slope, x.slope_low, x.slope_high), rel=1e-6, abs=1e-9)
    assert a.comparisons[0].verdict == b.comparisons[0].verdict


def test_several_costs_each_get_a_trend_and_a_comparison():
    years, cols = _table(5)
    cols["gflops"] = cols["params"] ** 0.5
    tl = timeline(years, cols, quality="top1", costs=["params", "gflops"])
    assert [t.column for t in tl.costs] == ["params", "gflops"]
    assert tl.costs[1].slope == pytest.approx(tl.costs[0].slope / 2)
    doc = tl.to_dict()
    assert doc["schema"] == "effbench.timeline/1" and len(doc["comparisons"]) == 2
    assert doc["rows_used"] == years.size and doc["costs"][0]["rate_per_year"] == pytest.approx(tl.costs[0].rate)


@pytest.mark.parametrize("years, values, message", [
    ([2012, 2013], [1, 2], "at least 3"),
    ([2019, 2019, 2019], [1, 2, 3], "same year (2019)"),
    ([2012, 2013, 2014], [1, 0, 3], "column 'c': row 2 has 0, not positive (1 row(s) in all); a log-linear trend needs values > 0"),
    ([2012, 2013, 2014], [1, -2, 3], "row 2 has -2, not positive"),
])
def test_refusals_name_what_is_wrong(years, values, message):
    with pytest.raises(DataError) as err:
        timeline(years, {"c": values, "q": [1, 1, 1][: len(years)]}, quality="q", costs=["c"])
    assert message in str(err.value)


def test_fewer_rows_counts_the_dropped_ones():
    with pytest.raises(DataError, match=r"only 2 usable row\(s\) \(4 dropped for missing values\); a trend needs at least 3"):
        timeline([2012, 2013], {"c": [1, 2], "q": [1, 1]}, quality="q", costs=["c"], dropped=[("x", "missing")] * 4)


def test_config_errors():
    with pytest.raises(ConfigError, match="at least one cost"):
        timeline(YEARS, {"q": YEARS}, quality="q", costs=[])
    with pytest.raises(ConfigError, match="'nope' is not in the table; columns: q"):
        timeline(YEARS, {"q": YEARS}, quality="q", costs=["nope"])
    with pytest.raises(ConfigError, match="once"):
        timeline(YEARS, {"q": YEARS}, quality="q", costs=["q"])
