"""Tail quality: the quality that survives an inference deadline (pure analysis).

After Yang, Gao, Luo, Wang, Tang, Wen, Zhan, "Quality at the Tail of Machine Learning
Inference" (arXiv:2212.13925, 2022-2024). Each instance of a dataset is inferred once per
*round*; an answer that arrives after the deadline counts as wrong. Per round this gives one
quality value, so per deadline a distribution over rounds whose low tail (the worst case, a
low quantile) is what a time-critical deployment gets.

Inputs are plain arrays, so a measuring loop only has to produce

* ``times[round, instance]`` in seconds (a 1-D array is one round),
* ``correct[instance]`` or ``correct[round, instance]`` (1/0 or bool: the prediction
  without any deadline is right),
* optionally ``batch_ids[instance]`` (integers ``0..B-1``): with batching every instance
  takes its batch's time (:func:`expand_batch_times`, :func:`apply_batch_times`).

Conventions, stated once:

* **Comparison**: an instance is on time when ``time_s <= threshold_s`` (a deadline is met
  by an answer that arrives exactly at it). A late instance counts as wrong; the denominator
  is always the whole dataset.
* **What a good answer is** (:func:`answer_definition`): classification, the predicted label
  equals the true one; regression, the predicted value is within a tolerance of the target
  (``|prediction - target| <= tolerance``, in the target's units). Either way the analyses
  below only see the per-instance good/miss booleans, and a late answer is a miss.
  :func:`late_fallback_scores` adds a regression's own metric with late answers replaced by
  a fallback prediction.
* **Percentile / quantile method**: ``numpy.quantile(..., method="inverted_cdf")`` (Hyndman
  & Fan type 1): the smallest observed value whose empirical CDF reaches the level. So at a
  ``p99`` threshold at least 99 % of the pooled instance times are on time, and a quality
  quantile is a quality that some round really had (with fewer than ``1/q`` rounds the
  ``q`` quantile is the worst case).
* **Standard deviation** over rounds: sample standard deviation (``ddof=1``); 0 for one round.
* **KDE**: ``scipy.stats.gaussian_kde`` with Scott's rule (factor ``n ** (-1/5)`` times the
  sample standard deviation), on at most ``max_kde_points`` points drawn without replacement
  from all rounds so far (seeded), evaluated on a grid fixed at the first fit.
* **Jensen-Shannon distance**: ``scipy.spatial.distance.jensenshannon(p, q, base=2)``, the
  square root of the JS divergence, in ``[0, 1]``.

No I/O, no clock, no printing: arrays in, dataclasses out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.validation import Interval, check, check_seed

__all__ = [
    "COMPARISON",
    "QUANTILE_METHOD",
    "DEFAULT_PERCENTILES",
    "Threshold",
    "TailAnalysis",
    "ConvergenceConfig",
    "ConvergenceStep",
    "ConvergenceResult",
    "ConvergenceMonitor",
    "PredictedQuality",
    "PredictionCheck",
    "validate_tail_arrays",
    "expand_batch_times",
    "apply_batch_times",
    "quality_matrix",
    "unconstrained_quality",
    "answer_definition",
    "late_fallback_scores",
    "select_thresholds",
    "summarize_quality",
    "quantile_key",
    "analyze_tail",
    "js_distance",
    "kde_probabilities",
    "convergence_round",
    "replay_monitor",
    "predict_quality",
    "expected_minimum",
    "evaluate_prediction",
    "arrays_from_rows",
]

COMPARISON = "on time when time_s <= threshold_s; a late instance counts as wrong"
QUANTILE_METHOD = "inverted_cdf"
DEFAULT_PERCENTILES = (90.0, 95.0, 99.0, 99.9)


# --------------------------------------------------------------------------- validation


MAX_TIME_S = 1e9
"""The longest time an inference can take here (31 years): longer ones are a unit mistake."""


def _as_times(times) -> np.ndarray:
    try:
        arr = np.asarray(times, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"times: expected numbers in seconds, got {type(times).__name__} ({exc})") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"times: expected a non-empty array [round, instance], got shape {np.shape(times)}")
    if not np.all(np.isfinite(arr)):
        raise DataError("times: every time_s must be a finite number, got NaN or infinity")
    if np.any(arr < 0):
        raise DataError(f"times: every time_s must be >= 0, got {float(arr.min())!r}")
    if arr.max() > MAX_TIME_S:  # beyond this no density or grid over the times can be fitted in floats
        raise DataError(f"times: time_s is in seconds, and {float(arr.max()):g} s is more than {MAX_TIME_S:g} s "
                        "(31 years); were the times recorded in another unit?")
    return arr


def _as_correct(correct, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(correct)
    if arr.dtype != bool:
        try:
            num = arr.astype(float)
        except (TypeError, ValueError):
            raise DataError("correct: expected 1/0 or true/false values") from None
        if not np.all((num == 0) | (num == 1)):
            bad = num[~((num == 0) | (num == 1))].ravel()[0]
            raise DataError(f"correct: every value must be 0 or 1, got {bad!r}")
        arr = num.astype(bool)
    rounds, n = shape
    if arr.ndim == 1 and arr.shape[0] == n:
        return np.broadcast_to(arr[None, :], shape)
    if arr.shape == shape:
        return arr
    if arr.ndim == 2 and arr.shape == (1, n):
        return np.broadcast_to(arr, shape)
    raise DataError(
        f"correct: expected shape ({n},) or ({rounds}, {n}) to match times, got {arr.shape}"
    )


def _as_batch_ids(batch_ids, n: int) -> np.ndarray:
    arr = np.asarray(batch_ids)
    if arr.shape != (n,):
        raise DataError(f"batch_ids: expected one batch id per instance, shape ({n},), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DataError(f"batch_ids: expected integers 0..B-1, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise DataError(f"batch_ids: expected integers >= 0, got {int(arr.min())}")
    return arr.astype(np.int64)


def validate_tail_arrays(times, correct, batch_ids=None):
    """Check and normalise inputs; returns ``(times[R, N] float, correct[R, N] bool, batch_ids or None)``.

    Raises :class:`~effbench.errors.DataError` (one line) on a bad shape, a negative or
    non-finite time, a correctness value that is not 0/1, or a bad batch id.
    """
    t = _as_times(times)
    c = _as_correct(correct, t.shape)
    b = None if batch_ids is None else _as_batch_ids(batch_ids, t.shape[1])
    return t, c, b


QUANTILE = Interval(float, 0, 1, closed="neither")
SECONDS = Interval(float, 0, None, closed="neither", unit="seconds")
GRID = Interval(int, 0, 10_000)
"""Points of a deadline grid: 0 (none) to 10,000 (finer than any deadline one can tell apart)."""
PERCENT = Interval(float, 0, 100, closed="right")
"""The level of a tail quality (e.g. 0.01: the quality that 99% of rounds reach or beat)."""


def _check_quantile(quantile: float) -> float:
    return check("quantile", quantile, QUANTILE)


# --------------------------------------------------------------------------- batching


def expand_batch_times(batch_times, batch_ids) -> np.ndarray:
    """Per-batch times ``[round, batch]`` (or ``[batch]``) -> per-instance times ``[round, instance]``.

    ``batch_ids[i]`` is the batch (``0..B-1``) of instance ``i``; every instance takes its
    batch's time.
    """
    bt = _as_times(batch_times)
    raw = np.asarray(batch_ids)
    if raw.ndim != 1:
        raise DataError(f"batch_ids: expected a 1-D array (one batch id per instance), got shape {raw.shape}")
    ids = _as_batch_ids(raw, raw.shape[0])
    if ids.size and ids.max() >= bt.shape[1]:
        raise DataError(
            f"batch_ids: expected ids in 0..{bt.shape[1] - 1} (one column of batch_times per batch), "
            f"got {int(ids.max())}"
        )
    return bt[:, ids]


def apply_batch_times(times, batch_ids) -> np.ndarray:
    """Give every instance of a batch its batch's time: the largest time of its members in that round.

    With a real batched measurement all members already carry the same time and this is the
    identity; with per-instance times it models a batch that finishes when its slowest member does.
    """
    t = _as_times(times)
    ids = _as_batch_ids(batch_ids, t.shape[1])
    _, inverse = np.unique(ids, return_inverse=True)
    n_batches = int(inverse.max()) + 1
    per_batch = np.full((t.shape[0], n_batches), -np.inf)
    np.maximum.at(per_batch, (np.arange(t.shape[0])[:, None], inverse[None, :]), t)
    return per_batch[:, inverse]


# --------------------------------------------------------------------------- quality


def _quality_counts(times: np.ndarray, weights: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per round and threshold: sum of ``weights`` over instances with ``time <= threshold``.

    One ``searchsorted`` of all times into the sorted thresholds, one ``bincount`` per
    (round, first threshold met), and a cumulative sum along thresholds: O(R N log M + R M).
    """
    rounds, _ = times.shape
    order = np.argsort(thresholds, kind="stable")
    thr_sorted = thresholds[order]
    m = thr_sorted.size
    # first threshold index j with time <= thr_sorted[j]; m when no threshold is met
    first = np.searchsorted(thr_sorted, times, side="left")
    flat = (np.arange(rounds)[:, None] * (m + 1) + first).ravel()
    counts = np.bincount(flat, weights=weights.ravel().astype(float), minlength=rounds * (m + 1))
    cum = np.cumsum(counts.reshape(rounds, m + 1), axis=1)[:, :m]
    out = np.empty_like(cum)
    out[:, order] = cum
    return out


