"""The stopping rule of Yang et al. as published, and its bandwidth: improved Sheather-Jones (pure).

The rule of the authors' code (Jason-Young-AI/Tail-Quality, ``run_tq.py``), replayed here so it
can be compared with effbench's rules on the same rounds:

* after every ``every`` (2) rounds, from round ``1 + every`` on (rounds 3, 5, 7, ...), a Gaussian KDE
  of *all* times so far with the **ISJ** bandwidth (:func:`isj_bandwidth`, KDEpy's
  ``improved_sheather_jones``), evaluated on ``grid_points`` (1000) points from the smallest to
  the largest time so far, plus ``1e-8``;
* every ``window`` (5) fits, i.e. once the fits kept are a whole multiple of the window, the new fit
  is compared with the previous ``window`` fits: ``rJSD = sqrt(mean_i JS_i)`` where ``JS_i`` is
  ``scipy.spatial.distance.jensenshannon`` (natural logarithm; scipy returns the JS *distance*,
  the square root of the divergence, and the authors' code averages those);
* stop when ``rJSD <= threshold`` (0.05; the paper also uses 0.005).

So a check falls at rounds 13, 23, 33, ... (every ``every * window`` rounds). No I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from effbench.analysis.tail import ConvergenceResult, _as_times
from effbench.errors import DataError
from effbench.validation import Interval, check

__all__ = ["isj_bandwidth", "gaussian_density", "YangConfig", "YangStep", "YangResult", "YangMonitor", "yang_round",
           "RULES", "rule_config", "make_monitor", "replay_rule"]

ISJ_GRID = 2 ** 10


def _linear_binning(x: np.ndarray, mesh: np.ndarray) -> np.ndarray:
    """Weights (summing to 1) of ``x`` on an even ``mesh``: each point split between its two neighbours."""
    dx = (mesh[-1] - mesh[0]) / (mesh.size - 1)
    pos = (x - mesh[0]) / dx
    left = np.floor(pos).astype(np.int64)
    frac = pos - left
    out = np.bincount(left, weights=1.0 - frac, minlength=mesh.size + 1)
    out += np.bincount(left + 1, weights=frac, minlength=mesh.size + 1)[: out.size]
    return out[: mesh.size] / x.size


def _isj_fixed_point(t: float, n_unique: int, k_sq: np.ndarray, a2: np.ndarray) -> float:
    """Botev's fixed-point equation ``t - xi * gamma^[l](t)`` with l = 7 stages."""
    ell = 7
    f = 0.5 * np.pi ** (2 * ell) * np.sum(k_sq ** ell * a2 * np.exp(-k_sq * np.pi ** 2 * t))
    if f <= 0:
        return -1.0
    for s in range(ell - 1, 1, -1):
        k0 = np.prod(np.arange(1, 2 * s, 2, dtype=float)) / math.sqrt(2 * math.pi)
        const = (1 + 0.5 ** (s + 0.5)) / 3
        time = (2 * const * k0 / (n_unique * f)) ** (2.0 / (3.0 + 2.0 * s))
        f = 0.5 * np.pi ** (2 * s) * np.sum(k_sq ** s * a2 * np.exp(-k_sq * np.pi ** 2 * time))
    return t - (2 * n_unique * math.sqrt(math.pi) * f) ** (-2.0 / 5.0)


def _isj_root(n_unique: int, k_sq: np.ndarray, a2: np.ndarray) -> float:
    """The smallest positive root, searched on ``[0, tol]`` with a tolerance doubled until one is found."""
    from scipy.optimize import brentq

    n = max(min(1050, n_unique), 50)
    tol = 10e-12 + 0.01 * (n - 50) / 1000
    while tol < 1:
        try:
            root, res = brentq(_isj_fixed_point, 0, tol, args=(n_unique, k_sq, a2), full_output=True, disp=False)
            if res.converged and root > 0:
                return float(root)
        except ValueError:
            pass
        tol *= 2.0
    raise DataError("isj_bandwidth: the fixed point of improved Sheather-Jones was not found (too few distinct values)")


