"""Statistics of latency samples and comparisons of runs (pure: arrays in, results out).

No I/O, no clock, no printing. Every interval states its method in ``Estimate.method``; when an
interval cannot be computed honestly (too few samples), its bounds are ``nan`` and the method
says why. See ``docs/statistics.md`` for the methods and their references.

Conventions used everywhere in this module:

* Quantile point estimates use numpy's default ``method="linear"`` (Hyndman & Fan type 7:
  ``h = (n - 1) q``, linear interpolation between the order statistics around ``h``).
* Quantile intervals are distribution-free, equal-tailed order-statistic intervals from the
  binomial distribution (Conover, *Practical Nonparametric Statistics*, 3rd ed., 1999, sec. 3.2;
  Hahn & Meeker, *Statistical Intervals*, 1991): ``[X_(l), X_(u)]`` with
  ``P(B <= l - 1) <= alpha/2`` and ``P(B >= u) <= alpha/2`` for ``B ~ Binomial(n, q)``, so
  coverage is at least ``confidence`` for any continuous distribution of iid samples.
* The mean interval is Student's t interval.
* Run comparisons use a seeded percentile bootstrap of quantile ratios and the two-sided
  Mann-Whitney U test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from effbench.errors import DataError
from effbench.estimates import (  # the estimators the measurement protocol also uses live one layer down
    NAN,
    QUANTILE_METHOD,
    Estimate,
    _as_samples,
    _check_confidence,
    _check_q,
    _min_n,
    mean_ci,
    min_samples_for_quantile_ci,
    precision_reached,
    quantile,
    quantile_ci,
    relative_halfwidth,
)
from effbench.validation import Interval, check, check_seed

__all__ = [
    "QUANTILES",
    "QUANTILE_METHOD",
    "Estimate",
    "Summary",
    "Comparison",
    "quantile",
    "quantile_key",
    "quantile_ci",
    "mean_ci",
    "summarize",
    "relative_halfwidth",
    "stability_warnings",
    "compare",
    "holm_bonferroni",
    "precision_reached",
    "min_samples_for_quantile_ci",
    "trigamma_inverse",
    "fit_variance_prior",
    "moderated_variances",
]

QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99, 0.999)
"""Quantiles reported by :func:`summarize`."""

BOOT_METHOD = "percentile bootstrap of the ratio (exact order-statistic resampling)"
MWU_TEST = "Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu, method='auto')"



# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------



@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one sample of latencies (or any positive quantity).

    * ``std`` is the sample standard deviation (``ddof=1``; nan when ``n < 2``).
    * ``mad`` is the *unscaled* median absolute deviation ``median(|x - median(x)|)``, as
      ``scipy.stats.median_abs_deviation(x, scale=1.0)``; multiply by 1.4826 to estimate a
      normal standard deviation.
    * ``cv`` is ``std / mean``.
    * ``iqr`` is ``p75 - p25`` (linear quantiles).
    * Outliers use Tukey's fences: ``outliers_mild`` counts points beyond 1.5 IQR from the
      quartiles but within 3 IQR; ``outliers_severe`` counts points beyond 3 IQR. The two counts
      do not overlap.
    """

    n: int
    mean: Estimate
    median: Estimate
    quantiles: dict[float, Estimate]
    std: float
    mad: float
    cv: float
    iqr: float
    min: float
    max: float
    outliers_mild: int
    outliers_severe: int
    confidence: float

    def to_dict(self) -> dict:
        """A flat, JSON-ready dict (non-finite floats become ``None``).

        Each estimate ``k`` gives ``k``, ``k_low``, ``k_high`` and ``k_method``; quantiles use the
        keys of :func:`quantile_key` (``p50``, ``p90``, ``p95``, ``p99``, ``p99_9``).
        """
        out: dict = {"n": int(self.n), "confidence": _json_float(self.confidence)}
        _flatten_estimate(out, "mean", self.mean)
        _flatten_estimate(out, "median", self.median)
        for q in sorted(self.quantiles):
            _flatten_estimate(out, quantile_key(q), self.quantiles[q])
        out["quantile_method"] = QUANTILE_METHOD
        for name in ("std", "mad", "cv", "iqr", "min", "max"):
            out[name] = _json_float(getattr(self, name))
        out["outliers_mild"] = int(self.outliers_mild)
        out["outliers_severe"] = int(self.outliers_severe)
        return out