def quality_matrix(times, correct, thresholds_s, *, batch_ids=None) -> np.ndarray:
    """Quality (accuracy) of every round under every deadline: an array ``[round, threshold]``.

    An instance counts as right when it is correct *and* ``time_s <= threshold_s``; the
    denominator is the whole dataset. Thresholds may be in any order (columns follow it).
    With ``batch_ids`` every instance takes its batch's time (:func:`apply_batch_times`).
    """
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    if b is not None:
        t = apply_batch_times(t, b)
    thr = np.atleast_1d(np.asarray(thresholds_s, dtype=float))
    if thr.ndim != 1 or not np.all(np.isfinite(thr)):
        raise ConfigError(f"thresholds_s: expected finite numbers in seconds, got {thresholds_s!r}")
    if thr.size == 0:
        return np.empty((t.shape[0], 0))
    return _quality_counts(t, c, thr) / t.shape[1]


def unconstrained_quality(correct, rounds: int | None = None) -> np.ndarray:
    """Quality without any deadline, per round (``correct`` is ``[instance]`` or ``[round, instance]``)."""
    c = np.asarray(correct, dtype=float)
    if c.ndim == 1:
        c = c[None, :]
    q = c.mean(axis=1)
    if rounds is not None and q.size == 1:
        q = np.repeat(q, rounds)
    return q


def answer_definition(tolerance: float | None = None) -> dict:
    """What counts as a good answer, JSON-ready: ``task``, ``good`` (in words), ``tolerance`` and
    ``label`` (the name of the quality in tables). ``tolerance`` None: classification (the label must
    be right); a number >= 0: regression (``|prediction - target| <= tolerance``)."""
    if tolerance is None:
        return {"task": "classification", "tolerance": None, "label": "accuracy",
                "good": "on time and the predicted label equals the true one; a late answer is a miss"}
    tol = f"{float(tolerance):g}"
    return {"task": "regression", "tolerance": float(tolerance), "label": f"within ±{tol} on time",
            "good": f"on time and |prediction - target| <= {tol} (the target's units); a late answer is a miss"}


