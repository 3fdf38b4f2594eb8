"""The efficiency misnomer: where cost indicators disagree about which model is cheaper.

Dehghani, Arnab, Beyer, Vaswani and Tay, "The Efficiency Misnomer", ICLR 2022, show that
parameters, FLOPs, throughput and latency can rank the same models differently. This module
measures how much, on any table of models x indicators (pure: arrays in, results out).

Each indicator has a *direction*: ``"min"`` when less is better (parameters, GMACs, latency,
energy) and ``"max"`` when more is better (throughput, accuracy).

Rank correlations (every pair of indicators, over the models that have both values):

* Kendall's tau-b (:func:`scipy.stats.kendalltau`) and Spearman's rho
  (:func:`scipy.stats.spearmanr`), with the two-sided p-value of scipy.
* Two signs are kept. ``raw`` correlates the values as they are in the table, so GMACs against
  throughput shows the familiar negative sign. ``oriented`` correlates *goodness* (each value
  multiplied by +1 for ``max``, -1 for ``min``): +1 means the two indicators always agree on which
  of two models is more efficient, -1 means they always disagree. ``oriented = raw`` when both
  indicators have the same direction and ``oriented = -raw`` otherwise; the p-value is the same.
* Confidence interval (default 95 %): Fisher z-transform, ``tanh(atanh(r) +- z_(1-a/2) * se)``,
  with ``se = sqrt(0.437 / (n - 4))`` for Kendall (Fieller, Hartley and Pearson, 1957) and
  ``se = sqrt((1 + r^2 / 2) / (n - 3))`` for Spearman (Bonett and Wright, 2000). Undefined
  (``None``) for fewer than 5 (Kendall) or 4 (Spearman) models, or when the estimate is NaN
  (a constant column).

Contradictions: a pair of models {A, B} and a pair of indicators (X, Y) contradict when one model
is better on X and the other is better on Y, and the two *factors* (ratio of the better value to
the worse one, so always >= 1) are large: the larger at least ``min_factor`` (default 1.25) and the
smaller at least ``min_other_factor`` (default 1.1). Factors are ratios, so only values > 0 take
part (a model with a missing or non-positive value on X or Y is left out of that indicator pair).
With both factors at 1.0 the count equals the number of discordant pairs behind Kendall's tau.
Each contradiction is worded from the model that is better on X, the indicator that comes first
in the given order: "A needs 4.0x fewer GMACs than B but has 2.1x lower GPU throughput".
The search is vectorised with numpy in blocks of rows (no Python loop over model pairs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.validation import Interval, check

#: ``schema`` of :meth:`TableMisnomer.to_dict` (the document ``effbench misnomer --json`` writes)
SCHEMA = "effbench.misnomer/1"
_CONFIDENCE = Interval(float, 0, 1, closed="neither")
_FACTOR = Interval(float, 1, None)

__all__ = [
    "DEFAULT_MIN_FACTOR",
    "DEFAULT_MIN_OTHER_FACTOR",
    "DEFAULT_TOP",
    "Indicator",
    "Correlation",
    "Contradiction",
    "PairContradictions",
    "MisnomerResult",
    "SCHEMA",
    "TableInput",
    "TableMisnomer",
    "table_misnomer",
    "rank_correlations",
    "find_contradictions",
    "misnomer_analysis",
    "describe_contradiction",
    "format_factor",
]

DEFAULT_MIN_FACTOR = 1.25
DEFAULT_MIN_OTHER_FACTOR = 1.1
DEFAULT_TOP = 20
DEFAULT_CONFIDENCE = 0.95

# Relative slack when comparing a ratio with a threshold, so that 5/4 counts as ">= 1.25".
_LOG_TOL = 1e-9
_BLOCK_ELEMENTS = 1 << 20  # cells of one broadcast block (about 8 MB of float64)

_DIRECTIONS = ("max", "min")

# kind -> (natural direction, better template, worse template).
# Templates take {f} (the factor, formatted), {label} and {than} (" than B" or "").
_KINDS: dict[str, tuple[str, str, str]] = {
    "count": ("min", "needs {f}x fewer {label}{than}", "needs {f}x more {label}"),
    "time": ("min", "is {f}x faster{than} ({label})", "is {f}x slower ({label})"),
    "amount": ("min", "uses {f}x less {label}{than}", "uses {f}x more {label}"),
    "rate": ("max", "has {f}x higher {label}{than}", "has {f}x lower {label}"),
    "score": ("max", "has {f}x higher {label}{than}", "has {f}x lower {label}"),
}
_GENERIC = ("is {f}x better on {label}{than}", "is {f}x worse on {label}")

# Checked in order: the first pattern that matches the lower-cased column name wins.
_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    ("rate", r"per_?s(ec(ond)?)?$|throughput|per_sec|_qps$|_fps$|samples_s$|tokens_s$"),
    ("time", r"latency|_(s|ms|us|ns)$|^time|_time|seconds|duration"),
    ("count", r"flops|macs|params|param_count|parameters"),
    ("amount", r"energy|_j$|joule|_wh$|_kwh$|memory|_mem|bytes|size|_(kb|mb|gb)$|carbon|co2"),
    ("score", r"acc|top1|top5|top_1|top_5|f1|auc|score|bleu|map$|iou"),
)

_KNOWN_LABELS = {
    "gmacs": "GMACs",
    "macs": "MACs",
    "flops": "FLOPs",
    "gflops": "GFLOPs",
    "params": "parameters",
    "params_m": "parameters",
    "param_count": "parameters",
    "n_params": "parameters",
    "top1": "top-1 accuracy",
    "top5": "top-5 accuracy",
    "accuracy": "accuracy",
}


def _infer_kind(name: str) -> str | None:
    low = name.lower()
    for kind, pattern in _KIND_PATTERNS:
        if re.search(pattern, low):
            return kind
    return None


@dataclass(frozen=True)
class Indicator:
    """One column to compare: ``direction`` is ``"max"`` (more is better) or ``"min"``.

    ``label`` is the human name used in sentences (default: a known name such as "GMACs" or
    "parameters", else the column name). ``kind`` picks the verbs ("count": fewer/more,
    "time": faster/slower, "amount": less/more, "rate" and "score": higher/lower); by default it
    is inferred from the column name, and the generic "better/worse on <label>" is used when no
    kind matches or the kind's natural direction is not ``direction``.
    """

    name: str
    direction: str
    label: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"indicator name must be a non-empty string, got {self.name!r}")
        if self.direction not in _DIRECTIONS:
            raise ConfigError(
                f"indicator {self.name!r}: direction must be 'max' or 'min', got {self.direction!r}"
            )
        if self.kind is not None and self.kind not in _KINDS:
            raise ConfigError(
                f"indicator {self.name!r}: kind must be one of {sorted(_KINDS)}, got {self.kind!r}"
            )

    @property
    def sign(self) -> int:
        """+1 for ``max``, -1 for ``min``: multiply a value by it to get 'goodness'."""
        return 1 if self.direction == "max" else -1

    @property
    def display(self) -> str:
        return self.label or _KNOWN_LABELS.get(self.name.lower(), self.name)

    def templates(self) -> tuple[str, str]:
        kind = self.kind or _infer_kind(self.name)
        if kind is not None:
            natural, better, worse = _KINDS[kind]
            if natural == self.direction:
                return better, worse
        return _GENERIC

    def to_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "label": self.display}


def _coerce_indicator(obj) -> Indicator:
    """Accept an :class:`Indicator` or anything with ``name`` and ``direction`` (an Objective)."""
    if isinstance(obj, Indicator):
        return obj
    name = getattr(obj, "name", None)
    direction = getattr(obj, "direction", None)
    if name is None or direction is None:
        raise ConfigError(f"indicator must have a name and a direction ('max' or 'min'), got {obj!r}")
    return Indicator(
        name=name,
        direction=getattr(direction, "value", direction),
        label=getattr(obj, "label", None),
        kind=getattr(obj, "kind", None),
    )


@dataclass(frozen=True)
class Correlation:
    """Kendall tau-b and Spearman rho between two indicators, raw and oriented.

    ``*_oriented`` correlates goodness (+1: always agree on which model is more efficient);
    ``*_raw`` correlates the values as stored. ``*_ci`` are ``(low, high)`` or ``None``.
    """

    x: str
    y: str
    n_models: int
    kendall_oriented: float
    kendall_oriented_ci: tuple[float, float] | None
    kendall_raw: float
    kendall_raw_ci: tuple[float, float] | None
    kendall_p_value: float
    spearman_oriented: float
    spearman_oriented_ci: tuple[float, float] | None
    spearman_raw: float
    spearman_raw_ci: tuple[float, float] | None
    spearman_p_value: float

    def to_dict(self) -> dict:
        def part(oriented, oriented_ci, raw, raw_ci, p):
            return {
                "oriented": _num(oriented),
                "oriented_ci": _ci(oriented_ci),
                "raw": _num(raw),
                "raw_ci": _ci(raw_ci),
                "p_value": _num(p),
            }

        return {
            "x": self.x,
            "y": self.y,
            "n_models": self.n_models,
            "kendall_tau_b": part(
                self.kendall_oriented, self.kendall_oriented_ci, self.kendall_raw,
                self.kendall_raw_ci, self.kendall_p_value,
            ),
            "spearman_rho": part(
                self.spearman_oriented, self.spearman_oriented_ci, self.spearman_raw,
                self.spearman_raw_ci, self.spearman_p_value,
            ),
        }


@dataclass(frozen=True)
class Contradiction:
    """Model ``better`` beats ``worse`` on ``x`` by ``factor_x`` but loses on ``y`` by ``factor_y``."""

    x: str
    y: str
    better: str
    worse: str
    factor_x: float
    factor_y: float
    text: str

    @property
    def strength(self) -> float:
        return self.factor_x * self.factor_y

    def to_dict(self) -> dict:
        return {
            "better_on_x": self.better,
            "better_on_y": self.worse,
            "factor_x": self.factor_x,
            "factor_y": self.factor_y,
            "strength": self.strength,
            "text": self.text,
        }


@dataclass(frozen=True)
class PairContradictions:
    """All contradictions for one indicator pair: the full count and the strongest few."""

    x: str
    y: str
    n_models: int
    n_pairs: int
    count: int
    top: tuple[Contradiction, ...]

    @property
    def share(self) -> float:
        return self.count / self.n_pairs if self.n_pairs else float("nan")

    def to_dict(self) -> dict:
        return {
            "x": self.x,
            "y": self.y,
            "n_models": self.n_models,
            "n_model_pairs": self.n_pairs,
            "count": self.count,
            "share": _num(self.share),
            "top": [c.to_dict() for c in self.top],
        }


@dataclass(frozen=True)
class MisnomerResult:
    indicators: tuple[Indicator, ...]
    n_models: int
    confidence: float
    min_factor: float
    min_other_factor: float
    correlations: tuple[Correlation, ...]
    contradictions: tuple[PairContradictions, ...]

    @property
    def total_contradictions(self) -> int:
        return sum(p.count for p in self.contradictions)

    def to_dict(self) -> dict:
        return {
            "method": {
                "reference": "Dehghani et al., The Efficiency Misnomer, ICLR 2022",
                "correlation": (
                    "Kendall tau-b and Spearman rho over the models with both values; 'raw' "
                    "correlates the stored values, 'oriented' correlates goodness (value x +1 "
                    "for max, x -1 for min) so +1 means the indicators agree on which model is "
                    "more efficient"
                ),
                "confidence_interval": (
                    "Fisher z; se = sqrt(0.437/(n-4)) for Kendall (Fieller et al. 1957), "
                    "sqrt((1+r^2/2)/(n-3)) for Spearman (Bonett and Wright 2000)"
                ),
                "confidence": self.confidence,
                "contradiction": (
                    "models A, B with A better on x and B better on y; the larger factor "
                    ">= min_factor and the smaller >= min_other_factor (factors are ratios of "
                    "positive values)"
                ),
                "min_factor": self.min_factor,
                "min_other_factor": self.min_other_factor,
            },
            "n_models": self.n_models,
            "indicators": [i.to_dict() for i in self.indicators],
            "correlations": [c.to_dict() for c in self.correlations],
            "contradictions": [p.to_dict() for p in self.contradictions],
            "total_contradictions": self.total_contradictions,
        }


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _ci(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]


def format_factor(f: float) -> str:
    """4.0, 12, 1.25: two decimals below 2, one below 10, none above; 2.0e+23 from a million on, and
    "over 1.8e+308" for a ratio beyond the largest float."""
    if math.isinf(f):
        return f"over {np.finfo(float).max:.1e}"
    if f >= 999_999.5:
        return f"{f:.1e}"
    if f >= 9.95:
        return f"{f:.0f}"
    if f >= 1.995:
        return f"{f:.1f}"
    return f"{f:.2f}"


def describe_contradiction(
    x: Indicator, y: Indicator, better: str, worse: str, factor_x: float, factor_y: float
) -> str:
    """The plain-words sentence, e.g. "A needs 4.0x fewer GMACs than B but is 2.1x slower (...)"."""
    bx, _ = x.templates()
    _, wy = y.templates()
    left = bx.format(f=format_factor(factor_x), label=x.display, than=f" than {worse}")
    right = wy.format(f=format_factor(factor_y), label=y.display, than="")
    return f"{better} {left} but {right}"


# --------------------------------------------------------------------------- validation


def _prepare(
    names: Sequence[str], values: Mapping[str, Sequence[float]], indicators: Sequence
) -> tuple[list[str], tuple[Indicator, ...], dict[str, np.ndarray]]:
    inds = tuple(_coerce_indicator(i) for i in indicators)
    if len(inds) < 2:
        raise ConfigError(f"indicators: need at least 2 to compare, got {len(inds)}")
    seen: set[str] = set()
    for ind in inds:
        if ind.name in seen:
            raise ConfigError(f"indicators: {ind.name!r} is given twice")
        seen.add(ind.name)
    names = [str(n) for n in names]
    n = len(names)
    if n < 3:
        raise DataError(f"models: need at least 3 to rank, got {n}")
    cols: dict[str, np.ndarray] = {}
    for ind in inds:
        if ind.name not in values:
            raise DataError(
                f"indicator {ind.name!r} is not a column; columns: {', '.join(sorted(values))}"
            )
        try:
            arr = np.asarray(values[ind.name], dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"column {ind.name!r} must be numeric: {exc}") from None
        if arr.shape != (n,):
            raise DataError(
                f"column {ind.name!r} must hold one value per model ({n}), got shape {arr.shape}"
            )
        arr = np.where(np.isfinite(arr), arr, np.nan)
        cols[ind.name] = arr
    return names, inds, cols


# --------------------------------------------------------------------------- correlations


def _fisher_ci(r: np.ndarray, se: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Fisher-z interval; r may be +-1 (then the interval collapses onto it)."""
    from scipy.stats import norm

    zcrit = norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(np.clip(r, -1.0, 1.0))
        lo = np.tanh(z - zcrit * se)
        hi = np.tanh(z + zcrit * se)
    return lo, hi


