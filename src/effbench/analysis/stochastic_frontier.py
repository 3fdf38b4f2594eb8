"""Stochastic Pareto frontier: how sure is it that a model is on the frontier?

Measurements are noisy, so the frontier of one table is one draw among many plausible ones
(Partovi Nia et al., "Rethinking Pareto Frontier for Performance Evaluation of Deep Neural
Networks", 2022, propose such a random frontier). We draw many plausible tables and report,
per model, the share of draws in which it is non-dominated (``p_frontier``), the distribution
of its non-dominated layer, and optionally the mean and interval of its DEA score.

Each column's noise is one of:

- :func:`samples` - raw per-model samples (e.g. latencies): each draw takes, per model, the
  statistic (median, mean or a quantile such as 0.99) of a bootstrap resample (Efron 1979);
- :func:`relative` / :func:`absolute` - Gaussian noise with sd ``sd * value`` or ``sd``;
- :func:`binomial` - an accuracy measured on ``n`` examples: ``Binomial(n, acc) / n``
  (parametric bootstrap of the sampling error). Accuracies above 1 are read as percentages.
- no entry - the column is exact.

Every quantile here (a ``samples`` statistic such as 0.99, the 5%/95% layer and DEA intervals)
uses :data:`effbench.analysis.stats.QUANTILE_METHOD` (numpy's ``linear``), the method of
:func:`effbench.analysis.stats.quantile` used across effbench; so a layer interval bound can lie
between two whole layers (e.g. 1.5 when the draws sit on layers 1 and 2 around the 5% point).

Draws come from one seeded ``numpy.random.Generator``: same inputs and seed, same result.
With no noise every draw equals the table, so the result equals the exact analysis.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from effbench.analysis.objectives import Objective
from effbench.analysis.pareto import nondominated_layers
from effbench.analysis.stats import QUANTILE_METHOD
from effbench.errors import ConfigError, DataError
from effbench.validation import check_seed

_KINDS = ("rel", "abs", "n")


@dataclass(frozen=True)
class Noise:
    """Gaussian (``rel``/``abs``) or binomial (``n``) noise of one column."""

    kind: str  # "rel", "abs" or "n"
    value: float  # sd (relative or absolute) or number of examples
    scale: float | None = None  # binomial only: 1 (fraction) or 100 (percent); None = guess

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError(f"noise kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")
        if not np.isfinite(self.value) or self.value < 0 or (self.kind == "n" and self.value < 1):
            raise ConfigError(f"noise {self.kind}: value must be >= 0 (n >= 1), got {self.value}")


@dataclass(frozen=True)
class Samples:
    """Raw samples per model (ragged allowed) and the statistic a column holds."""

    values: Sequence[np.ndarray]
    statistic: str | float | Callable[[np.ndarray], np.ndarray] = "median"


def relative(sd: float) -> Noise:
    return Noise("rel", float(sd))


def absolute(sd: float) -> Noise:
    return Noise("abs", float(sd))


def binomial(n_examples: int, scale: float | None = None) -> Noise:
    return Noise("n", float(n_examples), scale)


def samples(values: Sequence[Sequence[float]], statistic: str | float | Callable = "median") -> Samples:
    return Samples([np.asarray(v, dtype=float) for v in values], statistic)


def parse_uncertainty(spec: str, *, option: str = "--uncertainty") -> tuple[str, Noise]:
    """Parse ``COLUMN=rel:0.05``, ``COLUMN=abs:0.1`` or ``COLUMN=n:50000``."""
    column, sep, rest = str(spec).rpartition("=")
    kind, sep2, number = rest.partition(":")
    if not sep or not column or not sep2:
        raise ConfigError(f"{option} {spec!r}: expected COLUMN=rel:SD, COLUMN=abs:SD or COLUMN=n:EXAMPLES")
    kind = kind.strip().lower()
    if kind not in _KINDS:
        raise ConfigError(f"{option} {spec!r}: kind must be rel, abs or n, got {kind!r}")
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(f"{option} {spec!r}: {number!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{option} {spec!r}: expected a finite number, got {number!r}")
    if kind == "n" and value != int(value):
        raise ConfigError(f"{option} {spec!r}: n must be a whole number of examples, got {number!r}")
    try:
        return column.strip(), Noise(kind, value)
    except ConfigError as exc:
        raise ConfigError(f"{option} {spec!r}: {exc}") from None


def _statistic(stat) -> Callable[[np.ndarray], np.ndarray]:
    if callable(stat):
        return stat
    if stat == "median":
        return lambda a: np.median(a, axis=-1)
    if stat == "mean":
        return lambda a: np.mean(a, axis=-1)
    if isinstance(stat, (int, float)) and 0 <= stat <= 1:
        return lambda a: np.quantile(a, float(stat), axis=-1, method=QUANTILE_METHOD)
    raise ConfigError(f"samples statistic must be 'median', 'mean', a quantile in [0, 1] or a callable, got {stat!r}")


def _draw_column(rng: np.random.Generator, base: np.ndarray, spec, batch: int, name: str) -> np.ndarray:
    n = base.size
    if spec is None:
        return np.broadcast_to(base, (batch, n))
    if isinstance(spec, Samples):
        stat = _statistic(spec.statistic)
        out = np.empty((batch, n))
        for j, s in enumerate(spec.values):
            if s.size == 0:
                raise DataError(f"column {name!r}: model at row {j} has no samples")
            idx = rng.integers(0, s.size, size=(batch, s.size))
            out[:, j] = stat(s[idx])
        return out
    if spec.kind == "rel":
        return base * (1.0 + spec.value * rng.standard_normal((batch, n)))
    if spec.kind == "abs":
        return base + spec.value * rng.standard_normal((batch, n))
    scale = spec.scale if spec.scale is not None else (100.0 if base.max(initial=0.0) > 1.0 else 1.0)
    p = base / scale
    if (p < 0).any() or (p > 1).any():
        raise DataError(f"column {name!r}: binomial noise needs accuracies in [0, {scale:g}], got {base.min()}..{base.max()}")
    k = int(spec.value)
    return rng.binomial(k, p, size=(batch, n)) / k * scale


@dataclass(frozen=True)
class StochasticResult:
    """Per-model summary over ``draws`` plausible tables."""

    p_frontier: np.ndarray  # (n,) share of draws on the frontier
    layer_mean: np.ndarray  # (n,)
    layer_probs: np.ndarray  # (n, max_layer + 1): P(layer = 1..max_layer), last column P(layer > max_layer)
    layer_interval: np.ndarray  # (n, 2): 5% and 95% quantiles of the layer (stats.QUANTILE_METHOD, linear)
    draws: int
    seed: int | None
    dea_mean: np.ndarray | None = None  # (n,) over dea_draws draws
    dea_interval: np.ndarray | None = None  # (n, 2): 5% and 95% quantiles (stats.QUANTILE_METHOD, linear)
    dea_draws: int = 0


def _check_inputs(base: np.ndarray, objectives, noise, draws: int, max_layer: int) -> dict:
    if np.isnan(base).any():
        raise DataError("stochastic frontier: the table has missing values; drop incomplete rows first")
    if draws < 1:
        raise ConfigError(f"draws must be >= 1, got {draws}")
    if max_layer < 1:
        raise ConfigError(f"max_layer must be >= 1, got {max_layer}")
    noise = dict(noise or {})
    names = [o.name for o in objectives]
    unknown = [c for c in noise if c not in names]
    if unknown:
        raise ConfigError(f"uncertainty for {unknown[0]!r}, which is not an objective; objectives: {', '.join(names)}")
    for name, spec in noise.items():
        if isinstance(spec, Samples) and len(spec.values) != base.shape[0]:
            raise DataError(f"column {name!r}: samples for {len(spec.values)} models, table has {base.shape[0]}")
    return noise


def draw_tables(values, objectives: Sequence[Objective], noise: Mapping[str, Noise | Samples] | None = None, *,
                draws: int = 1000, seed: int | None = 0):
    """The plausible tables :func:`stochastic_frontier` summarises, in batches of shape (b, n, d)
    (raw values, columns in ``objectives`` order): one seeded generator, columns drawn in order."""
    from effbench.analysis.objectives import as_matrix

    base = as_matrix(values, objectives)
    noise = _check_inputs(base, objectives, noise, draws, 1)
    names = [o.name for o in objectives]
    n, d = base.shape
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    batch = int(max(1, min(draws, 2_000_000 // max(1, n * d))))
    for done in range(0, draws, batch):
        b = min(batch, draws - done)
        yield np.stack([_draw_column(rng, base[:, k], noise.get(names[k]), b, names[k]) for k in range(d)], axis=-1)


def _layer_summary(all_layers: np.ndarray, max_layer: int) -> dict:
    """p_frontier, mean, P(layer = k) up to max_layer (and beyond), 5% / 95% quantiles."""
    clipped = np.minimum(all_layers, max_layer + 1)
    probs = np.stack([(clipped == k).mean(axis=0) for k in range(1, max_layer + 2)], axis=1)
    return dict(
        p_frontier=(all_layers == 1).mean(axis=0),
        layer_mean=all_layers.mean(axis=0),
        layer_probs=probs,
        layer_interval=np.quantile(all_layers, [0.05, 0.95], axis=0, method=QUANTILE_METHOD).T,
    )


def stochastic_frontier(
    values,
    objectives: Sequence[Objective],
    noise: Mapping[str, Noise | Samples] | None = None,
    *,
    draws: int = 1000,
    seed: int | None = 0,
    max_layer: int = 5,
    dea_options: Mapping[str, str] | None = None,
    dea_draws: int = 20,
) -> StochasticResult:
    """Draw ``draws`` plausible tables and summarise frontier membership and layers per model.

    ``values``: (n, d) raw values (columns in ``objectives`` order) or a mapping column -> values.
    ``noise``: column name -> :class:`Noise` or :class:`Samples`; missing columns are exact.
    ``dea_options``: e.g. ``{"model": "bcc", "orientation": "input"}`` to also report the DEA
    score over the first ``dea_draws`` draws (one DEA per draw: keep it small).
    The draws are :func:`draw_tables`; each is ranked by :func:`nondominated_layers`.
    """
    from effbench.analysis.objectives import as_matrix

    base = as_matrix(values, objectives)
    _check_inputs(base, objectives, noise, draws, max_layer)
    signs = np.array([o.sign for o in objectives])
    is_min = signs < 0
    dea_draws = min(dea_draws, draws) if dea_options is not None else 0
    all_layers = np.empty((draws, base.shape[0]), dtype=np.int32)
    dea_scores = np.empty((dea_draws, base.shape[0]))
    done = 0
    for tables in draw_tables(base, objectives, noise, draws=draws, seed=seed):
        for table in tables:
            X = table * signs
            if not np.isfinite(X).all():
                raise DataError("a drawn table has a non-finite value; check the uncertainties")
            all_layers[done] = nondominated_layers(X)
            if done < dea_draws:
                dea_scores[done] = _dea_score(table[:, is_min], table[:, ~is_min], dea_options)
            done += 1
    result = _layer_summary(all_layers, max_layer)
    if dea_draws:
        result.update(
            dea_mean=dea_scores.mean(axis=0),
            dea_interval=np.quantile(dea_scores, [0.05, 0.95], axis=0, method=QUANTILE_METHOD).T,
            dea_draws=dea_draws,
        )
    return StochasticResult(draws=draws, seed=seed, **result)


def _dea_score(inputs: np.ndarray, outputs: np.ndarray, options: Mapping[str, str]) -> np.ndarray:
    from effbench.analysis.dea import dea

    return dea(inputs, outputs, slacks="none", **options).efficiency
