"""The efficiency misnomer over the candidates of one stored run.

Builds the models x indicators table of a :class:`effbench.records.RunRecord` and runs
:func:`effbench.analysis.misnomer.misnomer_analysis` on it (Dehghani et al., "The Efficiency
Misnomer", ICLR 2022: parameters, FLOPs, throughput and latency can rank the same models
differently). Pure: a run in, a :class:`RunMisnomer` out.

Indicators: the names of :mod:`effbench.analysis.run_table` (the same as ``effbench pareto RUN_ID``
and ``effbench recommend``), read with :func:`effbench.analysis.run_table.run_objective_table`
from the run's metrics and raw latency samples:

=================================  =====  ====================================================
column                             dir.   what
=================================  =====  ====================================================
``params``                         min    parameters (count, analytic)
``flops_per_sample``               min    FLOPs per sample (FLOP = 2 x MACs, analytic)
``size_bytes``                     min    serialized size (bytes, measured)
``latency_p50_s_b1``               min    median latency of one call at batch 1 (s, measured)
``best_throughput_samples_per_s``  max    best throughput over batch sizes, batch / p50 (measured)
``peak_rss_bytes_b1``              min    peak resident memory of the worker at batch 1 (measured)
``accuracy``                       max    accuracy on the test split (measured)
=================================  =====  ====================================================

A run whose task lists its metrics (a suite file's ``[data].metrics``: ``rmse``, ``top5``, ...) has
its first metric, with the direction the run stored, in place of ``accuracy``
(:func:`run_indicators`).

Failed candidates are left out (listed in ``dropped_candidates`` with their error), as in
``effbench recommend`` and ``effbench pareto RUN_ID``. A candidate takes part when it has at least
two of these values; an indicator when at least three candidates have it (others are listed in
``dropped_indicators`` with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effbench.analysis.misnomer import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_FACTOR,
    DEFAULT_MIN_OTHER_FACTOR,
    DEFAULT_TOP,
    Indicator,
    MisnomerResult,
    misnomer_analysis,
)
from effbench.errors import DataError

__all__ = ["RUN_INDICATORS", "RUN_COLUMNS", "RunMisnomer", "run_indicator_table", "run_indicators", "run_misnomer"]

#: The indicators compared across a run's candidates, in this order.
RUN_INDICATORS: tuple[Indicator, ...] = (
    Indicator("params", "min", label="parameters", kind="count"),
    Indicator("flops_per_sample", "min", label="FLOPs per sample", kind="count"),
    Indicator("size_bytes", "min", label="size on disk", kind="amount"),
    Indicator("latency_p50_s_b1", "min", label="p50 latency at batch 1", kind="time"),
    Indicator("best_throughput_samples_per_s", "max", label="best throughput", kind="rate"),
    Indicator("peak_rss_bytes_b1", "min", label="peak memory (RSS at batch 1)", kind="amount"),
    Indicator("accuracy", "max", label="accuracy", kind="score"),
)

#: indicator name (as in :mod:`effbench.analysis.run_table`) -> unit
RUN_COLUMNS: dict[str, str] = {
    "params": "count",
    "flops_per_sample": "FLOP",
    "size_bytes": "bytes",
    "latency_p50_s_b1": "s",
    "best_throughput_samples_per_s": "samples/s",
    "peak_rss_bytes_b1": "bytes",
    "accuracy": "ratio",
}

MIN_MODELS_PER_INDICATOR = 3


def run_indicators(run) -> tuple[Indicator, ...]:
    """:data:`RUN_INDICATORS`, with the run's own first quality metric and its stored direction in
    place of accuracy when its task lists metrics (``rmse``: min, ``r2``: max, ...)."""
    from effbench.analysis.costs import task_metric_names
    from effbench.analysis.run_table import stored_direction

    names = task_metric_names(run)
    if not names or names[0] == "accuracy":
        return RUN_INDICATORS
    quality = Indicator(names[0], stored_direction(run, names[0]) or "max", label=names[0], kind="score")
    return tuple(quality if i.name == "accuracy" else i for i in RUN_INDICATORS)


def run_indicator_table(run, columns=None) -> tuple[list[str], dict[str, np.ndarray], dict[str, list[str | None]], list[tuple[str, str]]]:
    """``(candidate keys, {column: values}, {column: provenances}, dropped)`` of the run's candidates
    that did not fail; ``dropped`` lists the failed ones as ``(key, reason)``.

    Columns are indicator names of :mod:`effbench.analysis.run_table` (default: those of
    :data:`RUN_COLUMNS`), read with :func:`~effbench.analysis.run_table.run_objective_table`
    (``missing="nan"``). A missing value is NaN (provenance None); a column the run cannot give
    at all is all NaN.
    """
    from effbench.analysis.run_table import indicator_provenance, is_known_indicator, run_objective_table

    columns = list(RUN_COLUMNS if columns is None else columns)
    dropped = [(c.key, f"candidate failed: {c.error or 'no reason recorded'}") for c in run.candidates if c.status == "failed"]
    names = [c.key for c in run.candidates if c.status != "failed"]
    known = [col for col in columns if is_known_indicator(run, col)]
    matrix = np.full((len(names), len(known)), np.nan)
    if names and known:
        keys, matrix, _ = run_objective_table(run, known, missing="nan")
        if keys != names:  # run_objective_table keeps exactly the candidates that did not fail, in order
            raise RuntimeError(f"run {run.run_id}: indicator table rows {keys} differ from the candidates {names}")
    values: dict[str, np.ndarray] = {}
    provs: dict[str, list[str | None]] = {}
    for col in columns:
        if col in known:
            v = np.asarray(matrix[:, known.index(col)], dtype=float)
            v = np.where(np.isfinite(v), v, np.nan)
            values[col] = v
            provs[col] = [indicator_provenance(run, k, col) if np.isfinite(x) else None for k, x in zip(names, v)]
        else:
            values[col] = np.full(len(names), np.nan)
            provs[col] = [None] * len(names)
    return names, values, provs, dropped


@dataclass(frozen=True)
class RunMisnomer:
    """The misnomer analysis of one run and what was left out of it, and why."""

    run_id: str
    result: MisnomerResult
    names: tuple[str, ...]
    values: dict
    dropped_indicators: tuple[tuple[str, str], ...]   # (column, reason)
    dropped_candidates: tuple[tuple[str, str], ...]   # (candidate key, reason)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "candidates": list(self.names),
            "dropped_indicators": [{"indicator": n, "reason": r} for n, r in self.dropped_indicators],
            "dropped_candidates": [{"candidate": n, "reason": r} for n, r in self.dropped_candidates],
            **self.result.to_dict(),
        }


def run_misnomer(
    run,
    *,
    indicators: tuple[Indicator, ...] | None = None,
    min_factor: float = DEFAULT_MIN_FACTOR,
    min_other_factor: float = DEFAULT_MIN_OTHER_FACTOR,
    top: int = DEFAULT_TOP,
    confidence: float = DEFAULT_CONFIDENCE,
) -> RunMisnomer:
    """Rank correlations and contradictions between the run's indicators (see the module doc).

    ``indicators``: default :func:`run_indicators` (the run's own quality metric and direction).
    Raises :class:`DataError` when fewer than 3 candidates or fewer than 2 indicators are usable.
    """
    indicators = run_indicators(run) if indicators is None else indicators
    names, values, _, failed = run_indicator_table(run, [i.name for i in indicators])
    cols = {i.name: values[i.name] for i in indicators}
    finite = np.column_stack([np.isfinite(v) for v in cols.values()]) if cols else np.zeros((len(names), 0), bool)
    keep_rows = finite.sum(axis=1) >= 2 if finite.size else np.zeros(len(names), bool)
    dropped_c = tuple(failed) + tuple((n, "fewer than 2 indicators measured") for n, k in zip(names, keep_rows) if not k)
    kept_names = [n for n, k in zip(names, keep_rows) if k]
    used, dropped_i = [], []
    for ind in indicators:
        v = cols[ind.name][keep_rows]
        n_ok = int(np.isfinite(v).sum())
        if n_ok < MIN_MODELS_PER_INDICATOR:
            dropped_i.append((ind.name, f"measured for {n_ok} candidate(s), need {MIN_MODELS_PER_INDICATOR}"))
        else:
            used.append(ind)
    if len(kept_names) < 3:
        raise DataError(
            f"misnomer analysis: needs at least 3 candidates with 2 or more indicators measured; run {run.run_id!r} has {len(kept_names)}"
        )
    if len(used) < 2:
        raise DataError(
            f"misnomer analysis: needs at least 2 indicators measured for 3 or more candidates; run {run.run_id!r} has {len(used)}"
        )
    table = {i.name: cols[i.name][keep_rows] for i in used}
    result = misnomer_analysis(kept_names, table, used, min_factor=min_factor, min_other_factor=min_other_factor,
                               top=top, confidence=confidence)
    return RunMisnomer(run_id=run.run_id, result=result, names=tuple(kept_names), values=table,
                       dropped_indicators=tuple(dropped_i), dropped_candidates=dropped_c)