def rank_correlations(
    names: Sequence[str],
    values: Mapping[str, Sequence[float]],
    indicators: Sequence,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[Correlation, ...]:
    """Kendall tau-b and Spearman rho, with intervals, for every pair of indicators (in order).

    Each pair uses the models where both values are finite (pairwise complete).
    """
    confidence = check("confidence", confidence, _CONFIDENCE)
    _, inds, cols = _prepare(names, values, indicators)
    return _correlations(inds, cols, confidence)


def _correlations(inds, cols, confidence) -> tuple[Correlation, ...]:
    from scipy.stats import kendalltau, spearmanr

    pairs = [(i, j) for i in range(len(inds)) for j in range(i + 1, len(inds))]
    raw = []  # (n, tau, p_tau, rho, p_rho)
    for i, j in pairs:
        a, b = cols[inds[i].name], cols[inds[j].name]
        ok = ~(np.isnan(a) | np.isnan(b))
        n = int(ok.sum())
        if n < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
            raw.append((n, math.nan, math.nan, math.nan, math.nan))
            continue
        kt = kendalltau(a[ok], b[ok])  # tau-b by default
        sr = spearmanr(a[ok], b[ok])
        raw.append((n, float(kt.statistic), float(kt.pvalue), float(sr.statistic), float(sr.pvalue)))

    n_arr = np.array([r[0] for r in raw], dtype=float)
    sign = np.array([inds[i].sign * inds[j].sign for i, j in pairs], dtype=float)
    tau_o = np.array([r[1] for r in raw]) * sign
    rho_o = np.array([r[3] for r in raw]) * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        se_tau = np.where(n_arr > 4, np.sqrt(0.437 / (n_arr - 4)), np.nan)
        se_rho = np.where(n_arr > 3, np.sqrt((1.0 + rho_o**2 / 2.0) / (n_arr - 3)), np.nan)
    tau_lo, tau_hi = _fisher_ci(tau_o, se_tau, confidence)
    rho_lo, rho_hi = _fisher_ci(rho_o, se_rho, confidence)

    def ci(lo, hi):
        return (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else None

    def flip(c, s):
        return None if c is None else ((c[0], c[1]) if s > 0 else (-c[1], -c[0]))

    out = []
    for k, (i, j) in enumerate(pairs):
        n, _, p_tau, _, p_rho = raw[k]
        t_ci = ci(tau_lo[k], tau_hi[k])
        r_ci = ci(rho_lo[k], rho_hi[k])
        out.append(
            Correlation(
                x=inds[i].name,
                y=inds[j].name,
                n_models=n,
                kendall_oriented=float(tau_o[k]),
                kendall_oriented_ci=t_ci,
                kendall_raw=float(tau_o[k] * sign[k]),
                kendall_raw_ci=flip(t_ci, sign[k]),
                kendall_p_value=p_tau,
                spearman_oriented=float(rho_o[k]),
                spearman_oriented_ci=r_ci,
                spearman_raw=float(rho_o[k] * sign[k]),
                spearman_raw_ci=flip(r_ci, sign[k]),
                spearman_p_value=p_rho,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- contradictions


def _check_factors(min_factor: float, min_other_factor: float, top: int) -> tuple[float, float, int]:
    return (check("min_factor", min_factor, _FACTOR), check("min_other_factor", min_other_factor, _FACTOR),
            check("top", top, Interval(int, 0, None)))


def _pair_contradictions(
    x: Indicator,
    y: Indicator,
    names: list[str],
    vx: np.ndarray,
    vy: np.ndarray,
    log_hi: float,
    log_lo: float,
    top: int,
) -> PairContradictions:
    ok = np.isfinite(vx) & np.isfinite(vy) & (vx > 0) & (vy > 0)
    idx = np.flatnonzero(ok)
    m = idx.size
    n_pairs = m * (m - 1) // 2
    # goodness in log space: A better than B on X by factor f  <=>  gx[A] - gx[B] = log f
    gx = x.sign * np.log(vx[idx])
    gy = y.sign * np.log(vy[idx])
    thr_hi = log_hi - _LOG_TOL
    thr_lo = log_lo - _LOG_TOL
    count = 0
    best_i = np.empty(0, dtype=np.int64)
    best_j = np.empty(0, dtype=np.int64)
    best_s = np.empty(0, dtype=float)
    block = max(1, _BLOCK_ELEMENTS // max(m, 1))
    cols = np.arange(m)
    for start in range(0, m, block):
        rows = np.arange(start, min(start + block, m))
        dx = gx[rows, None] - gx[None, :]
        dy = gy[rows, None] - gy[None, :]
        ax = np.abs(dx)
        ay = np.abs(dy)
        big = np.maximum(ax, ay)
        small = np.minimum(ax, ay)
        hit = (dx * dy < 0) & (big >= thr_hi) & (small >= thr_lo) & (cols[None, :] > rows[:, None])
        r, c = np.nonzero(hit)
        count += r.size
        if top and r.size:
            score = big[r, c] + small[r, c]  # log of the product of the two factors
            if r.size > top:
                keep = np.argpartition(-score, top - 1)[:top]
                r, c, score = r[keep], c[keep], score[keep]
            best_i = np.concatenate([best_i, rows[r]])
            best_j = np.concatenate([best_j, c])
            best_s = np.concatenate([best_s, score])
    listed: list[Contradiction] = []
    if top and best_s.size:
        # strongest first; ties broken by model names so the order is deterministic
        recs = []
        for i, j, s in zip(best_i.tolist(), best_j.tolist(), best_s.tolist()):
            a, b = (i, j) if gx[i] > gx[j] else (j, i)  # a: the model better on x
            recs.append((-s, names[idx[a]], names[idx[b]], a, b))
        recs.sort()
        for _, na, nb, a, b in recs[:top]:
            fx, fy = _factor(gx[a] - gx[b]), _factor(gy[b] - gy[a])
            listed.append(
                Contradiction(
                    x=x.name, y=y.name, better=na, worse=nb, factor_x=fx, factor_y=fy,
                    text=describe_contradiction(x, y, na, nb, fx, fy),
                )
            )
    return PairContradictions(
        x=x.name, y=y.name, n_models=m, n_pairs=n_pairs, count=int(count), top=tuple(listed)
    )


def _factor(log_ratio: float) -> float:
    """exp of a log ratio; beyond the largest float (1e308 next to 1e-300) it is infinity, not an error."""
    return math.exp(log_ratio) if log_ratio < _MAX_LOG else math.inf


_MAX_LOG = math.log(np.finfo(float).max)


def find_contradictions(
    names: Sequence[str],
    values: Mapping[str, Sequence[float]],
    indicators: Sequence,
    *,
    min_factor: float = DEFAULT_MIN_FACTOR,
    min_other_factor: float = DEFAULT_MIN_OTHER_FACTOR,
    top: int = DEFAULT_TOP,
) -> tuple[PairContradictions, ...]:
    """Contradicting model pairs for every pair of indicators (see the module docstring).

    Returns one :class:`PairContradictions` per indicator pair, in order: the full count and the
    ``top`` strongest (largest product of the two factors first).
    """
    min_factor, min_other_factor, top = _check_factors(min_factor, min_other_factor, top)
    names, inds, cols = _prepare(names, values, indicators)
    return _contradictions(names, inds, cols, min_factor, min_other_factor, top)


def _contradictions(names, inds, cols, min_factor, min_other_factor, top):
    log_hi = math.log(max(min_factor, min_other_factor))
    log_lo = math.log(min(min_factor, min_other_factor))
    out = []
    for i in range(len(inds)):
        for j in range(i + 1, len(inds)):
            x, y = inds[i], inds[j]
            out.append(
                _pair_contradictions(
                    x, y, names, cols[x.name], cols[y.name], log_hi, log_lo, int(top)
                )
            )
    return tuple(out)


def misnomer_analysis(
    names: Sequence[str],
    values: Mapping[str, Sequence[float]],
    indicators: Sequence,
    *,
    min_factor: float = DEFAULT_MIN_FACTOR,
    min_other_factor: float = DEFAULT_MIN_OTHER_FACTOR,
    top: int = DEFAULT_TOP,
    confidence: float = DEFAULT_CONFIDENCE,
) -> MisnomerResult:
    """Rank correlations and contradictions between every pair of ``indicators``.

    ``names``: one model name per row; ``values``: column name -> one number per model (NaN or
    None for missing); ``indicators``: :class:`Indicator` objects or anything with ``name`` and
    ``direction`` (such as :class:`effbench.analysis.objectives.Objective`).
    """
    confidence = check("confidence", confidence, _CONFIDENCE)
    min_factor, min_other_factor, top = _check_factors(min_factor, min_other_factor, top)
    names, inds, cols = _prepare(names, values, indicators)
    return MisnomerResult(
        indicators=inds,
        n_models=len(names),
        confidence=confidence,
        min_factor=float(min_factor),
        min_other_factor=float(min_other_factor),
        correlations=_correlations(inds, cols, confidence),
        contradictions=_contradictions(names, inds, cols, min_factor, min_other_factor, top),
    )


# --------------------------------------------------------------------------- tables of models


@dataclass(frozen=True)
class TableInput:
    """Where the models of a table came from: the files (as given and absolute), the join key, the
    rows read per file, kept and left out (one reason per row left out), and the loader's notes."""

    files: tuple[str, ...]
    paths: tuple[str, ...]
    key: str
    rows_read: Mapping[str, int]
    rows_kept: int
    dropped_reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def from_load_report(cls, report, key: str) -> "TableInput":
        """From what :func:`effbench.store.tables.load_tables` reports (its ``LoadReport``)."""
        import os

        return cls(tuple(report.files), tuple(os.path.abspath(f) for f in report.files), key, dict(report.rows_read),
                   report.rows_kept, tuple(d.reason for d in report.dropped), tuple(report.notes))

    def to_dict(self) -> dict:
        return {"files": list(self.paths), "key": self.key, "rows_read": dict(self.rows_read),
                "rows_kept": self.rows_kept, "rows_dropped": len(self.dropped_reasons)}


@dataclass(frozen=True)
class TableMisnomer:
    """The misnomer analysis of a table of models, with where the table came from."""

    input: TableInput
    result: MisnomerResult

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "input": self.input.to_dict(), **self.result.to_dict()}


def table_misnomer(source: TableInput, names: Sequence[str], values: Mapping[str, Sequence[float]],
                   indicators: Sequence, **options) -> TableMisnomer:
    """:func:`misnomer_analysis` of a loaded table (``options``: its keyword arguments), with its source."""
    return TableMisnomer(source, misnomer_analysis(names, values, indicators, **options))
