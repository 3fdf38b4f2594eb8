"""Models over their publication years: log-linear trends of costs and quality, and which grows faster.

After the timeline of "Batching for Green AI" (Yarally et al., SEAA 2023), which sets models'
energy and accuracy against their publication years. For each column (a cost: energy, FLOPs,
parameters...; and the quality) the trend is the least-squares line of ``ln(value)`` on the year:

    ln(value) = a + b * (year - mean year) + error,    rate per year = exp(b) - 1

with Student's t confidence interval on the slope ``b`` (``scipy.stats.linregress`` gives ``b``
and its standard error; ``n - 2`` degrees of freedom), so ``+38%/year [29, 48]`` reads: the fitted
value grows by 38 % a year, and the 95 % interval of that rate is 29 % to 48 %.

Whether a cost rises faster than the quality is the slope of ``ln(cost / quality)`` on the year,
fitted on the same models: its interval says it directly, with the correlation between the two
fits taken into account (two separate intervals that overlap can still have a difference that is
clearly positive). Above 0: the cost rises faster; below 0: the quality rises faster; an
interval that contains 0 cannot tell.

Assumptions, stated in the output's methods: independent errors with a common variance on the
log scale (a model family published over several years is not independent), a constant rate over
the span of years. Pure: arrays in, a :class:`Timeline` out; no I/O, no clock, no printing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.validation import Interval, check

#: ``schema`` of :meth:`Timeline.to_dict` (the document ``effbench timeline --json`` writes)
SCHEMA = "effbench.timeline/1"
MIN_ROWS = 3
METHOD = ("least squares of ln(value) on the year (scipy.stats.linregress); Student t interval on the slope, "
          "n - 2 degrees of freedom; rate = exp(slope) - 1")
FASTER, SLOWER, CANNOT_TELL = "faster", "slower", "cannot tell"


@dataclass(frozen=True)
class Trend:
    """The log-linear trend of one column: ``ln(value) = level + slope * (year - year_mean)``."""

    column: str
    role: str                 # "cost" | "quality" | "cost per quality"
    n: int
    slope: float              # per year, on the natural-log scale
    slope_low: float
    slope_high: float
    level: float              # ln(value) of the line at the mean year
    year_mean: float
    sxx: float                # sum of squared year deviations
    residual_sd: float        # on the log scale
    t: float                  # the t quantile of the interval
    r_squared: float
    confidence: float

    @property
    def rate(self) -> float:
        """Growth per year of the fitted value (0.38 = +38 % a year)."""
        return math.expm1(self.slope)

    @property
    def rate_low(self) -> float:
        return math.expm1(self.slope_low)

    @property
    def rate_high(self) -> float:
        return math.expm1(self.slope_high)

    def fitted(self, years) -> np.ndarray:
        """The trend's values (not logs) at ``years``."""
        return np.exp(self.level + self.slope * (np.asarray(years, dtype=float) - self.year_mean))

    def band(self, years) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) confidence band of the trend line (the mean value) at ``years``."""
        x = np.asarray(years, dtype=float) - self.year_mean
        half = self.t * self.residual_sd * np.sqrt(1.0 / self.n + x**2 / self.sxx)
        centre = self.level + self.slope * x
        return np.exp(centre - half), np.exp(centre + half)

    def to_dict(self) -> dict:
        return {"column": self.column, "role": self.role, "n": self.n, "rate_per_year": self.rate,
                "rate_low": self.rate_low, "rate_high": self.rate_high, "log_slope": self.slope,
                "log_slope_low": self.slope_low, "log_slope_high": self.slope_high, "level_at_mean_year": math.exp(self.level),
                "year_mean": self.year_mean, "residual_sd_log": self.residual_sd, "r_squared": self.r_squared,
                "confidence": self.confidence}


@dataclass(frozen=True)
class Comparison:
    """Does ``cost`` rise faster than ``quality``? The trend of ``cost / quality`` says it."""

    cost: str
    quality: str
    ratio: Trend

    @property
    def verdict(self) -> str:
        if self.ratio.slope_low > 0:
            return FASTER
        if self.ratio.slope_high < 0:
            return SLOWER
        return CANNOT_TELL

    def to_dict(self) -> dict:
        return {"cost": self.cost, "quality": self.quality, "verdict": self.verdict, "cost_per_quality": self.ratio.to_dict()}


@dataclass
class Timeline:
    """What :func:`timeline` found: the rows used, every trend and every cost-quality comparison."""

    labels: list[str]
    years: np.ndarray
    values: dict[str, np.ndarray]
    quality: Trend
    costs: list[Trend]
    comparisons: list[Comparison]
    confidence: float
    dropped: list[tuple[str, str]] = field(default_factory=list)   # (row, reason) left out before the fit
    rows_read: int = 0

    @property
    def trends(self) -> list[Trend]:
        return [self.quality, *self.costs]

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA, "method": METHOD, "confidence": self.confidence,
            "rows_read": self.rows_read, "rows_used": len(self.labels),
            "dropped": [{"row": k, "reason": r} for k, r in self.dropped],
            "years": [float(self.years.min()), float(self.years.max())],
            "quality": self.quality.to_dict(), "costs": [t.to_dict() for t in self.costs],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "rows": [{"label": lab, "year": float(y), **{k: float(v[i]) for k, v in self.values.items()}}
                     for i, (lab, y) in enumerate(zip(self.labels, self.years))],
        }


def fit_trend(years, values, *, column: str = "value", role: str = "cost", confidence: float = 0.95) -> Trend:
    """The log-linear trend of positive ``values`` over ``years`` with a ``confidence`` interval on the slope.

    :class:`DataError` for fewer than :data:`MIN_ROWS` points, a single year, or a value that is not
    positive (its logarithm is undefined)."""
    from scipy import stats

    confidence = check("confidence", confidence, Interval(float, 0, 1, closed="neither"))
    x, y = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise DataError(f"{column}: years and values must be two lists of the same length; got {x.shape} and {y.shape}")
    if x.size < MIN_ROWS:
        raise DataError(f"{column}: a trend needs at least {MIN_ROWS} models with a year and a value; got {x.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError(f"{column}: years and values must be finite numbers")
    if np.ptp(x) == 0:
        raise DataError(f"{column}: every model has the same year ({x[0]:g}); a trend needs at least 2 different years")
    if (y <= 0).any():
        raise DataError(f"{column}: {y[y <= 0][0]:g} is not positive; a log-linear trend needs values > 0")
    ly = np.log(y)
    fit = stats.linregress(x, ly)
    n = x.size
    t = float(stats.t.ppf(0.5 + confidence / 2.0, n - 2))
    xm = float(x.mean())
    residuals = ly - (fit.intercept + fit.slope * x)
    return Trend(column, role, n, float(fit.slope), float(fit.slope - t * fit.stderr), float(fit.slope + t * fit.stderr),
                 float(ly.mean()), xm, float(((x - xm) ** 2).sum()), float(math.sqrt((residuals**2).sum() / (n - 2))),
                 t, float(fit.rvalue**2), confidence)


def timeline(years, columns: Mapping[str, Sequence[float]], *, quality: str, costs: Sequence[str],
             labels: Sequence[str] | None = None, confidence: float = 0.95,
             dropped: Sequence[tuple[str, str]] = (), rows_read: int | None = None) -> Timeline:
    """Trends of ``quality`` and each of ``costs`` over ``years``, and whether each cost rises faster.

    ``columns``: name -> values, one per year (rows already complete: the loader drops the rows with
    a missing value and passes them as ``dropped``). ``labels`` name the rows in messages (default
    ``row 1``, ``row 2``...). Raises :class:`DataError` for too few rows, a single year, or a value
    that is not positive (naming the row); :class:`ConfigError` when no cost is given or a name is
    not in ``columns``."""
    if not costs:
        raise ConfigError("costs: give at least one cost column")
    names = [quality, *costs]
    for name in names:
        if name not in columns:
            raise ConfigError(f"column {name!r} is not in the table; columns: {', '.join(columns)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"each column may be given once (quality and costs); got {', '.join(names)}")
    x = np.asarray(years, dtype=float)
    labels = [f"row {i + 1}" for i in range(x.size)] if labels is None else list(labels)
    values = {name: np.asarray(columns[name], dtype=float) for name in names}
    n_dropped = len(dropped)
    if x.size < MIN_ROWS:
        raise DataError(f"only {x.size} usable row(s)" + (f" ({n_dropped} dropped for missing values)" if n_dropped else "")
                        + f"; a trend needs at least {MIN_ROWS}")
    if np.ptp(x) == 0:
        raise DataError(f"every usable row has the same year ({x[0]:g}); a trend over the years needs at least 2 different years")
    for name, v in values.items():
        bad = np.flatnonzero(~(v > 0))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"column {name!r}: {labels[i]} has {v[i]:g}, not positive ({bad.size} row(s) in all); "
                            f"a log-linear trend needs values > 0")
    q = fit_trend(x, values[quality], column=quality, role="quality", confidence=confidence)
    trends = [fit_trend(x, values[c], column=c, role="cost", confidence=confidence) for c in costs]
    comparisons = [Comparison(c, quality, fit_trend(x, values[c] / values[quality], column=f"{c}/{quality}",
                                                    role="cost per quality", confidence=confidence)) for c in costs]
    return Timeline(labels, x, values, q, trends, comparisons, confidence, list(dropped),
                    x.size + n_dropped if rows_read is None else rows_read)
