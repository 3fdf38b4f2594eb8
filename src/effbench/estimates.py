"""Point and interval estimates of raw samples: the statistics the measurement protocol needs.

The timing protocol's stopping rule (:func:`precision_reached`) and every analysis use the same
estimators, so they live here, below both ``effbench.measure`` and ``effbench.analysis``
(:mod:`effbench.analysis.stats` re-exports them). Pure: arrays in, numbers out.

* Quantile point estimates use numpy's default ``method="linear"`` (Hyndman & Fan type 7).
* Quantile intervals are distribution-free, equal-tailed order-statistic intervals from the
  binomial distribution (Conover 1999, sec. 3.2; Hahn & Meeker 1991).
* The mean interval is Student's t interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.validation import Interval, check

QUANTILE_METHOD = "linear"
"""numpy's quantile method used for every point estimate in effbench (Hyndman & Fan type 7)."""

ORDER_STAT_METHOD = "order-statistic binomial interval (distribution-free, equal-tailed)"
MEAN_METHOD = "Student t interval"

NAN = float("nan")

@dataclass(frozen=True)
class Estimate:
    """A point value with its confidence interval; ``low``/``high`` are nan when not computable."""

    value: float
    low: float
    high: float
    method: str

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


STOP_MAX_TIME_SHORT = "max_time_before_min_samples"
"""The stop reason of a time window that reached ``max_time_s`` before ``min_samples`` samples
(the time bound wins over the minimum count; see :mod:`effbench.measure.timer`)."""


def _as_samples(samples, name: str = "samples") -> np.ndarray:
    """1-D float64 array of finite values, at least one."""
    try:
        x = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        got = type(samples).__name__
        raise DataError(f"{name}: must be a sequence of numbers, got {got}") from exc
    x = x.reshape(-1) if x.ndim != 1 else x
    if x.size == 0:
        raise DataError(f"{name}: need at least 1 value, got 0")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise DataError(f"{name}: values must be finite, got {bad} nan/inf of {x.size}")
    return x


_PROBABILITY = Interval(float, 0, 1)
_OPEN_PROBABILITY = Interval(float, 0, 1, closed="neither")


def _check_q(q, name: str = "q", *, open_interval: bool = False) -> float:
    return check(name, q, _OPEN_PROBABILITY if open_interval else _PROBABILITY)


def _check_confidence(confidence, name: str = "confidence") -> float:
    """A probability strictly inside (0, 1) (confidence levels, alpha)."""
    return check(name, confidence, _OPEN_PROBABILITY)


def quantile(samples, q: float) -> float:
    """Point estimate of the ``q`` quantile: ``numpy.quantile(samples, q, method="linear")``."""
    qf = _check_q(q)
    x = _as_samples(samples)
    return float(np.quantile(x, qf, method=QUANTILE_METHOD))


def min_samples_for_quantile_ci(q: float, confidence: float = 0.95) -> int:
    """Smallest ``n`` for which the equal-tailed order-statistic interval of ``q`` exists.

    The interval ``[X_(l), X_(u)]`` needs ``l >= 1`` and ``u <= n``, i.e.
    ``(1 - q)**n <= alpha/2`` and ``q**n <= alpha/2``:
    ``n = ceil(log(alpha/2) / log(max(q, 1 - q)))``: at 95% confidence 6 for the median,
    36 for p90, 72 for p95, 368 for p99 and 3688 for p99.9.
    """
    qf = _check_q(q, open_interval=True)
    c = _check_confidence(confidence)
    return _min_n(qf, c)


@lru_cache(maxsize=1024)
def _min_n(q: float, c: float) -> int:
    half = (1.0 - c) / 2.0
    base = max(q, 1.0 - q)
    n = max(1, math.ceil(math.log(half) / math.log(base)))
    # guard against rounding at the boundary: make it the exact smallest n with base**n <= half
    while n > 1 and base ** (n - 1) <= half:
        n -= 1
    while base**n > half:
        n += 1
    return n


@lru_cache(maxsize=8192)
def _order_stat_ranks(n: int, q: float, c: float) -> tuple[int, int] | None:
    """1-based ranks ``(l, u)`` of the equal-tailed order-statistic interval, or None.

    ``l`` is the largest rank with ``P(B <= l-1) <= alpha/2`` and ``u`` the smallest with
    ``P(B >= u) <= alpha/2``, ``B ~ Binomial(n, q)``; coverage ``P(l <= B <= u-1) >= c``.
    """
    if n < _min_n(q, c):
        return None
    from scipy.stats import binom

    half = (1.0 - c) / 2.0
    k = int(binom.ppf(half, n, q))  # smallest k with cdf(k) >= half
    # largest j with cdf(j) <= half is k if cdf(k) == half (within rounding) else k - 1; l = j + 1
    if binom.cdf(k, n, q) <= half:
        lo = k + 1
    else:
        lo = k
    while lo > 1 and binom.cdf(lo - 1, n, q) > half:  # defensive: rounding in ppf
        lo -= 1
    m = int(binom.ppf(1.0 - half, n, q))  # smallest m with cdf(m) >= 1 - half  ->  u = m + 1
    up = m + 1
    while up <= n and binom.sf(up - 1, n, q) > half:  # defensive: P(B >= up) must be <= half
        up += 1
    if lo < 1 or up > n:
        return None
    return lo, up


