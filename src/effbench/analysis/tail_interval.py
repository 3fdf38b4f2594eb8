"""Prediction intervals for tail quality over future rounds (pure analysis).

A point prediction of the worst round cannot promise what its fitting rounds did not see: on
shared machines whole rounds run 1.3-2.3x slower for a few rounds every few seconds
(docs/tail-quality.md), and whether K fitting rounds contain such an episode is chance. This
module predicts, per deadline, an **interval** for the worst quality (and for the ``q``-quantile
quality) over ``R`` future rounds, from the posterior predictive distribution of a model in which
late-instance counts vary from round to round, and from one stretch of rounds to the next:

* per deadline ``d`` and fitting round ``r``, ``late[r]`` = the correct instances later than ``d``;
  the quality of a round is ``(correct - late) / instances``;
* **normal rounds**: late counts have the mean and variance of the fitting rounds under
  Bayesian-bootstrap weights (so the parameters are uncertain, more so with few rounds) and are
  drawn as counts: beta-binomial when overdispersed, else a rounded normal (:func:`_draw_late`);
* **a change of load**: the mean of the predicted stretch is multiplied by ``exp(z * tau)``,
  ``z ~ N(0, 1)`` shared by every deadline: on a shared machine the next seconds need not look like
  the last ones. ``tau`` has a prior (0.5, worth 2 blocks) pooled with how much blocks of 10
  consecutive fitting rounds differ (a scaled inverse chi-square update), so many steady rounds
  shrink it;
* **slow episodes**: a round's shared slowdown ``f_r`` is the median over instances of
  ``log(times[r, i] / median_r times[r, i])`` (as in :func:`effbench.analysis.tail.predict_quality`);
  runs of rounds slower than ``slow_ratio`` (1.15x) are episodes. They start at a rate ``rho`` per
  round with a Beta prior (mean 1/50: an episode every few seconds at tens of milliseconds per
  round, what the machines here show) updated by the episodes seen; an episode's depth is one of the
  depths seen or, with probability ``1 / (seen + 1)``, a depth from the prior range (1.15x to 2.5x,
  log-uniform), its length likewise (2 to 3 rounds). In an episode round of depth ``delta`` the late
  counts are those of the normal fitting rounds at the deadline ``d / delta``. So with few rounds
  and no episode seen the prior keeps a real probability of an unseen slow regime, and the interval
  reaches down to what an episode would cost; as quiet rounds accumulate the posterior rate shrinks
  and the interval narrows.

Each posterior draw simulates ``R`` future rounds and keeps their worst quality (and quantile);
the interval is the central ``level`` range of those draws, the point their median. The worst
quality is discrete, so the closed interval holds at least ``level`` of the draws, often more;
:class:`IntervalCheck` reports that ``content`` and a randomised PIT for calibration checks. Constant
times have no spread, no change of load and no episodes: the interval is a point.

No I/O, no clock, no printing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from effbench.analysis.tail import (
    QUANTILE,
    QUANTILE_METHOD,
    _as_times,
    _quality_counts,
    _round_log_factors,
    apply_batch_times,
    validate_tail_arrays,
)
from effbench.errors import ConfigError
from effbench.validation import Interval, check

__all__ = [
    "IntervalConfig",
    "RoundEffectPosterior",
    "WorstInterval",
    "IntervalCheck",
    "fit_round_effect",
    "predict_worst_interval",
    "check_worst_interval",
    "episode_stream",
    "prior_stream",
    "held_out_rows",
    "interval_settings",
]

LEVEL = Interval(float, 0, 1, closed="neither")


@dataclass(frozen=True)
class IntervalConfig:
    """Settings of the interval predictor (validated here).

    ``level``: the central probability of the interval (0.9: from the 5 % to the 95 % point of the
    predictive distribution). ``n_draws``: posterior predictive draws, each of ``R`` rounds.
    ``slow_ratio``: a round whose shared slowdown is at least this factor belongs to the slow
    regime. ``episode_prior``: ``(a, b)`` of the Beta prior on the rate at which slow episodes
    start, per round (mean ``a / (a + b)``: 1 / 50 by default). ``slow_depth``: the prior range of
    an unseen episode's slowdown (log-uniform). ``episode_rounds``: the prior range of an episode's
    length in rounds. ``level_shift``: the standard deviation of the log of a change in the
    late-instance rate between the fitted rounds and the predicted ones (the machine's load moving
    on; 0: none): a prior worth ``level_shift_weight`` blocks, updated by how much the late counts
    of blocks of ``level_block`` consecutive fitting rounds differ. ``quantile``: the level of the
    tail quality also predicted.
    """

    level: float = 0.9
    n_draws: int = 400
    slow_ratio: float = 1.15
    episode_prior: tuple[float, float] = (1.0, 49.0)
    slow_depth: tuple[float, float] = (1.15, 2.5)
    episode_rounds: tuple[int, int] = (2, 3)
    level_shift: float = 0.5
    level_shift_weight: float = 2.0
    level_block: int = 10
    quantile: float = 0.01
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "level", check("level", self.level, LEVEL))
        object.__setattr__(self, "n_draws", check("n_draws", self.n_draws, Interval(int, 2, None)))
        object.__setattr__(self, "quantile", check("quantile", self.quantile, QUANTILE))
        object.__setattr__(self, "seed", check("seed", self.seed, Interval(int)))
        object.__setattr__(self, "level_shift", check("level_shift", self.level_shift, Interval(float, 0, None)))
        object.__setattr__(self, "level_shift_weight",
                           check("level_shift_weight", self.level_shift_weight, Interval(float, 0, None, closed="neither")))
        object.__setattr__(self, "level_block", check("level_block", self.level_block, Interval(int, 2, None)))
        object.__setattr__(self, "slow_ratio", check("slow_ratio", self.slow_ratio, Interval(float, 1, None, closed="neither")))
        prior = tuple(check("episode_prior", v, Interval(float, 0, None, closed="neither")) for v in self.episode_prior)
        depth = tuple(check("slow_depth", v, Interval(float, 1, None)) for v in self.slow_depth)
        length = tuple(check("episode_rounds", v, Interval(int, 1, None)) for v in self.episode_rounds)
        for name, pair in (("episode_prior", prior), ("slow_depth", depth), ("episode_rounds", length)):
            if len(pair) != 2 or (name != "episode_prior" and pair[0] > pair[1]):
                raise ConfigError(f"{name}: expected two values (low, high) with low <= high, got {pair!r}")
        object.__setattr__(self, "episode_prior", prior)
        object.__setattr__(self, "slow_depth", depth)
        object.__setattr__(self, "episode_rounds", length)


def _episodes(slow: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of every run of consecutive slow rounds."""
    edges = np.diff(np.concatenate([[0], slow.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b - a)) for a, b in zip(starts, ends)]