def late_fallback_scores(times, values, y_true, thresholds_s, metric, *, fallback: float) -> np.ndarray:
    """A regression metric of every round under every deadline when each late answer is replaced by
    ``fallback`` (e.g. the mean of the targets): an array ``[round, threshold]``.

    ``times`` and ``values`` are ``[round, instance]`` (the time and the predicted value of each
    answer), ``y_true`` ``[instance]``; ``metric(y_true, y_pred) -> float`` (mae, rmse, ...). An
    answer is on time when ``time_s <= threshold_s``, as in :func:`quality_matrix`.
    """
    t = _as_times(times)
    v = np.asarray(values, dtype=float)
    y = np.asarray(y_true, dtype=float).ravel()
    if v.shape != t.shape or y.shape != (t.shape[1],):
        raise DataError(f"values: expected shape {t.shape} and y_true ({t.shape[1]},) to match times, "
                        f"got {v.shape} and {y.shape}")
    thr = np.atleast_1d(np.asarray(thresholds_s, dtype=float))
    out = np.empty((t.shape[0], thr.size))
    for j, deadline in enumerate(thr):
        answered = np.where(t <= deadline, v, float(fallback))
        out[:, j] = [metric(y, row) for row in answered]
    return out


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Threshold:
    """A deadline in seconds and where it came from: ``user``, ``percentile`` or ``grid``."""

    value_s: float
    origin: str
    label: str


def _percentile_label(p: float) -> str:
    return "p" + np.format_float_positional(float(p), trim="-")


def select_thresholds(
    times,
    user_s: Iterable[float] = (),
    percentiles: Iterable[float] = DEFAULT_PERCENTILES,
    grid: int = 0,
) -> list[Threshold]:
    """The deadlines to evaluate, in this order: user values, percentiles, grid.

    * ``user_s``: values in seconds; each must be > 0 (:class:`ConfigError` otherwise).
    * ``percentiles`` (0 < p <= 100): of the observed times pooled over rounds and
      instances, ``method="inverted_cdf"`` (an observed time with at least p % of the pooled
      times at or below it).
    * ``grid``: ``K`` evenly spaced points from the minimum to the maximum observed time
      (both included; duplicates removed, so constant times give one point).
    """
    t = _as_times(times)
    out: list[Threshold] = []
    for value in user_s:
        v = check("threshold", value, SECONDS)
        out.append(Threshold(v, "user", f"{v:g}s"))
    pcts = [check("percentiles", p, PERCENT) for p in percentiles]
    if pcts:
        values = np.quantile(t.ravel(), np.asarray(pcts) / 100.0, method=QUANTILE_METHOD)
        out.extend(Threshold(float(v), "percentile", _percentile_label(p)) for p, v in zip(pcts, values))
    grid = check("grid", grid, GRID)
    if grid:
        lo, hi = float(t.min()), float(t.max())
        points = np.unique(np.linspace(lo, hi, int(grid))) if hi > lo else np.array([lo])
        out.extend(Threshold(float(v), "grid", f"grid{i}") for i, v in enumerate(points))
    return out


# --------------------------------------------------------------------------- summaries


def quantile_key(quantile: float) -> str:
    """JSON key of a quality quantile: 0.01 -> ``q01``, 0.05 -> ``q05``, 0.1 -> ``q10``, 0.001 -> ``q001``."""
    q = _check_quantile(quantile)
    digits = np.format_float_positional(q, trim="-").split(".", 1)[1]
    return "q" + digits.ljust(2, "0")


