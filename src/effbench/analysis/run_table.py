"""A stored run as an objective table: ``(keys, matrix, LoadReport)`` for named indicators.

The same triple as :func:`effbench.store.tables.load_tables` returns for CSV files, so
``effbench pareto RUN_ID`` and ``effbench recommend`` work on runs exactly as on external tables.
Pure: a :class:`effbench.store.db.RunRecord` in, arrays out.

Indicator names:

- a metric stored without a batch size: ``accuracy``, ``f1_macro``, ``params``, ``size_bytes``,
  ``flops_per_sample``, ``train_time_s`` (and any other, e.g. an energy metric);
- a metric stored per batch size, with ``_b<N>``: ``peak_rss_bytes_b1``, ``peak_memory_bytes_b32``;
- derived from the raw latency samples at batch ``N``: ``latency_p<Q>_s_b<N>`` (per call, e.g.
  ``latency_p99_s_b1``, ``latency_p99.9_s_b1``), ``latency_p<Q>_per_sample_s_b<N>``,
  ``latency_mean_s_b<N>``, ``throughput_samples_per_s_b<N>`` (N / p50) and
  ``best_throughput_samples_per_s`` (over the measured batch sizes);
- ``nonzero_params``: the candidate info's count when a variant recorded it, else ``params``.

A candidate that failed, or lacks a value, is dropped and the report says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from effbench.analysis.stats import quantile
from effbench.errors import ConfigError, DataError
from effbench.store.tables import DroppedRow, LoadReport

LATENCY_KIND = "latency_per_call"
_LAT = re.compile(r"^latency_(p(?P<q>\d+(?:\.\d+)?)|mean)(?P<per>_per_sample)?_s_b(?P<b>\d+)$")
_THR = re.compile(r"^throughput_samples_per_s_b(?P<b>\d+)$")
_BATCH = re.compile(r"^(?P<name>.+)_b(?P<b>\d+)$")
MAX_INDICATORS = ("accuracy", "f1_macro", "best_throughput_samples_per_s")


def default_direction(name: str) -> str:
    """'max' for quality and throughput indicators, 'min' for every cost."""
    if name in MAX_INDICATORS or name.startswith("throughput_") or name.startswith("top"):
        return "max"
    return "min"


def _samples(run, key, b):
    for s in run.samples:
        if s.candidate == key and s.batch_size == b and s.kind == LATENCY_KIND and len(s.values):
            return np.asarray(s.values, dtype=float)
    return None


def indicator_value(run, key: str, name: str):
    """(value or None, source description) of one indicator for one candidate."""
    m = _LAT.match(name)
    if m:
        b = int(m["b"])
        v = _samples(run, key, b)
        if v is None:
            return None, f"no latency samples at batch {b}"
        x = float(v.mean()) if m["q"] is None else quantile(v, float(m["q"]) / 100.0)
        return (x / b if m["per"] else x), f"latency samples at batch {b} ({len(v)} calls; measured)"
    m = _THR.match(name)
    if m:
        b = int(m["b"])
        v = _samples(run, key, b)
        if v is None:
            return None, f"no latency samples at batch {b}"
        p50 = quantile(v, 0.5)
        return (b / p50 if p50 > 0 else float("inf")), f"batch {b} / p50 latency at batch {b} (measured)"
    if name == "best_throughput_samples_per_s":
        best = None
        for s in run.samples:
            if s.candidate == key and s.kind == LATENCY_KIND and len(s.values):
                p50 = quantile(np.asarray(s.values, dtype=float), 0.5)
                t = s.batch_size / p50 if p50 > 0 else float("inf")
                best = t if best is None else max(best, t)
        return best, "largest batch / p50 over the measured batch sizes (measured)"
    if name == "nonzero_params":
        c = run.candidate(key)
        if c.info.get("nonzero_params") is not None:
            return float(c.info["nonzero_params"]), "candidate info nonzero_params (analytic)"
        m0 = run.metric(key, "params")
        return (None if m0 is None or m0.value is None else float(m0.value)), "params (no zero weights recorded; analytic)"
    metric = run.metric(key, name)
    if metric is not None:
        return (None if metric.value is None else float(metric.value)), f"metric {name!r} ({metric.unit}, {metric.provenance})"
    m = _BATCH.match(name)
    if m:
        metric = run.metric(key, m["name"], int(m["b"]))
        if metric is not None:
            return (None if metric.value is None else float(metric.value)), \
                f"metric {m['name']!r} at batch {m['b']} ({metric.unit}, {metric.provenance})"
    return None, "not recorded"


def available_indicators(run) -> list[str]:
    """Indicator names this run can give (for error messages and help)."""
    names = set()
    for mt in run.metrics:
        names.add(mt.name if mt.batch_size == 0 else f"{mt.name}_b{mt.batch_size}")
    for s in run.samples:
        if s.kind == LATENCY_KIND:
            b = s.batch_size
            names.update({f"latency_p50_s_b{b}", f"latency_p99_s_b{b}", f"latency_p50_per_sample_s_b{b}",
                          f"latency_p99_per_sample_s_b{b}", f"latency_mean_s_b{b}", f"throughput_samples_per_s_b{b}"})
    if any(s.kind == LATENCY_KIND for s in run.samples):
        names.add("best_throughput_samples_per_s")
    if any(m.name == "params" for m in run.metrics):
        names.add("nonzero_params")
    return sorted(names)


def _known(run, name) -> bool:
    if name in ("best_throughput_samples_per_s", "nonzero_params"):
        return True
    if _LAT.match(name) or _THR.match(name):
        return True
    if any(m.name == name for m in run.metrics):
        return True
    m = _BATCH.match(name)
    return bool(m and any(mt.name == m["name"] and mt.batch_size == int(m["b"]) for mt in run.metrics))


def run_objective_table(run, indicators: Sequence[str], *, include_failed: bool = False) -> tuple[list[str], np.ndarray, LoadReport]:
    """``(keys, matrix, report)`` of the run's candidates for ``indicators`` (columns in that order).

    ``report.files`` is ``["run <id>"]``; a failed candidate (unless ``include_failed``) or one with
    a missing value is dropped, with its reason, in ``report.dropped``. An indicator that no candidate
    has is a ConfigError listing the available ones; no row left is a DataError.
    """
    if not indicators:
        raise ConfigError("at least one indicator is needed, got none")
    for name in indicators:
        if not _known(run, name):
            raise ConfigError(f"unknown indicator {name!r} for run {run.run_id}; available: {', '.join(available_indicators(run))}")
    source = f"run {run.run_id}"
    report = LoadReport(files=[source], rows_read={source: len(run.candidates)})
    keys, rows = [], []
    for c in run.candidates:
        if c.status == "failed" and not include_failed:
            report.dropped.append(DroppedRow(c.key, source, f"candidate failed: {c.error or 'no reason recorded'}"))
            continue
        values, reason = [], None
        for name in indicators:
            v, where = indicator_value(run, c.key, name)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                reason = f"missing value for {name!r} ({where})"
                break
            values.append(v)
            if name not in report.column_sources:
                report.column_sources[name] = where
        if reason:
            report.dropped.append(DroppedRow(c.key, source, reason))
            continue
        keys.append(c.key)
        rows.append(values)
    estimated = sorted({m.name for m in run.metrics if m.provenance == "estimated" and
                        any(n == m.name or n == f"{m.name}_b{m.batch_size}" for n in indicators)})
    if estimated:
        report.notes.append(f"estimated (not measured) values in: {', '.join(estimated)}")
    if not keys:
        raise DataError(f"run {run.run_id}: no candidate has every indicator ({', '.join(indicators)}); "
                        f"{len(report.dropped)} dropped, e.g. {report.dropped[0].key}: {report.dropped[0].reason}" if report.dropped
                        else f"run {run.run_id} has no candidate")
    report.rows_kept = len(keys)
    return keys, np.asarray(rows, dtype=float), report