@dataclass(frozen=True)
class RoundEffectPosterior:
    """The round effect fitted on K rounds: a normal regime and a slow regime of episodes.

    ``normal_scale``: the standard deviation of the log slowdown of the normal rounds (reported;
    the late counts carry the normal rounds' variation into the prediction);
    ``episodes`` / ``opportunities``: the slow episodes seen and the rounds at which one could
    start (Beta posterior of the start rate with ``config.episode_prior``); ``slow_log``: the log
    slowdowns of the slow rounds seen; ``varying``: False when no time changed between rounds.
    """

    rounds: int
    normal_scale: float
    episodes: int
    opportunities: int
    slow_log: tuple[float, ...]
    lengths: tuple[int, ...]
    varying: bool
    config: IntervalConfig

    def draw(self, n_draws: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
        """Log depths ``[n_draws, rounds]`` of future slow episodes (0 for a normal round), with the
        episode rate redrawn per row from its Beta posterior."""
        out = np.zeros((n_draws, rounds))
        if not self.varying:
            return out
        a, b = self.config.episode_prior
        rate = rng.beta(a + self.episodes, b + self.opportunities - self.episodes, size=n_draws)
        starts = rng.random((n_draws, rounds)) < rate[:, None]
        depth = self._depths((n_draws, rounds), rng)
        length = self._lengths((n_draws, rounds), rng)
        for lag in range(int(length.max())):
            hit = np.zeros_like(starts)
            hit[:, lag:] = starts[:, : rounds - lag] & (length[:, : rounds - lag] > lag)
            shifted = np.zeros_like(depth)
            shifted[:, lag:] = depth[:, : rounds - lag]
            out = np.where(hit, np.maximum(out, shifted), out)
        return out

    def _depths(self, shape, rng) -> np.ndarray:
        """Log depth of an episode: one seen (prob. n / (n + 1)) or the prior's log-uniform range."""
        lo, hi = np.log(self.config.slow_depth)
        prior = rng.uniform(lo, hi, size=shape)
        if not self.slow_log:
            return prior
        seen = rng.choice(np.asarray(self.slow_log), size=shape)
        n = len(self.slow_log)
        return np.where(rng.random(shape) < n / (n + 1.0), seen, prior)

    def _lengths(self, shape, rng) -> np.ndarray:
        lo, hi = self.config.episode_rounds
        prior = rng.integers(lo, hi + 1, size=shape)
        if not self.lengths:
            return prior
        n = len(self.lengths)
        return np.where(rng.random(shape) < n / (n + 1.0), rng.choice(np.asarray(self.lengths), size=shape), prior)


def fit_round_effect(log_factors, *, varying: bool = True, config: IntervalConfig | None = None) -> RoundEffectPosterior:
    """The two-regime round effect of the log slowdowns ``f_r`` of K rounds (centred on the median round).

    Rounds with ``f_r >= log(slow_ratio)`` are slow; runs of them are episodes. The normal regime's
    scale is the standard deviation of the other rounds (0 with fewer than two). ``varying=False``
    (no time changed between rounds) switches the slow regime off: nothing varies to extrapolate.
    """
    cfg = config or IntervalConfig()
    f = np.asarray(log_factors, dtype=float).ravel()
    slow = f >= np.log(cfg.slow_ratio)
    normal = f[~slow]
    scale = float(np.std(normal, ddof=1)) if normal.size > 1 else 0.0
    eps = _episodes(slow)
    opportunities = int(f.size - slow.sum() + len(eps))  # rounds at which an episode could start
    return RoundEffectPosterior(f.size, scale, len(eps), opportunities, tuple(float(v) for v in f[slow]),
                                tuple(n for _, n in eps), bool(varying), cfg)


@dataclass
class WorstInterval:
    """Per deadline: the predicted interval of the worst (and ``quantile``) quality over ``rounds`` rounds.

    ``worst`` / ``tail`` hold the predictive draws ``[n_draws, threshold]``; ``low``/``high``/``point``
    the central ``level`` interval and the median, per threshold.
    """

    thresholds_s: np.ndarray
    rounds: int
    fit_rounds: int
    level: float
    quantile: float
    worst: np.ndarray
    tail: np.ndarray
    posterior: RoundEffectPosterior

    def _bounds(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        a = (1.0 - self.level) / 2.0
        lo, mid, hi = (np.quantile(draws, p, axis=0, method=QUANTILE_METHOD) for p in (a, 0.5, 1.0 - a))
        return {"low": lo, "point": mid, "high": hi}

    @property
    def worst_bounds(self) -> dict[str, np.ndarray]:
        return self._bounds(self.worst)

    @property
    def tail_bounds(self) -> dict[str, np.ndarray]:
        return self._bounds(self.tail)

    def to_rows(self) -> list[dict]:
        """Per threshold: ``predicted_worst`` and ``predicted_tail`` as ``{low, high, point}``."""
        w, q = self.worst_bounds, self.tail_bounds
        return [{"predicted_worst": {k: float(w[k][j]) for k in ("low", "high", "point")},
                 "predicted_tail": {k: float(q[k][j]) for k in ("low", "high", "point")}}
                for j in range(self.thresholds_s.size)]


def _depth_grid(post: RoundEffectPosterior) -> np.ndarray:
    """Slowdowns at which late counts are tabulated: 1 (normal) and 32 log-spaced episode depths."""
    lo, hi = post.config.slow_depth
    seen = [math.exp(v) for v in post.slow_log]
    lo, hi = min([lo, post.config.slow_ratio, *seen]), max([hi, *seen])
    return np.concatenate([[1.0], np.geomspace(lo, hi, 32)])


def _late_counts(t: np.ndarray, c: np.ndarray, thr: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """``late[depth, round, threshold]``: correct instances of each round later than ``threshold / depth``."""
    on_time = np.stack([_quality_counts(t, c, thr / d) for d in depths])
    return c.sum(axis=1)[None, :, None] - on_time


def _level_shift_sd(late: np.ndarray, cfg: IntervalConfig) -> np.ndarray:
    """Per threshold: the posterior sd of the log level shift (scaled inverse chi-square update).

    The between-block variance of ``log(block mean + 0.5)`` over blocks of ``level_block``
    consecutive fitting rounds, less what sampling alone gives (delta method), is pooled with the
    prior ``level_shift^2`` worth ``level_shift_weight`` blocks. Many steady rounds shrink it to 0."""
    prior = cfg.level_shift_weight * cfg.level_shift ** 2
    blocks = late.shape[0] // cfg.level_block
    if blocks < 2:
        return np.full(late.shape[1], cfg.level_shift)
    b = late[: blocks * cfg.level_block].reshape(blocks, cfg.level_block, -1)
    means = b.mean(axis=1)
    between = np.var(np.log(means + 0.5), axis=0, ddof=1)
    sampling = (b.var(axis=1, ddof=1) / cfg.level_block / (means + 0.5) ** 2).mean(axis=0)
    excess = np.maximum(between - sampling, 0.0)
    return np.sqrt((prior + (blocks - 1) * excess) / (cfg.level_shift_weight + blocks - 1))


def _draw_late(late: np.ndarray, depth_idx: np.ndarray, shift_sd: np.ndarray, right: np.ndarray, rng) -> np.ndarray:
    """Late counts ``[rounds, threshold]`` of future rounds for one posterior draw.

    The mean and variance of the late counts are those of Bayesian-bootstrap-weighted fitting
    rounds; the mean is moved by a level shift ``exp(z * shift_sd)``, ``z ~ N(0, 1)`` (see
    :func:`_level_shift_sd`). Counts are drawn as counts of ``right`` correct instances: with the
    fitted variance at least the binomial one (``phi >= 1``, late calls come and go, the stalls
    of a loaded machine) **beta-binomial** with that overdispersion, whose right tail is the one
    of counts (a rounded normal's is far too light for the worst of many rounds when a round has
    one or two late calls); below it (the same instances late in every round, a deadline in the
    body of the times) a rounded normal with that variance. Counts that never varied stay constant."""
    k = late.shape[1]
    w = rng.dirichlet(np.ones(k))
    mean = np.einsum("r,drj->dj", w, late)
    var = np.einsum("r,drj->dj", w, (late - mean[:, None, :]) ** 2) * k / max(k - 1, 1)
    shift = np.exp(rng.standard_normal() * shift_sd)  # one load change, felt at every deadline
    n = np.maximum(right, 1).astype(float)
    p0 = np.clip(mean[depth_idx] / n, 0.0, 1.0)
    binvar = n * p0 * (1.0 - p0)
    phi = np.divide(var[depth_idx], binvar, out=np.zeros_like(binvar), where=binvar > 0)
    p = np.clip(p0 * shift, 0.0, 1.0)
    normal = np.round(n * p + np.sqrt(phi * n * p * (1.0 - p)) * rng.standard_normal(p.shape))
    rho = np.clip((phi - 1.0) / np.maximum(n - 1.0, 1.0), 1e-12, 0.99)
    over = (phi >= 1.0) & (p > 0.0) & (p < 1.0)
    scale = 1.0 / rho - 1.0
    p_round = rng.beta(np.where(over, p * scale, 1.0), np.where(over, (1.0 - p) * scale, 1.0))
    counts = rng.binomial(right.astype(np.int64), np.where(over, p_round, 0.0))
    return np.where(over, counts, normal)


def predict_worst_interval(times, correct, thresholds_s, rounds: int, *, batch_ids=None,
                           config: IntervalConfig | None = None) -> WorstInterval:
    """Interval for the worst (and the ``quantile``) quality over ``rounds`` future rounds, per deadline.

    Fitted on ``times[round, instance]`` / ``correct`` (the rounds measured so far); see the module
    docstring for the model. Reproducible: the draws are seeded by ``config.seed``.
    """
    cfg = config or IntervalConfig()
    rounds = check("rounds", rounds, Interval(int, 1, None))
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    thr = np.atleast_1d(np.asarray(thresholds_s, dtype=float))
    if thr.ndim != 1 or thr.size == 0 or not np.all(np.isfinite(thr)):
        raise ConfigError(f"thresholds_s: expected finite numbers in seconds, got {thresholds_s!r}")
    if b is not None:
        t = apply_batch_times(t, b)
    log_f = _round_log_factors(t)
    post = fit_round_effect(log_f, varying=bool(np.ptp(t, axis=0).max() > 0), config=cfg)
    normal = log_f < math.log(cfg.slow_ratio)
    base = normal if normal.sum() >= 2 else np.ones_like(normal)
    depths = _depth_grid(post)
    late = _late_counts(t[base], c[base], thr, depths)
    correct_n = c[base].sum(axis=1)
    shift_sd = _level_shift_sd(late[0], cfg) if post.varying else np.zeros(thr.size)
    rng = np.random.default_rng(cfg.seed)
    episode = post.draw(cfg.n_draws, rounds, rng)
    idx = np.where(episode > 0, np.clip(np.searchsorted(np.log(depths), episode, side="right") - 1, 1, depths.size - 1), 0)
    worst = np.empty((cfg.n_draws, thr.size))
    tail = np.empty((cfg.n_draws, thr.size))
    for m in range(cfg.n_draws):
        right = correct_n[rng.integers(0, correct_n.size, size=rounds)][:, None]
        qual = (right - np.clip(_draw_late(late, idx[m], shift_sd, right, rng), 0, right)) / t.shape[1]
        worst[m] = qual.min(axis=0)
        tail[m] = np.quantile(qual, cfg.quantile, axis=0, method=QUANTILE_METHOD)
    return WorstInterval(thr, rounds, t.shape[0], cfg.level, cfg.quantile, worst, tail, post)


@dataclass
class IntervalCheck:
    """An interval fitted on the first ``fit_rounds`` rounds against the rounds after them.

    ``covered``: ``low <= observed_worst <= high``. The worst quality is discrete (a whole number
    of late instances), so the predictive distribution has atoms and the closed interval holds at
    least ``level`` of it, often more (``content``: its predictive probability per deadline); a
    calibrated predictor's ``covered`` is then true about ``content`` of the time, not ``level``.
    ``pit``: the randomised probability integral transform of the observed worst under the
    predictive draws, ``P(W < y) + V P(W = y)`` with ``V ~ U(0, 1)`` (Czado, Gneiting & Held
    2009, for count data): uniform on (0, 1) when the predictor is calibrated, so
    :attr:`pit_covered` (``pit`` within the central ``level``) is true with probability
    ``level`` exactly, the check of calibration that ties cannot bias.
    """

    interval: WorstInterval
    observed_worst: np.ndarray
    observed_tail: np.ndarray
    covered: np.ndarray
    tail_covered: np.ndarray
    pit: np.ndarray
    content: np.ndarray

    @property
    def pit_covered(self) -> np.ndarray:
        a = (1.0 - self.interval.level) / 2.0
        return (a <= self.pit) & (self.pit <= 1.0 - a)

    def to_rows(self) -> list[dict]:
        return [{**row, "observed_worst": float(self.observed_worst[j]), "covered": bool(self.covered[j]),
                 "observed_tail": float(self.observed_tail[j]), "tail_covered": bool(self.tail_covered[j])}
                for j, row in enumerate(self.interval.to_rows())]


def check_worst_interval(times, correct, thresholds_s, *, fit_rounds: int, predict_rounds: int | None = None,
                         batch_ids=None, config: IntervalConfig | None = None) -> IntervalCheck:
    """Fit on rounds ``[:fit_rounds]``, predict the next ``predict_rounds`` (default: all the rest),
    and say per deadline whether each interval contains what those rounds showed."""
    from effbench.analysis.tail import quality_matrix

    cfg = config or IntervalConfig()
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    total = t.shape[0]
    if total < 2:
        raise ConfigError(f"times: expected at least 2 rounds to fit on some and check on the rest, got {total}")
    fit_rounds = check("fit_rounds", fit_rounds, Interval(int, 1, total - 1))
    left = total - fit_rounds
    predict_rounds = left if predict_rounds is None else check("predict_rounds", predict_rounds, Interval(int, 1, left))
    iv = predict_worst_interval(t[:fit_rounds], c[:fit_rounds], thresholds_s, predict_rounds, batch_ids=b, config=cfg)
    held = slice(fit_rounds, fit_rounds + predict_rounds)
    qual = quality_matrix(t[held], c[held], iv.thresholds_s, batch_ids=b)
    obs_w = qual.min(axis=0)
    obs_q = np.quantile(qual, cfg.quantile, axis=0, method=QUANTILE_METHOD)
    w, q = iv.worst_bounds, iv.tail_bounds
    draws = iv.worst
    tie = np.isclose(draws, obs_w, rtol=0.0, atol=1e-12)  # the same whole number of late instances
    below, at = ((draws < obs_w) & ~tie).mean(axis=0), tie.mean(axis=0)
    pit = below + np.random.default_rng([cfg.seed, 2]).random(obs_w.size) * at
    content = ((w["low"] <= draws) & (draws <= w["high"])).mean(axis=0)
    return IntervalCheck(iv, obs_w, obs_q, (w["low"] <= obs_w) & (obs_w <= w["high"]),
                         (q["low"] <= obs_q) & (obs_q <= q["high"]), pit, content)


def episode_stream(seed: int, *, rounds: int = 100, instances: int = 100, spread: float = 0.3,
                   round_noise: float = 0.02, episode_rate: float = 0.02, episode_rounds: tuple[int, int] = (2, 3),
                   episode_depth: tuple[float, float] = (1.3, 2.3), accuracy: float = 0.9,
                   stall_rate: float = 0.0, stall_factor: tuple[float, float] = (10.0, 100.0),
                   load_change: float = 0.0, change_at: int = 20):
    """A synthetic stream with known slow episodes: ``(times[round, instance], correct[instance])``.

    Instance base times are log-normal (``spread``) around 1 ms; every round gets a log-normal
    slowdown (``round_noise``) and per-instance jitter (0.05); an episode starts at a round with
    probability ``episode_rate``, lasts a whole number of rounds in ``episode_rounds`` and slows
    every instance by a factor drawn uniformly in ``episode_depth``. **Stalls** (calls that lose
    the CPU, what makes the tail on a loaded machine): each call independently stalls with
    probability ``stall_rate`` and then takes a factor log-uniform in ``stall_factor`` longer. A
    **change of load**: from round ``change_at`` on, the stall probability is multiplied by
    ``exp(z * load_change)``, ``z ~ N(0, 1)``: steady load before, another after. Seeded.
    """
    rng = np.random.default_rng(seed)
    base = 1e-3 * rng.lognormal(0.0, spread, instances)
    factor = rng.lognormal(0.0, round_noise, rounds)
    r = 0
    while r < rounds:
        if rng.random() < episode_rate:
            length = int(rng.integers(episode_rounds[0], episode_rounds[1] + 1))
            factor[r:r + length] *= rng.uniform(*episode_depth)
            r += length
        else:
            r += 1
    times = base[None, :] * factor[:, None] * rng.lognormal(0.0, 0.05, (rounds, instances))
    correct = rng.random(instances) < accuracy
    if stall_rate > 0:
        # drawn after everything above, so a stream without stalls is the same with or without them
        rate = np.full(rounds, stall_rate)
        rate[change_at:] *= math.exp(rng.standard_normal() * load_change)
        stalled = rng.random((rounds, instances)) < np.minimum(rate, 1.0)[:, None]
        lo, hi = np.log(stall_factor)
        times = np.where(stalled, times * np.exp(rng.uniform(lo, hi, times.shape)), times)
    return _as_times(times), correct


def prior_stream(seed: int, config: IntervalConfig | None = None, *, stall_rate: float = 0.03,
                 stall_factor: tuple[float, float] = (10.0, 100.0), change_at: int = 20, **stream):
    """A stream drawn from ``config``'s prior, shaped like the rounds measured on a loaded machine.

    The episode rate is drawn from the Beta prior, one episode depth log-uniform in
    ``slow_depth``, lengths in ``episode_rounds``; calls stall with probability ``stall_rate``
    (3 %: a p99 deadline then lies 10-100x above the median call, as measured here), and from
    round ``change_at`` (the rounds a check fits on) the stall probability changes by
    ``exp(z * level_shift)``, the prior's change of load. Returns ``(times, correct, (rate,
    depth))``. Over many seeds, the intervals of a correct implementation cover what such streams
    show with the nominal probability (simulation-based calibration; see :attr:`IntervalCheck.pit`
    for the discrete worst quality).
    """
    cfg = config or IntervalConfig()
    rng = np.random.default_rng([seed, 1])
    rate = float(rng.beta(*cfg.episode_prior))
    depth = float(np.exp(rng.uniform(*np.log(cfg.slow_depth))))
    times, correct = episode_stream(seed, episode_rate=rate, episode_depth=(depth, depth),
                                    episode_rounds=cfg.episode_rounds, stall_rate=stall_rate,
                                    stall_factor=stall_factor, load_change=cfg.level_shift, change_at=change_at,
                                    **stream)
    return times, correct, (rate, depth)


def held_out_rows(times, correct, thresholds, *, fit_rounds: int, predict_rounds: int | None = None,
                  batch_ids=None, config: IntervalConfig | None = None, n_simulated: int = 2000) -> list[dict]:
    """Per deadline (:class:`~effbench.analysis.tail.Threshold`): the interval and today's point
    prediction, fitted on rounds ``[:fit_rounds]``, against the next ``predict_rounds`` rounds.

    Keys: ``threshold_s``, ``origin``, ``label``, ``predicted_worst`` / ``predicted_tail``
    (``{low, high, point}``), ``observed_worst``, ``covered``, ``observed_tail``, ``tail_covered``,
    ``width_pp`` (of the worst-case interval), ``point_worst`` (the expected worst of
    :func:`~effbench.analysis.tail.evaluate_prediction`) and its ``point_error_pp``.
    """
    from effbench.analysis.tail import evaluate_prediction

    cfg = config or IntervalConfig()
    values = np.array([thr.value_s for thr in thresholds], dtype=float)
    chk = check_worst_interval(times, correct, values, fit_rounds=fit_rounds, predict_rounds=predict_rounds,
                               batch_ids=batch_ids, config=cfg)
    rounds = fit_rounds + chk.interval.rounds
    t, c, b = validate_tail_arrays(times, correct, batch_ids)
    point = evaluate_prediction(t[:rounds], c[:rounds], values, fit_rounds=fit_rounds, n_rounds=n_simulated,
                                quantile=cfg.quantile, batch_ids=b, seed=cfg.seed)
    rows = []
    for j, (thr, row) in enumerate(zip(thresholds, chk.to_rows())):
        w = row["predicted_worst"]
        rows.append({"threshold_s": thr.value_s, "origin": thr.origin, "label": thr.label, **row,
                     "width_pp": 100.0 * (w["high"] - w["low"]),
                     "point_worst": float(point.predicted_min_over_holdout[j]),
                     "point_error_pp": float(point.error_min_pp[j])})
    return rows


def interval_settings(config: IntervalConfig, fit_rounds: int, predict_rounds: int) -> dict:
    """The JSON-ready description of an interval prediction's settings and model."""
    return {"model": "late counts per round: normal rounds (Bayesian bootstrap; beta-binomial or rounded normal counts), "
                     "a change of load (level shift), "
                     "slow episodes (Beta prior on their start rate)",
            "level": config.level, "quantile": config.quantile, "n_draws": config.n_draws,
            "slow_ratio": config.slow_ratio, "episode_prior": list(config.episode_prior),
            "slow_depth": list(config.slow_depth), "episode_rounds": list(config.episode_rounds),
            "level_shift": config.level_shift, "level_shift_weight": config.level_shift_weight,
            "level_block": config.level_block,
            "seed": config.seed, "fit_rounds": fit_rounds, "predict_rounds": predict_rounds}