def summarize_quality(qualities, quantile: float = 0.01) -> dict[str, np.ndarray]:
    """Distribution over rounds (axis 0) of ``qualities[round, threshold]``.

    Returns arrays per threshold: ``min`` (worst case), ``quantile`` (``inverted_cdf``),
    ``mean``, ``std`` (``ddof=1``; 0 with one round) and ``max``.
    """
    q = _check_quantile(quantile)
    a = np.asarray(qualities, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    rounds = a.shape[0]
    return {
        "min": a.min(axis=0),
        "quantile": np.quantile(a, q, axis=0, method=QUANTILE_METHOD),
        "mean": a.mean(axis=0),
        "std": a.std(axis=0, ddof=1) if rounds > 1 else np.zeros(a.shape[1]),
        "max": a.max(axis=0),
    }


@dataclass
class TailAnalysis:
    """Observed tail quality: per threshold the distribution of quality over rounds."""

    thresholds: list[Threshold]
    qualities: np.ndarray  # [round, threshold]
    unconstrained: np.ndarray  # [round]
    quantile: float
    summary: dict[str, np.ndarray]
    rounds: int
    instances: int
    batched: bool = False

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-round matrix)."""
        key = quantile_key(self.quantile)
        unc = summarize_quality(self.unconstrained[:, None], self.quantile)
        rows = []
        for j, thr in enumerate(self.thresholds):
            rows.append(
                {
                    "threshold_s": thr.value_s,
                    "origin": thr.origin,
                    "label": thr.label,
                    "min": float(self.summary["min"][j]),
                    key: float(self.summary["quantile"][j]),
                    "quantile": self.quantile,
                    "mean": float(self.summary["mean"][j]),
                    "std": float(self.summary["std"][j]),
                    "max": float(self.summary["max"][j]),
                    "unconstrained": float(unc["mean"][0]),
                }
            )
        return {
            "rounds": self.rounds,
            "instances": self.instances,
            "batched": self.batched,
            "comparison": COMPARISON,
            "quantile": self.quantile,
            "quantile_key": key,
            "quantile_method": QUANTILE_METHOD,
            "percentile_method": QUANTILE_METHOD,
            "std_ddof": 1,
            "unconstrained": {
                "min": float(unc["min"][0]),
                "mean": float(unc["mean"][0]),
                "max": float(unc["max"][0]),
            },
            "thresholds": rows,
        }


def analyze_tail(
    times,
    correct,
    *,
    thresholds_s: Iterable[float] = (),
    percentiles: Iterable[float] = DEFAULT_PERCENTILES,
    grid: int = 20,
    quantile: float = 0.01,
    batch_ids=None,
) -> TailAnalysis:
    """Observed quality under every selected deadline (see :func:`select_thresholds`)."""
    q = _check_quantile(quantile)
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    if b is not None:
        t = apply_batch_times(t, b)
    thresholds = select_thresholds(t, thresholds_s, percentiles, grid)
    values = np.array([th.value_s for th in thresholds], dtype=float)
    qual = _quality_counts(t, c, values) / t.shape[1] if values.size else np.empty((t.shape[0], 0))
    unc = c.mean(axis=1).astype(float)
    return TailAnalysis(
        thresholds=thresholds,
        qualities=qual,
        unconstrained=unc,
        quantile=q,
        summary=summarize_quality(qual, q),
        rounds=t.shape[0],
        instances=t.shape[1],
        batched=b is not None,
    )


# --------------------------------------------------------------------------- convergence


def js_distance(p, q) -> float:
    """Jensen-Shannon distance (base 2, so in [0, 1]) between two probability vectors.

    The vectors are normalised to sum to 1 first (:func:`scipy.spatial.distance.jensenshannon`).
    """
    from scipy.spatial.distance import jensenshannon

    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 1:
        raise DataError(f"js_distance: expected two 1-D vectors of one length, got {p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise DataError("js_distance: expected non-negative vectors with a positive sum")
    # A subnormal cell (KDE tails far from the data) halves to 0 in scipy's m = (p + q) / 2, and
    # rel_entr(p, 0) = inf: flush such cells to 0 first. A non-finite result is never "identical".
    tiny = np.finfo(float).tiny
    p = np.where(p < tiny, 0.0, p)
    q = np.where(q < tiny, 0.0, q)
    d = float(jensenshannon(p, q, base=2))
    return 1.0 if not math.isfinite(d) else min(max(d, 0.0), 1.0)


def kde_probabilities(samples, grid_s) -> tuple[np.ndarray, float]:
    """Discretise a Gaussian KDE (Scott's rule) of ``samples`` on a fixed, evenly spaced grid.

    Returns ``(p, bandwidth_s)``; ``p`` has ``len(grid_s) + 2`` cells: the mass below the
    grid, the density at each grid point times the spacing, the mass above the grid
    (normalised to sum 1). Constant samples (zero spread) are a point mass in the nearest
    cell, with bandwidth 0.
    """
    x = np.asarray(samples, dtype=float).ravel()
    grid = np.asarray(grid_s, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.diff(grid) > 0):
        raise ConfigError(f"grid_s: expected an increasing 1-D grid of at least 2 points, got shape {grid.shape}")
    lo, hi = float(grid[0]), float(grid[-1])
    dx = (hi - lo) / (grid.size - 1)
    if x.size < 2 or float(np.ptp(x)) == 0.0:
        return _nearest_cells(x, lo, dx, grid.size), 0.0
    from scipy.stats import gaussian_kde

    kde = gaussian_kde(x, bw_method="scott")
    bandwidth = float(np.sqrt(kde.covariance[0, 0]))
    p = np.zeros(grid.size + 2)
    p[1:-1] = kde(grid) * dx
    p[0] = kde.integrate_box_1d(-np.inf, lo - dx / 2)
    p[-1] = kde.integrate_box_1d(hi + dx / 2, np.inf)
    p = np.clip(p, 0.0, None)
    if not p.sum() > 0:  # a bandwidth far below the spacing: every bump falls between grid points
        return _nearest_cells(x, lo, dx, grid.size), bandwidth
    return p / p.sum(), bandwidth


def _nearest_cells(x: np.ndarray, lo: float, dx: float, n: int) -> np.ndarray:
    """The share of ``x`` in each of the ``n + 2`` cells: below the grid, at its nearest point, above it."""
    cells = np.clip(np.rint((x - lo) / dx).astype(np.int64) + 1, 0, n + 1)
    return np.bincount(cells, minlength=n + 2) / x.size


@dataclass(frozen=True)
class ConvergenceConfig:
    """Stopping rule: fit a KDE every ``every`` rounds on all rounds so far; stop when the new
    fit is within ``threshold`` (JS distance) of each of the previous ``window`` fits and at
    least ``min_rounds`` rounds were seen; stop anyway at ``max_rounds``.

    ``grid_points`` is the size of the common evaluation grid: set at the first fit from its
    data (min - 3 bandwidths to max + 3 bandwidths) and widened only when later times fall
    outside it, in which case the kept fits are re-evaluated on the wider grid, so the fits
    compared are always on one grid; ``grid_s=(lo, hi)`` fixes it for good (mass outside
    goes to two overflow cells);
    ``max_kde_points`` caps the points fed to each KDE (a seeded subsample without
    replacement of all rounds so far), which keeps a fit well under a second.

    ``round_threshold`` (None: off) makes the rule watch the tail too (the ``tail`` rule): at each
    fit it also fits a KDE (Scott) to the per-round log slowdowns of all rounds so far (see
    :func:`predict_quality`) on the fixed grid :data:`ROUND_GRID`, and stops only when those fits
    are also within ``round_threshold`` (JS distance) of each of the previous ``window`` ones: the
    round-to-round behaviour, not only the pooled times, has stopped changing.
    """

    every: int = 2
    window: int = 3
    threshold: float = 0.05
    min_rounds: int = 8
    max_rounds: int = 200
    grid_points: int = 512
    max_kde_points: int = 10_000
    seed: int = 0
    grid_s: tuple[float, float] | None = None
    round_threshold: float | None = None

    def __post_init__(self):
        for name, low in (("every", 1), ("window", 1), ("min_rounds", 1), ("max_rounds", 1), ("grid_points", 2), ("max_kde_points", 2)):
            object.__setattr__(self, name, check(name, getattr(self, name), Interval(int, low, None)))
        if self.max_rounds < self.min_rounds:
            raise ConfigError(
                f"max_rounds: expected >= min_rounds ({self.min_rounds}), got {self.max_rounds!r}"
            )
        object.__setattr__(self, "threshold", check("threshold", self.threshold, Interval(float, 0, 1, closed="right")))
        if self.round_threshold is not None:
            object.__setattr__(self, "round_threshold",
                               check("round_threshold", self.round_threshold, Interval(float, 0, 1, closed="right")))
        if self.grid_s is not None:
            lo, hi = self.grid_s
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise ConfigError(f"grid_s: expected (lo, hi) with lo < hi, got {self.grid_s!r}")


ROUND_GRID = np.linspace(-1.0, 1.5, 2048)
"""Grid of the round-effect KDE: log slowdowns from exp(-1) = 0.37x to exp(1.5) = 4.5x (mass outside in two cells)."""


@dataclass(frozen=True)
class ConvergenceStep:
    """One KDE fit: after ``round`` rounds, on ``points`` times, and its JS distances to the
    previous fits (most recent first, at most ``window``); with the tail rule also the JS distances
    of the round-effect fits (``round_js_distances``)."""

    round: int
    points: int
    bandwidth_s: float
    js_distances: tuple[float, ...]
    round_js_distances: tuple[float, ...] = ()

    @property
    def max_js(self) -> float | None:
        return max(self.js_distances) if self.js_distances else None


@dataclass
class ConvergenceResult:
    """Where the stopping rule stopped: ``stopped_by`` is ``converged``, ``max_rounds`` or
    ``exhausted`` (the data ran out first); ``rounds_used`` is the round it stopped at."""

    converged: bool
    stopped_by: str
    rounds_used: int
    rounds_available: int
    config: ConvergenceConfig
    trace: list[ConvergenceStep] = field(default_factory=list)

    def to_dict(self) -> dict:
        cfg = self.config
        return {
            "converged": self.converged,
            "stopped_by": self.stopped_by,
            "rounds_used": self.rounds_used,
            "rounds_available": self.rounds_available,
            "every": cfg.every,
            "window": cfg.window,
            "threshold": cfg.threshold,
            "min_rounds": cfg.min_rounds,
            "max_rounds": cfg.max_rounds,
            "grid_points": cfg.grid_points,
            "max_kde_points": cfg.max_kde_points,
            "seed": cfg.seed,
            "rule": "js" if cfg.round_threshold is None else "tail",
            "round_threshold": cfg.round_threshold,
            "bandwidth_rule": "scott",
            "js_base": 2,
            "trace": [
                {
                    "round": s.round,
                    "points": s.points,
                    "bandwidth_s": s.bandwidth_s,
                    "js_distances": list(s.js_distances),
                    "max_js": s.max_js,
                    "round_js_distances": list(s.round_js_distances),
                }
                for s in self.trace
            ],
        }


class ConvergenceMonitor:
    """Incremental stopping rule for a measuring loop.

    >>> mon = ConvergenceMonitor(ConvergenceConfig())      # doctest: +SKIP
    >>> while not mon.update(run_one_round()): pass         # doctest: +SKIP
    >>> mon.result().rounds_used                            # doctest: +SKIP

    :meth:`update` takes one round of per-instance times (seconds) and returns True when the
    loop should stop (converged, or ``max_rounds`` reached).
    """

    def __init__(self, config: ConvergenceConfig | None = None):
        self.config = config or ConvergenceConfig()
        self._rng = np.random.default_rng(check_seed(self.config.seed))
        self._rounds: list[np.ndarray] = []
        self._fits: list[np.ndarray] = []  # probabilities on the current grid (last window+1 fits)
        self._samples: list[np.ndarray] = []  # the points of those fits, to re-evaluate on a wider grid
        self._round_fits: list[np.ndarray] = []  # round-effect KDEs on ROUND_GRID (tail rule)
        self._grid: np.ndarray | None = None
        self.grid_changes = 0
        self.trace: list[ConvergenceStep] = []
        self.converged = False
        self.stopped_by: str | None = None

    @property
    def rounds_seen(self) -> int:
        return len(self._rounds)

    @property
    def done(self) -> bool:
        return self.stopped_by is not None

    def _pooled_sample(self) -> np.ndarray:
        pooled = np.concatenate(self._rounds)
        cap = self.config.max_kde_points
        if pooled.size > cap:
            pooled = self._rng.choice(pooled, size=cap, replace=False)
        return pooled

    @staticmethod
    def _span(x: np.ndarray) -> tuple[float, float]:
        lo, hi = float(x.min()), float(x.max())
        if hi > lo:
            pad = 3.0 * float(np.std(x, ddof=1)) * x.size ** (-1.0 / 5.0)  # 3 Scott bandwidths
        else:
            pad = max(abs(lo) * 0.05, 1e-9)
        return lo - pad, hi + pad

    def _grid_for(self, x: np.ndarray) -> np.ndarray:
        """The common grid: fixed at the first fit; widened (and every kept fit re-evaluated on
        it) only when new times fall outside it, so compared fits always share one grid."""
        cfg = self.config
        if cfg.grid_s is not None:
            if self._grid is None:
                self._grid = np.linspace(cfg.grid_s[0], cfg.grid_s[1], cfg.grid_points)
            return self._grid
        if self._grid is None:
            self._grid = np.linspace(*self._span(x), cfg.grid_points)
        elif x.min() < self._grid[0] or x.max() > self._grid[-1]:
            lo, hi = self._span(x)
            self._grid = np.linspace(min(lo, self._grid[0]), max(hi, self._grid[-1]), cfg.grid_points)
            self._fits = [kde_probabilities(old, self._grid)[0] for old in self._samples]
            self.grid_changes += 1
        return self._grid

    def _round_effect_distances(self) -> tuple[float, ...]:
        """Tail rule: fit the KDE of the per-round log slowdowns so far; its JS distances to the previous fits."""
        if self.config.round_threshold is None:
            return ()
        f = _round_log_factors(np.stack(self._rounds))
        p = kde_probabilities(f, ROUND_GRID)[0]
        prev = self._round_fits[::-1][: self.config.window]
        self._round_fits = (self._round_fits + [p])[-(self.config.window + 1):]
        return tuple(js_distance(p, old) for old in prev)

    def update(self, round_times) -> bool:
        """Add one round's times; return True when measuring should stop."""
        if self.done:
            return True
        t = _as_times(round_times).ravel()
        if self._rounds and t.size != self._rounds[0].size:
            raise DataError(
                f"round_times: expected {self._rounds[0].size} instance times per round, got {t.size}"
            )
        self._rounds.append(t.copy())
        cfg = self.config
        r = len(self._rounds)
        if r % cfg.every == 0:
            x = self._pooled_sample()
            grid = self._grid_for(x)
            p, bw = kde_probabilities(x, grid)
            prev = self._fits[::-1][: cfg.window]
            dists = tuple(js_distance(p, old) for old in prev)
            self._fits = (self._fits + [p])[-(cfg.window + 1):]
            self._samples = (self._samples + [x])[-(cfg.window + 1):]
            round_dists = self._round_effect_distances()
            self.trace.append(ConvergenceStep(r, int(x.size), bw, dists, round_dists))
            tail_ok = cfg.round_threshold is None or (
                len(round_dists) == cfg.window and all(d < cfg.round_threshold for d in round_dists))
            if (
                r >= cfg.min_rounds
                and len(dists) == cfg.window
                and all(d < cfg.threshold for d in dists)
                and tail_ok
            ):
                self.converged = True
                self.stopped_by = "converged"
                return True
        if r >= cfg.max_rounds:
            self.stopped_by = "max_rounds"
            return True
        return False

    def result(self) -> ConvergenceResult:
        return ConvergenceResult(
            converged=self.converged,
            stopped_by=self.stopped_by or "exhausted",
            rounds_used=self.rounds_seen,
            rounds_available=self.rounds_seen,
            config=self.config,
            trace=list(self.trace),
        )


def convergence_round(times, config: ConvergenceConfig | None = None) -> ConvergenceResult:
    """Replay the stopping rule over recorded rounds ``times[round, instance]``.

    Feeds the rounds one by one to a :class:`ConvergenceMonitor` (so the answer is exactly
    what the measuring loop would have done) and returns where it stopped, and the trace.
    """
    return replay_monitor(ConvergenceMonitor(config), times)


def replay_monitor(monitor, times):
    """Feed recorded rounds ``times[round, instance]`` one by one to a stopping-rule monitor (any
    object with ``update(round) -> bool`` and ``result()``) until it stops; its result, with
    ``rounds_available`` set to the rounds recorded."""
    t = _as_times(times)
    for row in t:
        if monitor.update(row):
            break
    res = monitor.result()
    res.rounds_available = t.shape[0]
    return res


# --------------------------------------------------------------------------- prediction


def expected_minimum(values, rounds: int) -> float:
    """Expected minimum of ``rounds`` independent draws from the empirical distribution of ``values``.

    With sorted values v(1) <= ... <= v(n): P(min = v(k)) = ((n-k+1)/n)^R - ((n-k)/n)^R.
    """
    v = np.sort(np.asarray(values, dtype=float).ravel())
    n = v.size
    if n == 0 or rounds < 1:
        raise ConfigError(f"rounds: expected >= 1 with at least one value, got rounds={rounds!r}, n={n}")
    k = np.arange(1, n + 1)
    w = ((n - k + 1) / n) ** rounds - ((n - k) / n) ** rounds
    return float(np.dot(w, v))


@dataclass
class PredictedQuality:
    """Monte Carlo quality distribution per threshold (``samples[sim_round, threshold]``)."""

    thresholds_s: np.ndarray
    samples: np.ndarray
    quantile: float
    method: str
    fit_rounds: int
    seed: int
    round_effect: bool = True

    @property
    def summary(self) -> dict[str, np.ndarray]:
        return summarize_quality(self.samples, self.quantile)

    def expected_min(self, rounds: int) -> np.ndarray:
        """Predicted worst case over ``rounds`` rounds, per threshold (see :func:`expected_minimum`)."""
        return np.array([expected_minimum(self.samples[:, j], rounds) for j in range(self.samples.shape[1])])


def predict_quality(
    times,
    correct,
    thresholds_s,
    *,
    n_rounds: int = 1000,
    method: str = "empirical",
    quantile: float = 0.01,
    batch_ids=None,
    seed: int = 0,
    round_effect: bool = True,
    chunk_rounds: int = 256,
) -> PredictedQuality:
    """Predict the quality distribution per deadline by Monte Carlo draws of whole rounds.

    The time of each instance (or, with ``batch_ids``, of each batch) is modelled on its own,
    from its times in the fitting rounds ``times[round, instance]``:

    * ``method="empirical"`` (default): a draw is one of its observed times (per-instance
      resampling, no smoothing). It keeps each instance's own shape (skew, rare stalls) and
      was the more accurate of the two on the synthetic benchmark (docs/tail-quality.md).
    * ``method="kde"`` (the model of Yang et al.): a Gaussian KDE per instance with Scott's
      bandwidth ``h_i = std_i * R ** (-1/5)``, sampled by Silverman's variance-preserving
      smoothed bootstrap: ``m_i + (x - m_i + h_i * e) / sqrt(1 + h_i**2 / var_i)`` with ``x``
      one of its observed times, ``e`` standard normal, ``m_i``/``var_i`` the mean and
      (population) variance of its times; clipped at 0. The draws keep each instance's mean
      and variance (a plain KDE draw inflates the variance by ``h_i**2``); it can draw times
      never observed, but makes each instance's distribution more symmetric.

    With ``round_effect=True`` (default) a slowdown shared by every instance of a round is
    modelled too: ``times[r, i] = exp(f_r) * u[r, i]`` with ``f_r`` the median over instances
    of ``log(times[r, i] / median_r times[r, i])`` (centred); the instance models above are
    fitted on ``u``, and each simulated round multiplies its draws by ``exp(f)`` with ``f``
    drawn from a Gaussian KDE (Scott's rule, no shrinking: with few rounds the spread of
    round slowdowns is what sets the worst case). Without it, instances are drawn
    independently and round-wide slowdowns are missed (the worst case comes out too
    optimistic when they exist; see docs/tail-quality.md).

    Correctness is drawn with the time, from the same fitting round. Constant times give a
    point distribution. Check the error against held-out rounds with
    :func:`evaluate_prediction`.
    """
    q = _check_quantile(quantile)
    if method not in ("kde", "empirical"):
        raise ConfigError(f"method: expected 'kde' or 'empirical', got {method!r}")
    n_rounds = check("n_rounds", n_rounds, Interval(int, 1, None))
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    thr = np.atleast_1d(np.asarray(thresholds_s, dtype=float))
    if thr.ndim != 1 or not np.all(np.isfinite(thr)):
        raise ConfigError(f"thresholds_s: expected finite numbers in seconds, got {thresholds_s!r}")
    rounds, n = t.shape
    if b is not None:
        _, unit_of = np.unique(b, return_inverse=True)
        t_units = apply_batch_times(t, b)[:, np.unique(unit_of, return_index=True)[1]]
    else:
        unit_of = np.arange(n)
        t_units = t
    n_units = t_units.shape[1]
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    log_factor = _round_log_factors(t_units) if round_effect else np.zeros(rounds)
    if np.ptp(log_factor) > 0:
        t_units = t_units / np.exp(log_factor)[:, None]
    if method == "kde" and rounds > 1:
        bw = t_units.std(axis=0, ddof=1) * rounds ** (-1.0 / 5.0)
        var0 = t_units.var(axis=0)
        loc = t_units.mean(axis=0)
        # Silverman's variance-preserving smoothed bootstrap: shrink towards the instance mean
        # so a draw has the mean and variance of the instance's observed times.
        shrink = np.ones(n_units)
        pos = var0 > 0
        shrink[pos] = 1.0 / np.sqrt(1.0 + bw[pos] ** 2 / var0[pos])
    else:
        bw = np.zeros(n_units)
    out = np.empty((n_rounds, thr.size))
    done = 0
    while done < n_rounds:
        k = min(chunk_rounds, n_rounds - done)
        src_unit = rng.integers(0, rounds, size=(k, n_units))
        draw = t_units[src_unit, np.arange(n_units)[None, :]]
        if np.any(bw > 0):
            noisy = draw - loc[None, :] + rng.standard_normal((k, n_units)) * bw[None, :]
            draw = np.clip(loc[None, :] + noisy * shrink[None, :], 0.0, None)
        if np.ptp(log_factor) > 0:
            draw = draw * np.exp(_draw_log_factors(log_factor, k, rng))[:, None]
        inst_times = draw[:, unit_of]
        src_inst = src_unit[:, unit_of]
        inst_correct = c[src_inst, np.arange(n)[None, :]]
        out[done : done + k] = _quality_counts(inst_times, inst_correct, thr) / n if thr.size else 0.0
        done += k
    return PredictedQuality(thr, out, q, method, rounds, seed, round_effect)


def _round_log_factors(t: np.ndarray) -> np.ndarray:
    """log of each round's slowdown shared by all units: median over units of log(t / median_r t)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.median(t, axis=0)
        ratio = np.where(scale[None, :] > 0, t / scale[None, :], np.nan)
        logr = np.log(np.where(ratio > 0, ratio, np.nan))
    if np.all(np.isnan(logr)):
        return np.zeros(t.shape[0])
    f = np.nanmedian(np.where(np.isnan(logr).all(axis=1, keepdims=True), 0.0, logr), axis=1)
    return f - np.median(f)


def _draw_log_factors(log_factor: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k draws from a Gaussian KDE (Scott's rule) of the per-round log slowdowns."""
    bw = np.std(log_factor, ddof=1) * log_factor.size ** (-1.0 / 5.0)
    return rng.choice(log_factor, size=k) + rng.standard_normal(k) * bw


@dataclass
class PredictionCheck:
    """Predicted (from the first ``fit_rounds``) vs observed (on the held-out rounds) quality.

    Errors are absolute differences in percentage points, per threshold: ``min`` compares the
    observed worst case of the ``holdout_rounds`` rounds with the predicted expected worst case
    of as many rounds; ``mean`` and ``quantile`` compare the distributions directly.
    """

    thresholds_s: np.ndarray
    fit_rounds: int
    holdout_rounds: int
    observed: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]
    predicted_min_over_holdout: np.ndarray
    error_min_pp: np.ndarray
    error_mean_pp: np.ndarray
    error_quantile_pp: np.ndarray