def isj_bandwidth(samples) -> float:
    """Improved Sheather-Jones bandwidth (Botev, Grotowski, Kroese 2010), as KDEpy 1.1 computes it.

    The data are binned linearly on 1024 points spanning ``[min - b, max + b]`` with
    ``b = max(0.5 * range, 6)`` (KDEpy's ``autogrid(boundary_abs=6, boundary_rel=0.5)``, in the
    data's own unit), the DCT-II of the bins gives the fixed-point equation, and the bandwidth is
    ``sqrt(t*) * range``. Like KDEpy's, the result depends on the data's unit when the range is
    small against 6: for times in seconds the mesh is mostly empty and the bandwidth much smaller
    than in microseconds. Raises :class:`DataError` with fewer than two distinct values.
    """
    from scipy.fft import dct

    x = np.asarray(samples, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)) or float(np.ptp(x)) == 0.0:
        raise DataError("isj_bandwidth: expected at least two distinct finite values")
    lo, hi = float(x.min()), float(x.max())
    border = max(0.5 * (hi - lo), 6.0)
    mesh = np.linspace(lo - border, hi + border, ISJ_GRID)
    a = dct(_linear_binning(x, mesh), type=2)
    k_sq = np.arange(1, ISJ_GRID, dtype=float) ** 2
    t_star = _isj_root(int(np.unique(x).size), k_sq, a[1:] ** 2)
    return math.sqrt(t_star) * (hi - lo)


def gaussian_density(samples, grid, bandwidth: float, *, chunk_pairs: int = 4_000_000) -> np.ndarray:
    """Gaussian KDE density of ``samples`` at ``grid`` (exact, kernels cut at 9 bandwidths)."""
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    g = np.asarray(grid, dtype=float)
    h = float(bandwidth)
    if h <= 0:  # no spread: all the mass at the grid point nearest to each sample
        near = np.abs(g[:, None] - x[None, :]).argmin(axis=0) if x.size * g.size <= 4_000_000 else np.searchsorted(g, x).clip(0, g.size - 1)
        return np.bincount(near, minlength=g.size) / x.size
    lo = np.searchsorted(x, g - 9 * h, side="left")
    hi = np.searchsorted(x, g + 9 * h, side="right")
    out = np.zeros(g.size)
    counts = hi - lo
    start = 0
    while start < g.size:
        stop = start + 1
        while stop < g.size and counts[start:stop + 1].sum() <= chunk_pairs:
            stop += 1
        idx = np.repeat(np.arange(start, stop), counts[start:stop])
        offs = np.arange(idx.size) - np.repeat(np.cumsum(counts[start:stop]) - counts[start:stop], counts[start:stop])
        z = (g[idx] - x[lo[idx] + offs]) / h
        out[start:stop] = np.bincount(idx - start, weights=np.exp(-0.5 * z * z), minlength=stop - start)
        start = stop
    return out / (x.size * h * math.sqrt(2 * math.pi))


@dataclass(frozen=True)
class YangConfig:
    """The authors' rule: ``every`` 2, ``window`` 5, ``threshold`` 0.05 (rJSD), ``grid_points`` 1000,
    stop anyway at ``max_rounds``. ``min_rounds`` exists for a common interface; the schedule
    itself never stops before round ``1 + every * (window + 1)``. ``isj_unit_s``: the unit the
    times are given to ISJ in (1.0: seconds, as the authors do; 1e-6: microseconds), which changes
    KDEpy's bandwidth (see :func:`isj_bandwidth`)."""

    every: int = 2
    window: int = 5
    threshold: float = 0.05
    grid_points: int = 1000
    min_rounds: int = 1
    max_rounds: int = 200
    epsilon: float = 1e-8
    isj_unit_s: float = 1.0

    def __post_init__(self):
        for name, low in (("every", 1), ("window", 1), ("grid_points", 2), ("min_rounds", 1), ("max_rounds", 1)):
            object.__setattr__(self, name, check(name, getattr(self, name), Interval(int, low, None)))
        object.__setattr__(self, "isj_unit_s", check("isj_unit_s", self.isj_unit_s, Interval(float, 0, None, closed="neither")))
        object.__setattr__(self, "threshold", check("threshold", self.threshold, Interval(float, 0, None, closed="neither")))


@dataclass(frozen=True)
class YangStep:
    """One fit: after ``round`` rounds, its ISJ bandwidth, and the rJSD when it was a check."""

    round: int
    points: int
    bandwidth_s: float
    rjsd: float | None

    @property
    def max_js(self) -> float | None:
        return self.rjsd


@dataclass
class YangResult(ConvergenceResult):
    """Where the authors' rule stopped (``stopped_by``: ``converged``, ``max_rounds``, ``exhausted``)."""

    def to_dict(self) -> dict:
        cfg = self.config
        return {"rule": "yang", "converged": self.converged, "stopped_by": self.stopped_by,
                "rounds_used": self.rounds_used, "rounds_available": self.rounds_available,
                "every": cfg.every, "window": cfg.window, "threshold": cfg.threshold,
                "min_rounds": cfg.min_rounds, "max_rounds": cfg.max_rounds, "grid_points": cfg.grid_points,
                "isj_unit_s": cfg.isj_unit_s,
                "bandwidth_rule": "isj", "statistic": "rJSD = sqrt(mean of scipy jensenshannon, natural log)",
                "trace": [{"round": s.round, "points": s.points, "bandwidth_s": s.bandwidth_s, "rjsd": s.rjsd,
                           "max_js": s.rjsd} for s in self.trace]}