def _no_interval_method(n: int, q: float, c: float) -> str:
    return (
        f"{ORDER_STAT_METHOD}: not computable, n={n} < {_min_n(q, c)} samples needed "
        f"for q={q:g} at {c:.0%} confidence"
    )


def quantile_ci(samples, q: float, confidence: float = 0.95) -> Estimate:
    """The ``q`` quantile with its distribution-free order-statistic confidence interval.

    Value: :func:`quantile` (numpy ``linear``). Interval: ``[X_(l), X_(u)]`` from the binomial
    distribution (see module docstring); nan bounds, and a method saying so, when ``n`` is below
    :func:`min_samples_for_quantile_ci`. O(n) (``np.partition``).
    """
    qf = _check_q(q, open_interval=True)
    c = _check_confidence(confidence)
    x = _as_samples(samples)
    n = x.size
    ranks = _order_stat_ranks(n, qf, c)
    value = float(np.quantile(x, qf, method=QUANTILE_METHOD))
    if ranks is None:
        return Estimate(value, NAN, NAN, _no_interval_method(n, qf, c))
    lo, up = ranks
    part = np.partition(x, (lo - 1, up - 1))
    return Estimate(value, float(part[lo - 1]), float(part[up - 1]), ORDER_STAT_METHOD)


def mean_ci(samples, confidence: float = 0.95) -> Estimate:
    """The mean with Student's t interval ``mean +- t(1-alpha/2, n-1) * s / sqrt(n)``.

    nan bounds when ``n < 2``. Assumes iid samples; for heavy-tailed latencies prefer the
    median and quantile intervals, which do not assume normality.
    """
    c = _check_confidence(confidence)
    x = _as_samples(samples)
    n = x.size
    m = float(np.mean(x))
    if n < 2:
        return Estimate(m, NAN, NAN, f"{MEAN_METHOD}: not computable, n={n} < 2 samples")
    from scipy.stats import t

    s = float(np.std(x, ddof=1))
    half = float(t.ppf(0.5 + c / 2.0, n - 1)) * s / math.sqrt(n)
    return Estimate(m, m - half, m + half, MEAN_METHOD)


def relative_halfwidth(est: Estimate) -> float:
    """``max(value - low, high - value) / |value|``; inf when a bound is nan or value is 0."""
    if not (math.isfinite(est.value) and math.isfinite(est.low) and math.isfinite(est.high)):
        return math.inf
    half = max(est.value - est.low, est.high - est.value)
    if est.value == 0.0:
        return 0.0 if half == 0.0 else math.inf
    return half / abs(est.value)


def precision_reached(
    samples,
    *,
    rel_tol: float = 0.05,
    quantiles: Sequence[float] = (0.5, 0.99),
    confidence: float = 0.95,
) -> tuple[bool, dict[float, float]]:
    """Whether every requested quantile is known to within ``rel_tol`` (relative half-width).

    For each ``q`` the order-statistic interval must exist (enough samples) and
    ``max(value - low, high - value) / value <= rel_tol``. Returns ``(done, {q: half-width})``
    with ``inf`` where not computable. One ``np.partition`` over all needed ranks: O(n) per call.
    """
    check("rel_tol", rel_tol, Interval(float, 0, None, closed="neither"))
    c = _check_confidence(confidence)
    qs = [_check_q(q, "quantiles", open_interval=True) for q in quantiles]
    if not qs:
        raise ConfigError("quantiles: need at least one quantile, got none")
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    n = x.size
    widths: dict[float, float] = {q: math.inf for q in qs}
    if n == 0:
        return False, widths
    if not np.all(np.isfinite(x)):
        raise DataError("samples: values must be finite, got nan/inf")
    plans = []
    kth: set[int] = set()
    for q in qs:
        ranks = _order_stat_ranks(n, q, c)
        if ranks is None:
            continue
        h = (n - 1) * q
        i0 = int(math.floor(h))
        i1 = min(i0 + 1, n - 1)
        plans.append((q, h - i0, i0, i1, ranks[0] - 1, ranks[1] - 1))
        kth.update((i0, i1, ranks[0] - 1, ranks[1] - 1))
    if plans:
        part = np.partition(x, sorted(kth))
        for q, frac, i0, i1, il, iu in plans:
            value = part[i0] + frac * (part[i1] - part[i0])
            est = Estimate(float(value), float(part[il]), float(part[iu]), ORDER_STAT_METHOD)
            widths[q] = relative_halfwidth(est)
    done = all(w <= rel_tol for w in widths.values())
    return done, widths