def evaluate_prediction(
    times,
    correct,
    thresholds_s,
    *,
    fit_rounds: int,
    n_rounds: int = 1000,
    method: str = "empirical",
    quantile: float = 0.01,
    batch_ids=None,
    seed: int = 0,
    round_effect: bool = True,
) -> PredictionCheck:
    """Fit on rounds ``[:fit_rounds]``, predict, and compare with the rounds after them."""
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    rounds = t.shape[0]
    fit_rounds = check("fit_rounds", fit_rounds, Interval(int, 1, rounds - 1))
    pred = predict_quality(
        t[:fit_rounds], c[:fit_rounds], thresholds_s, n_rounds=n_rounds, method=method,
        quantile=quantile, batch_ids=b, seed=seed, round_effect=round_effect,
    )
    hold = quality_matrix(t[fit_rounds:], c[fit_rounds:], pred.thresholds_s, batch_ids=b)
    obs = summarize_quality(hold, quantile)
    ps = pred.summary
    hold_n = rounds - fit_rounds
    pmin = pred.expected_min(hold_n)
    return PredictionCheck(
        thresholds_s=pred.thresholds_s,
        fit_rounds=fit_rounds,
        holdout_rounds=hold_n,
        observed=obs,
        predicted=ps,
        predicted_min_over_holdout=pmin,
        error_min_pp=100.0 * np.abs(pmin - obs["min"]),
        error_mean_pp=100.0 * np.abs(ps["mean"] - obs["mean"]),
        error_quantile_pp=100.0 * np.abs(ps["quantile"] - obs["quantile"]),
    )