class YangMonitor:
    """The authors' rule, incremental: :meth:`update` takes one round and returns True to stop."""

    def __init__(self, config: YangConfig | None = None):
        self.config = config or YangConfig()
        self._rounds: list[np.ndarray] = []
        self._fits: list[tuple[np.ndarray, float]] = []  # (sorted samples, bandwidth) of every fit kept
        self.trace: list[YangStep] = []
        self.converged = False
        self.stopped_by: str | None = None

    @property
    def rounds_seen(self) -> int:
        return len(self._rounds)

    def _rjsd(self, x: np.ndarray, bw: float) -> float:
        from scipy.spatial.distance import jensenshannon

        cfg = self.config
        grid = np.linspace(x.min(), x.max(), cfg.grid_points)
        new = gaussian_density(x, grid, bw) + cfg.epsilon
        dists = [jensenshannon(new, gaussian_density(old, grid, old_bw) + cfg.epsilon)
                 for old, old_bw in self._fits[-cfg.window:]]
        return math.sqrt(sum(dists) / cfg.window)

    def update(self, round_times) -> bool:
        if self.stopped_by is not None:
            return True
        t = _as_times(round_times).ravel()
        self._rounds.append(t.copy())
        cfg, r = self.config, len(self._rounds)
        if r > 1 and (r - 1) % cfg.every == 0:
            x = np.concatenate(self._rounds)
            bw = isj_bandwidth(x / cfg.isj_unit_s) * cfg.isj_unit_s if np.ptp(x) > 0 else 0.0
            rjsd = None
            if bw > 0 and self._fits and len(self._fits) % cfg.window == 0:
                rjsd = self._rjsd(x, bw)
            self.trace.append(YangStep(r, int(x.size), bw, rjsd))
            if rjsd is not None and rjsd <= cfg.threshold and r >= cfg.min_rounds:
                self.converged, self.stopped_by = True, "converged"
                return True
            self._fits.append((x, bw))
        if r >= cfg.max_rounds:
            self.stopped_by = "max_rounds"
            return True
        return False

    def result(self) -> YangResult:
        return YangResult(self.converged, self.stopped_by or "exhausted", self.rounds_seen, self.rounds_seen,
                          self.config, list(self.trace))


def yang_round(times, config: YangConfig | None = None) -> YangResult:
    """Replay the authors' rule over recorded rounds ``times[round, instance]``."""
    from effbench.analysis.tail import replay_monitor

    return replay_monitor(YangMonitor(config), times)


RULES = ("js", "tail", "yang")


def rule_config(rule: str, *, every: int = 2, window: int | None = None, threshold: float = 0.05,
                round_threshold: float = 0.05, min_rounds: int = 8, max_rounds: int = 200, seed: int = 0):
    """The configuration of a stopping rule by name: ``js`` (KDE of the pooled times, Scott, JS
    distance), ``tail`` (the same, and the round effects stable too) or ``yang`` (the authors' rule).
    ``window`` defaults to the rule's own: 3 fits (js, tail) or 5 (yang)."""
    from effbench.analysis.tail import ConvergenceConfig
    from effbench.validation import Options

    check("rule", rule, Options(set(RULES)))
    if rule == "yang":
        return YangConfig(every=every, window=window or 5, threshold=threshold, min_rounds=min_rounds,
                          max_rounds=max_rounds)
    return ConvergenceConfig(every=every, window=window or 3, threshold=threshold, min_rounds=min_rounds,
                             max_rounds=max_rounds, seed=seed,
                             round_threshold=round_threshold if rule == "tail" else None)


def make_monitor(config=None):
    """The incremental monitor of a rule configuration (:class:`YangConfig` or ``ConvergenceConfig``)."""
    from effbench.analysis.tail import ConvergenceMonitor

    return YangMonitor(config) if isinstance(config, YangConfig) else ConvergenceMonitor(config)


def replay_rule(times, config=None):
    """Where a rule (any configuration :func:`make_monitor` takes) stops on recorded rounds."""
    from effbench.analysis.tail import convergence_round

    return yang_round(times, config) if isinstance(config, YangConfig) else convergence_round(times, config)