@dataclass(frozen=True)
class Comparison:
    """B relative to A: ratios > 1 mean B is slower (for latencies).

    ``significant`` is ``p_value < alpha`` AND the ``1 - alpha`` interval of the median ratio
    excludes 1 (so a tiny but "significant" shift of the whole distribution without a
    clear median change is not flagged, nor is a median change the test does not support).
    """

    ratio_median: Estimate
    ratios: dict[float, Estimate]
    p_value: float
    test: str
    significant: bool
    alpha: float
    n_a: int = 0
    n_b: int = 0

    def to_dict(self) -> dict:
        """A flat, JSON-ready dict: ``ratio_p50``, ``ratio_p50_low``, ..., ``p_value``, ..."""
        out: dict = {}
        for q in sorted(self.ratios):
            _flatten_estimate(out, "ratio_" + quantile_key(q), self.ratios[q])
        out.update(
            p_value=_json_float(self.p_value),
            test=self.test,
            significant=bool(self.significant),
            alpha=_json_float(self.alpha),
            n_a=int(self.n_a),
            n_b=int(self.n_b),
        )
        return out


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


_NON_NEGATIVE = Interval(float, 0, None)


def _json_float(v: float):
    v = float(v)
    return v if math.isfinite(v) else None


def _flatten_estimate(out: dict, key: str, est: Estimate) -> None:
    out[key] = _json_float(est.value)
    out[key + "_low"] = _json_float(est.low)
    out[key + "_high"] = _json_float(est.high)
    out[key + "_method"] = est.method


def quantile_key(q: float) -> str:
    """Column/key name of a quantile: 0.5 -> ``p50``, 0.99 -> ``p99``, 0.999 -> ``p99_9``."""
    qf = _check_q(q)
    pct = f"{qf * 100:.6f}".rstrip("0").rstrip(".")
    return "p" + pct.replace(".", "_")


# --------------------------------------------------------------------------------------------
# quantiles and their order-statistic intervals
# --------------------------------------------------------------------------------------------



# --------------------------------------------------------------------------------------------
# summary and warnings
# --------------------------------------------------------------------------------------------


def summarize(samples, confidence: float = 0.95) -> Summary:
    """Every descriptive statistic of one sample, with intervals at ``confidence``."""
    c = _check_confidence(confidence)
    x = np.sort(_as_samples(samples))
    n = x.size
    quantiles = {q: quantile_ci(x, q, c) for q in QUANTILES}
    median = quantiles[0.5]
    q25, q75 = (float(v) for v in np.quantile(x, (0.25, 0.75), method=QUANTILE_METHOD))
    iqr = q75 - q25
    mean = mean_ci(x, c)
    std = float(np.std(x, ddof=1)) if n >= 2 else NAN
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = float(np.float64(std) / np.float64(mean.value)) if n >= 2 else NAN
    mad = float(np.median(np.abs(x - np.median(x))))
    inner_lo, inner_hi = q25 - 1.5 * iqr, q75 + 1.5 * iqr
    outer_lo, outer_hi = q25 - 3.0 * iqr, q75 + 3.0 * iqr
    beyond_inner = int(np.count_nonzero((x < inner_lo) | (x > inner_hi)))
    severe = int(np.count_nonzero((x < outer_lo) | (x > outer_hi)))
    return Summary(
        n=int(n),
        mean=mean,
        median=median,
        quantiles=quantiles,
        std=std,
        mad=mad,
        cv=cv,
        iqr=float(iqr),
        min=float(x[0]),
        max=float(x[-1]),
        outliers_mild=beyond_inner - severe,
        outliers_severe=severe,
        confidence=c,
    )


