"""A Pareto study of a table of models: frontier, layers, dominators, and optionally the frontier
per hardware, DEA efficiency and the stochastic frontier, in one result object.

:func:`pareto_study` is what ``effbench pareto`` computes; :class:`ParetoStudy` holds the result,
gives the ranking the table is shown in, computes dominators on request for the rows asked
(an exact count and a bounded sample, never the quadratic full relation unless every row is
asked), and turns into records with :meth:`ParetoStudy.to_dict`. Renderers live in
:mod:`effbench.report.pareto_table`. Pure: no I/O, no printing, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dataclasses

import numpy as np

from effbench.analysis.dea import DEAResult, dea_from_objectives
from effbench.analysis.objectives import Objective, oriented_matrix
from effbench.analysis.pareto import DOMINATOR_SAMPLE, Dominators, HardwareFrontiers, dominators, hardware_frontiers
from effbench.analysis.pareto import leading_layers, nondominated_layers
from effbench.analysis.stochastic_frontier import Samples, StochasticResult, stochastic_frontier
from effbench.errors import ConfigError, DataError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StochasticOptions:
    """How :func:`pareto_study` draws plausible tables (see :func:`stochastic_frontier`)."""

    draws: int = 1000
    seed: int | None = 0
    dea_draws: int = 10  # draws on which DEA is recomputed, when DEA is asked for


@dataclass(frozen=True)
class ParetoStudy:
    """Everything ``effbench pareto`` reports about ``n`` models (rows in input order)."""

    keys: np.ndarray  # (n,) numpy strings (4 bytes a character, not a Python object per model)
    values: np.ndarray  # (n, d) raw values, columns in ``objectives`` order
    objectives: tuple[Objective, ...]
    layer: np.ndarray  # (n,) 1 = frontier
    hardware: HardwareFrontiers | None = None
    dea: DEAResult | None = None
    dea_options: Mapping[str, str] | None = None
    stochastic: StochasticResult | None = None
    noise_words: Mapping[str, str] | None = None  # column -> its noise in words (stochastic only)
    dropped: tuple[str, ...] = ()  # keys of rows left out for a missing or non-finite value
    notes: tuple[str, ...] = ()
    dominator_sample: int = DOMINATOR_SAMPLE
    matrix: np.ndarray = field(default=None, repr=False)  # (n, d) larger-is-better
    layers_ranked: int | None = None  # None: every layer; k: only layers 1..k, deeper rows have k + 1

    @property
    def layers_complete(self) -> bool:
        return self.layers_ranked is None

    def complete(self) -> "ParetoStudy":
        """This study with every layer (itself when it has them all)."""
        if self.layers_complete:
            return self
        return dataclasses.replace(self, layer=nondominated_layers(self.matrix), layers_ranked=None)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def n_frontier(self) -> int:
        return int(np.count_nonzero(self.layer == 1))

    @property
    def n_layers(self) -> int:
        """The number of layers (with only the first layers ranked: at least this many)."""
        return int(self.layer.max()) if self.layer.size else 0

    def ranking(self, top: int | None = None) -> np.ndarray:
        """Row indices: frontier first, then by layer, most probably on the frontier, best first
        objective, key. ``top`` keeps the first ``top`` (None or 0: all). With only the first layers
        ranked, ``top`` must be at most the rows they hold (ConfigError otherwise)."""
        n = len(self.keys)
        if not self.layers_complete:
            ranked = int(np.count_nonzero(self.layer <= self.layers_ranked))
            if not top or top > ranked:
                raise ConfigError(f"only the first {self.layers_ranked} layers ({ranked} rows) are ranked; "
                                  f"asked for {top or 'all'} rows (use complete())")
        rows = np.arange(n)
        if top and top < n:  # only rows at most as deep as the top-th shallowest can be shown
            cutoff = np.partition(self.layer, top - 1)[top - 1]
            rows = np.flatnonzero(self.layer <= cutoff)
        p = self.stochastic.p_frontier if self.stochastic is not None else np.zeros(n)
        first = self.matrix[:, 0]
        order = sorted(rows.tolist(), key=lambda i: (self.layer[i], -p[i], -first[i], self.keys[i]))
        return np.asarray(order[:top] if top else order, dtype=np.int64)

    def dominators(self, rows: Sequence[int] | None = None) -> Dominators:
        """Exact dominator count and the first ``dominator_sample`` dominators of the rows asked."""
        return dominators(self.matrix, rows, limit=self.dominator_sample)

    def records(self, rows: Sequence[int] | None = None) -> list[dict]:
        """One JSON-ready dict per row (default: every row, in input order)."""
        rows = np.arange(len(self.keys)) if rows is None else np.asarray(rows, dtype=np.int64)
        doms = self.dominators(rows)
        # Python values taken out of the arrays once, not one numpy scalar per cell (10^5 rows: seconds)
        keys = self.keys.tolist()
        names = self.names
        layers = self.layer[rows].tolist()
        values = self.values[rows].tolist()
        return [self._record(int(i), {"key": keys[i], "on_frontier": layer == 1, "layer": layer,
                                      "dominated_by": [keys[j] for j in sample.tolist()], "dominated_by_count": count,
                                      "values": dict(zip(names, vals))})
                for i, layer, vals, count, sample in zip(rows.tolist(), layers, values, doms.count.tolist(), doms.sample)]

    def _record(self, i: int, rec: dict) -> dict:
        """``rec`` with the hardware, DEA and stochastic fields of row ``i``."""
        if self.hardware is not None:
            rec["frontier_by_hardware"] = {h: bool(m[i]) for h, m in self.hardware.per_hardware.items()}
            rec["efficient_on_every_hardware"] = bool(self.hardware.on_every[i])
            rec["efficient_on_some_hardware"] = bool(self.hardware.on_some[i])
        if self.dea is not None:
            rec.update(_dea_record(self.dea, i, self.keys))
        if self.stochastic is not None:
            rec.update(_stochastic_record(self.stochastic, i))
        return rec

    def to_dict(self) -> dict:
        """The whole study; ``records`` is the list ``effbench pareto --json`` writes (every layer:
        a study with only the first layers ranked is completed first)."""
        if not self.layers_complete:
            return self.complete().to_dict()
        return {
            "schema_version": SCHEMA_VERSION,
            "objectives": [str(o) for o in self.objectives],
            "n_models": len(self.keys),
            "n_frontier": self.n_frontier,
            "n_layers": self.n_layers,
            "dominated_by_sample": self.dominator_sample,
            "dea": dict(self.dea_options) if self.dea is not None else None,
            "stochastic": _stochastic_header(self.stochastic, self.noise_words),
            "dropped": list(self.dropped),
            "notes": list(self.notes),
            "records": self.records(),
        }


def _dea_record(result: DEAResult, i: int, keys: Sequence[str]) -> dict:
    return {
        "dea_efficiency": float(result.efficiency[i]),
        "dea_peers": [str(keys[j]) for j in result.peers[i]],
        "dea_input_slacks": [float(v) for v in result.input_slacks[i]],
        "dea_output_slacks": [float(v) for v in result.output_slacks[i]],
    }


def _stochastic_record(stoch: StochasticResult, i: int) -> dict:
    probs = stoch.layer_probs[i]
    rec = {
        "p_frontier": float(stoch.p_frontier[i]),
        "layer_mean": float(stoch.layer_mean[i]),
        "p_layer": {str(k + 1): float(p) for k, p in enumerate(probs[:-1])},
        f"p_layer_gt_{probs.size - 1}": float(probs[-1]),
    }
    if stoch.dea_mean is not None:
        rec["dea_efficiency_mean"] = float(stoch.dea_mean[i])
        rec["dea_efficiency_interval_90"] = [float(v) for v in stoch.dea_interval[i]]
    return rec


def _stochastic_header(stoch: StochasticResult | None, noise_words) -> dict | None:
    if stoch is None:
        return None
    return {"draws": stoch.draws, "seed": stoch.seed, "dea_draws": stoch.dea_draws,
            "noise": dict(noise_words or {})}


def _drop_non_finite(keys, values, noise) -> tuple[np.ndarray, np.ndarray, dict, tuple[str, ...], tuple[str, ...]]:
    """Rows with a NaN or infinite value left out (and their raw samples, if any), with a note."""
    ok = np.isfinite(values).all(axis=1)
    noise = dict(noise or {})
    if ok.all():
        return keys, values, noise, (), ()
    dropped = tuple(str(k) for k in keys[~ok])
    note = (f"{len(dropped)} row(s) with a missing or non-finite value left out of the Pareto study: "
            + ", ".join(repr(k) for k in dropped[:10]) + (", ..." if len(dropped) > 10 else ""))
    for name, spec in noise.items():
        if isinstance(spec, Samples) and len(spec.values) == len(ok):
            noise[name] = Samples([v for v, good in zip(spec.values, ok) if good], spec.statistic)
    return keys[ok], values[ok], noise, dropped, (note,)


def _default_noise_words(names, noise) -> dict[str, str]:
    return {n: ("given" if n in noise else "exact") for n in names}


def pareto_study(
    keys: Sequence[str],
    values,
    objectives: Sequence[Objective],
    *,
    hardware: Mapping[str, Sequence[Objective]] | None = None,
    common: Sequence[Objective] | None = None,
    dea: Mapping[str, str] | None = None,
    stochastic: StochasticOptions | None = None,
    noise: Mapping | None = None,
    noise_words: Mapping[str, str] | None = None,
    layer_rows: int | None = None,
) -> ParetoStudy:
    """Pareto study of ``values`` (n, d; columns in ``objectives`` order), one row per key.

    ``hardware``: name -> that hardware's objectives, with ``common`` (default: the objectives no
    hardware names) shared by all; ``dea``: e.g. ``{"model": "bcc", "orientation": "input"}``;
    ``stochastic`` with ``noise`` (column -> Noise or Samples; others exact) and ``noise_words``
    (column -> its noise in words; default: "given" or "exact"). Rows with a NaN or infinite
    value are left out and named in ``notes``. ``layer_rows``: rank only the first layers, as many
    as it takes to rank this many rows (enough for a table of its first ``layer_rows`` rows); None
    or 0: every layer.
    """
    values = np.asarray(values, dtype=float)
    keys = np.asarray(keys, dtype=str) if len(keys) else np.empty(0, dtype=str)
    objectives = tuple(objectives)
    if values.ndim != 2 or values.shape != (len(keys), len(objectives)):
        raise DataError(f"values must be (models, objectives) = ({len(keys)}, {len(objectives)}), "
                        f"got shape {values.shape}")
    if not objectives:
        raise ConfigError("a Pareto study needs at least one objective, got 0")
    keys, values, noise, dropped, notes = _drop_non_finite(keys, values, noise)
    matrix = oriented_matrix(values, objectives)
    hw = _hardware(values, objectives, hardware, common)
    dea_result = dea_from_objectives(values, objectives, **dea) if dea is not None else None
    stoch, words = None, None
    if stochastic is not None:
        stoch = stochastic_frontier(values, objectives, noise, draws=stochastic.draws, seed=stochastic.seed,
                                    dea_options=dea if dea is not None and stochastic.dea_draws else None,
                                    dea_draws=stochastic.dea_draws)
        words = dict(noise_words) if noise_words is not None else _default_noise_words([o.name for o in objectives],
                                                                                      noise)
    if layer_rows:
        layer, depth = leading_layers(matrix, layer_rows)
        ranked = depth if np.any(layer > depth) else None  # None: every row got its layer anyway
    else:
        layer, ranked = nondominated_layers(matrix), None
    return ParetoStudy(keys=keys, values=values, objectives=objectives, layer=layer, layers_ranked=ranked,
                       hardware=hw, dea=dea_result, dea_options=dict(dea) if dea is not None else None,
                       stochastic=stoch, noise_words=words, dropped=dropped, notes=notes, matrix=matrix)


def _hardware(values, objectives, hardware, common) -> HardwareFrontiers | None:
    if not hardware:
        return None
    if common is None:
        named = {o.name for objs in hardware.values() for o in objs}
        common = [o for o in objectives if o.name not in named]
    table = {o.name: values[:, i] for i, o in enumerate(objectives)}
    return hardware_frontiers(table, hardware, common)