# --------------------------------------------------------------------------- tables in


REQUIRED_COLUMNS = ("round", "instance", "time_s", "correct")


def _parse_number(text, column: str, line: int) -> float:
    try:
        v = float(str(text).strip())
    except (TypeError, ValueError):
        raise DataError(f"column {column!r}, row {line}: expected a number, got {text!r}") from None
    return v


def arrays_from_rows(rows: Iterable[Mapping[str, str]], columns: Sequence[str] | None = None):
    """Rows of a ``round,instance,time_s,correct`` table -> ``(times[R, N], correct[R, N], round_ids, instance_ids)``.

    ``round`` must be a whole number; ``instance`` is any non-empty label (ordered
    numerically when all labels are whole numbers); ``time_s`` a finite number >= 0;
    ``correct`` 1 or 0. Every round must hold every instance exactly once. Row numbers in
    messages count the header as row 1. Raises :class:`DataError` with one line.
    """
    if columns is not None:
        missing = [col for col in REQUIRED_COLUMNS if col not in columns]
        if missing:
            raise DataError(
                f"missing column(s) {', '.join(missing)}: expected {','.join(REQUIRED_COLUMNS)}, "
                f"got {','.join(str(x) for x in columns) or '(none)'}"
            )
    cells: dict[tuple[int, str], tuple[float, bool]] = {}
    for i, row in enumerate(rows, start=2):
        for col in REQUIRED_COLUMNS:
            if row.get(col) is None or str(row.get(col)).strip() == "":
                raise DataError(f"column {col!r}, row {i}: empty value")
        r = _parse_number(row["round"], "round", i)
        if not math.isfinite(r) or r != int(r):
            raise DataError(f"column 'round', row {i}: expected a whole number, got {row['round']!r}")
        inst = str(row["instance"]).strip()
        t = _parse_number(row["time_s"], "time_s", i)
        if not math.isfinite(t) or t < 0:
            raise DataError(f"column 'time_s', row {i}: expected a finite number >= 0, got {row['time_s']!r}")
        cv = _parse_number(row["correct"], "correct", i)
        if cv not in (0.0, 1.0):
            raise DataError(f"column 'correct', row {i}: expected 1 or 0, got {row['correct']!r}")
        key = (int(r), inst)
        if key in cells:
            raise DataError(f"row {i}: instance {inst!r} appears twice in round {int(r)}")
        cells[key] = (t, cv == 1.0)
    if not cells:
        raise DataError("no data rows: expected at least one row of round,instance,time_s,correct")
    round_ids = sorted({k[0] for k in cells})
    labels = {k[1] for k in cells}
    try:
        instance_ids = sorted(labels, key=lambda s: (int(s), s))
    except ValueError:
        instance_ids = sorted(labels)
    index = {lab: j for j, lab in enumerate(instance_ids)}
    rpos = {r: k for k, r in enumerate(round_ids)}
    times = np.full((len(round_ids), len(instance_ids)), np.nan)
    corr = np.zeros((len(round_ids), len(instance_ids)), dtype=bool)
    for (r, inst), (t, cv) in cells.items():
        times[rpos[r], index[inst]] = t
        corr[rpos[r], index[inst]] = cv
    holes = np.isnan(times)
    if holes.any():
        k = int(np.argmax(holes.any(axis=1)))
        miss = [instance_ids[j] for j in np.flatnonzero(holes[k])]
        raise DataError(
            f"round {round_ids[k]} lacks {len(miss)} of {len(instance_ids)} instances "
            f"(first missing: {miss[0]!r}); every round must hold every instance"
        )
    return times, corr, round_ids, instance_ids