def stability_warnings(
    summary: Summary,
    *,
    iqr_threshold: float = 0.10,
    load_before: float | None = None,
    load_after: float | None = None,
    n_cores: int | None = None,
    load_change_threshold: float = 0.5,
    severe_outlier_share: float = 0.01,
) -> list[str]:
    """Human sentences about why a measurement may not be trustworthy (empty list if none).

    Rules:

    * noise: ``iqr > iqr_threshold * median``;
    * load: ``|load_after - load_before| > load_change_threshold * n_cores`` (1-minute load
      averages; ``n_cores`` defaults to 1 when unknown, which makes the rule stricter);
    * tail: fewer samples than :func:`min_samples_for_quantile_ci` needs for p99;
    * outliers: more than ``severe_outlier_share`` of samples beyond Tukey's outer fences (3 IQR).
    """
    iqr_threshold = check("iqr_threshold", iqr_threshold, _NON_NEGATIVE)
    load_change_threshold = check("load_change_threshold", load_change_threshold, _NON_NEGATIVE)
    n_cores = check("n_cores", n_cores, Interval(int, 1, None), None)
    out: list[str] = []
    med = summary.median.value
    if med > 0 and summary.iqr > iqr_threshold * med:
        out.append(
            f"Noisy measurement: the interquartile range is {summary.iqr / med:.1%} of the median "
            f"(warning above {iqr_threshold:.0%}); close other programs or pin the process "
            f"to cores."
        )
    if load_before is not None and load_after is not None:
        cores = 1 if n_cores is None else int(n_cores)
        limit = load_change_threshold * cores
        change = float(load_after) - float(load_before)
        if abs(change) > limit:
            out.append(
                f"The load average changed from {float(load_before):.2f} to "
                f"{float(load_after):.2f} "
                f"during the run (more than {load_change_threshold:g} x {cores} core"
                f"{'s' if cores != 1 else ''} = {limit:.2f}): other work competed for the machine."
            )
    need = _min_n(0.99, summary.confidence)
    if summary.n < need:
        out.append(
            f"Only {summary.n} samples: too few for a {summary.confidence:.0%} confidence interval "
            f"of p99 (needs at least {need}); tail figures are point estimates only."
        )
    if summary.n > 0 and summary.outliers_severe > severe_outlier_share * summary.n:
        out.append(
            f"{summary.outliers_severe} of {summary.n} samples "
            f"({summary.outliers_severe / summary.n:.1%}) are severe outliers (beyond 3 IQR): "
            f"interference or a bimodal cost (allocation, garbage collection, cache misses)."
        )
    return out


# --------------------------------------------------------------------------------------------
# adaptive stopping
# --------------------------------------------------------------------------------------------



# --------------------------------------------------------------------------------------------
# comparing two samples
# --------------------------------------------------------------------------------------------


def _boot_quantile(
    x_sorted: np.ndarray, q: float, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_boot`` bootstrap replicates of the linear ``q`` quantile of ``x_sorted``.

    Exactly the distribution of ``np.quantile(x[rng.integers(0, n, n)], q)``, drawn without
    materialising the (n_boot, n) resample: a resample is ``x_(ceil(n V_i))`` with iid uniform
    ``V_i``, a monotone map, so its k-th order statistic is ``x_(ceil(n V_(k)))`` with
    ``V_(k) ~ Beta(k, n-k+1)``, and ``V_(k+1) = V_(k) + (1 - V_(k)) Beta(1, n-k)``.
    Cost O(n_boot) after the sort, whatever n.
    """
    n = x_sorted.size
    h = (n - 1) * q
    k = int(math.floor(h)) + 1  # 1-based rank of the lower neighbour
    frac = h - (k - 1)
    v_k = rng.beta(k, n - k + 1, size=n_boot)
    i_k = np.clip(np.ceil(n * v_k).astype(np.int64), 1, n) - 1
    lo = x_sorted[i_k]
    if frac == 0.0 or k >= n:
        return lo
    v_k1 = v_k + (1.0 - v_k) * rng.beta(1, n - k, size=n_boot)
    i_k1 = np.clip(np.ceil(n * v_k1).astype(np.int64), 1, n) - 1
    hi = x_sorted[i_k1]
    return lo + frac * (hi - lo)


def _ratio_estimate(xa: np.ndarray, xb: np.ndarray, q: float, alpha: float, n_boot: int, rng) -> Estimate:
    """``quantile(b, q) / quantile(a, q)`` of sorted samples, with its percentile-bootstrap interval
    (NaN bounds, and why, when the samples are too few for the quantile or the ratio is undefined)."""
    c = 1.0 - alpha
    qa = float(np.quantile(xa, q, method=QUANTILE_METHOD))
    qb = float(np.quantile(xb, q, method=QUANTILE_METHOD))
    if qa <= 0.0:
        return Estimate(NAN, NAN, NAN, f"ratio undefined: the q={q:g} quantile of a is {qa:g} <= 0")
    value = qb / qa
    need = _min_n(q, c)
    if xa.size < need or xb.size < need:
        return Estimate(value, NAN, NAN, f"{BOOT_METHOD}: not computable, n_a={xa.size}, n_b={xb.size}, "
                                         f"need >= {need} each for q={q:g} at {c:.0%} confidence")
    ba = _boot_quantile(xa, q, n_boot, rng)
    bb = _boot_quantile(xb, q, n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = bb / ba
    r = r[np.isfinite(r)]
    if r.size < n_boot // 2:
        return Estimate(value, NAN, NAN, f"{BOOT_METHOD}: not computable, zero quantiles in resamples")
    low, high = np.quantile(r, (alpha / 2.0, 1.0 - alpha / 2.0))
    return Estimate(value, float(low), float(high), f"{BOOT_METHOD}, {n_boot} resamples")


def compare(
    a,
    b,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    quantiles: Sequence[float] = (0.5, 0.9, 0.99),
) -> Comparison:
    """Compare sample ``b`` with sample ``a`` (baseline): ratios of quantiles and a test.

    * ``ratios[q] = quantile(b, q) / quantile(a, q)`` with a ``1 - alpha`` percentile-bootstrap
      interval from ``n_boot`` seeded resamples of each sample independently (numpy Generator,
      ``seed``). The resampling is exact but vectorised through order statistics (see
      ``_boot_quantile``), so its cost does not grow with n. An interval is nan when either
      sample has fewer than :func:`min_samples_for_quantile_ci` ``(q, 1 - alpha)`` values: the
      bootstrap of a tail quantile from too few samples would pretend to a precision it lacks.
    * ``p_value``: two-sided Mann-Whitney U test (scipy), H0: P(A < B) = P(B < A).
    * ``significant``: ``p_value < alpha`` and the median-ratio interval excludes 1.

    Run it once per cell; over many cells, correct the p-values with :func:`holm_bonferroni`.
    """
    alpha_f = _check_confidence(alpha, "alpha")
    n_boot = check("n_boot", n_boot, Interval(int, 100, None))
    qs = [_check_q(q, "quantiles", open_interval=True) for q in quantiles]
    if 0.5 not in qs:
        qs = [0.5, *qs]
    xa = np.sort(_as_samples(a, "a"))
    xb = np.sort(_as_samples(b, "b"))
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    ratios = {q: _ratio_estimate(xa, xb, q, alpha_f, n_boot, rng) for q in qs}  # in order: the resamples share rng

    from scipy.stats import mannwhitneyu

    if np.ptp(np.concatenate((xa, xb))) == 0.0:
        p = 1.0  # all values equal: no evidence of any difference (scipy would return nan)
    else:
        p = float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
    med = ratios[0.5]
    excludes_one = med.has_interval and (med.low > 1.0 or med.high < 1.0)
    return Comparison(
        ratio_median=med,
        ratios=ratios,
        p_value=p,
        test=MWU_TEST,
        significant=bool(p < alpha_f and excludes_one),
        alpha=alpha_f,
        n_a=int(xa.size),
        n_b=int(xb.size),
    )


def holm_bonferroni(p_values: Iterable[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down procedure: which hypotheses to reject, controlling the family-wise error.

    Sort the m p-values ascending; reject ``p_(i)`` (i = 1..m) while
    ``p_(i) <= alpha / (m - i + 1)``
    and stop at the first that fails. Result in the input order. nan p-values are never rejected
    (and count in m, which keeps the procedure conservative).
    """
    alpha_f = _check_confidence(alpha, "alpha")
    p = np.asarray(list(p_values), dtype=np.float64).reshape(-1)
    m = p.size
    if np.any((p < 0) | (p > 1)):
        lo, hi = np.nanmin(p), np.nanmax(p)
        raise DataError(f"p_values: must lie in [0, 1], got min {lo:g}, max {hi:g}")
    reject = np.zeros(m, dtype=bool)
    order = np.argsort(np.where(np.isnan(p), np.inf, p), kind="stable")
    for i, idx in enumerate(order):
        if not (p[idx] <= alpha_f / (m - i)):  # nan compares False
            break
        reject[idx] = True
    return reject.tolist()



# --------------------------------------------------------------------------------------------
# empirical Bayes variances for many small comparisons (Smyth 2004)
# --------------------------------------------------------------------------------------------


def trigamma_inverse(x: float) -> float:
    """The ``y > 0`` with ``trigamma(y) = x`` (x > 0), by the Newton iteration of limma's
    ``trigammaInverse`` (Smyth 2004), which converges monotonically from ``0.5 + 1/x``."""
    from scipy.special import polygamma

    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise DataError(f"trigamma_inverse: x must be a finite positive number, got {x!r}")
    if x > 1e7:
        return 1.0 / math.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(100):
        tri = float(polygamma(1, y))
        step = tri * (1.0 - tri / x) / float(polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def fit_variance_prior(variances, df) -> tuple[float, float]:
    """Fit the scaled inverse chi-square prior ``s0^2 d0 / chi2(d0)`` that the true variances of many
    parallel comparisons are assumed to come from, given each one's sample variance and degrees of
    freedom (Smyth 2004, *Statistical Applications in Genetics and Molecular Biology* 3(1), sec. 6:
    moments of ``log s^2``; limma's ``fitFDist`` without covariates).

    Returns ``(d0, s0_squared)``; ``d0 = inf`` when the sample variances vary no more than sampling
    alone explains (then every variance is taken to be ``s0_squared``). Variances that are 0 or not
    finite are left out of the fit (limma floors them at a small positive value instead: a zero
    variance, e.g. windows of identical medians from a coarse clock, says nothing about the
    spread of the others); at least two must remain.
    """
    from scipy.special import digamma, polygamma

    s2 = np.asarray(variances, dtype=np.float64).reshape(-1)
    d = np.broadcast_to(np.asarray(df, dtype=np.float64), s2.shape)
    keep = np.isfinite(s2) & (s2 > 0) & np.isfinite(d) & (d > 0)
    if keep.sum() < 2:
        raise DataError(f"fit_variance_prior: needs at least 2 positive finite variances, got {int(keep.sum())}")
    s2, d = s2[keep], d[keep]
    e = np.log(s2) - digamma(d / 2.0) + np.log(d / 2.0)
    e_mean = float(e.mean())
    e_var = float(np.sum((e - e_mean) ** 2) / (e.size - 1) - np.mean(polygamma(1, d / 2.0)))
    if e_var <= 0:
        return math.inf, math.exp(e_mean)
    d0 = 2.0 * trigamma_inverse(e_var)
    return d0, math.exp(e_mean + float(digamma(d0 / 2.0)) - math.log(d0 / 2.0))


def moderated_variances(variances, df, d0: float, s0_squared: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior variances ``(d0 s0^2 + d s^2) / (d0 + d)`` and their degrees of freedom ``d0 + d``
    (``d0 = inf``: ``s0^2`` with infinite degrees of freedom; ``d0 = 0``: the sample variances)."""
    s2 = np.asarray(variances, dtype=np.float64)
    d = np.broadcast_to(np.asarray(df, dtype=np.float64), s2.shape)
    if math.isinf(d0):
        return np.full(s2.shape, float(s0_squared)), np.full(s2.shape, math.inf)
    return (d0 * s0_squared + d * s2) / (d0 + d), d0 + d
