"""A stored run as an objective table: ``(keys, matrix, LoadReport)`` for named indicators.

The same triple as :func:`effbench.store.tables.load_tables` returns for CSV files, so
``effbench pareto RUN_ID`` and ``effbench recommend`` work on runs exactly as on external tables.
Pure: a :class:`effbench.store.db.RunRecord` in, arrays out.

Indicator names:

- a metric stored without a batch size (``batch_size`` 0): ``accuracy``, ``f1_macro``, ``params``,
  ``size_bytes``, ``flops_per_sample``, ``train_time_s``, ``train_energy_j`` (and any other);
- a metric stored per batch size, with ``_b<N>`` (the bare name is then unknown):
  ``peak_rss_bytes_b1``, ``peak_memory_bytes_b32``, ``energy_per_sample_j_b1``,
  ``carbon_per_sample_g_b8``;
- derived from the raw latency samples at batch ``N``: ``latency_p<Q>_s_b<N>`` (per call, e.g.
  ``latency_p99_s_b1``; p99.9 is written ``latency_p99.9_s_b1`` or, as
  :func:`effbench.analysis.stats.quantile_key` names it, ``latency_p99_9_s_b1``),
  ``latency_p<Q>_per_sample_s_b<N>``,
  ``latency_mean_s_b<N>``, ``throughput_samples_per_s_b<N>`` (N / p50) and
  ``best_throughput_samples_per_s`` (over the measured batch sizes);
- ``nonzero_params``: the candidate info's count when a variant recorded it, else ``params``.

A candidate that failed, or lacks a value, is dropped and the report says why (with
``missing="nan"`` a lacking value is NaN instead, for analyses that take partial rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from effbench.analysis.stats import quantile
from effbench.errors import ConfigError, DataError
from effbench.records import ESTIMATED, PARAMS, DroppedRow, LoadReport
from effbench.records import LATENCY_PER_CALL as LATENCY_KIND

_LAT = re.compile(r"^latency_(p(?P<q>\d+(?:[._]\d+)?)|mean)(?P<per>_per_sample)?_s_b(?P<b>\d+)$")
_THR = re.compile(r"^throughput_samples_per_s_b(?P<b>\d+)$")
_BATCH = re.compile(r"^(?P<name>.+)_b(?P<b>\d+)$")
MAX_INDICATORS = ("accuracy", "f1_macro", "best_throughput_samples_per_s")


def default_direction(name: str) -> str:
    """'max' for quality and throughput indicators, 'min' for every cost (a run's own metrics carry
    their direction: :func:`stored_direction`)."""
    if name in MAX_INDICATORS or name.startswith("throughput_") or name.startswith("top"):
        return "max"
    return "min"


def stored_direction(run, name: str) -> str | None:
    """The direction a run stored for quality metric ``name`` (its task record, else a metric's
    ``detail["direction"]``): ``max``, ``min``, or None when the run does not say."""
    from effbench.records import quality_direction

    direction = quality_direction(run.task, name)
    if direction is None:
        for m in run.metrics:
            if m.name == name and isinstance(m.detail, dict) and m.detail.get("direction") in ("max", "min"):
                return m.detail["direction"]
    return direction


def check_directions(run, objectives) -> None:
    """ConfigError when an objective's direction contradicts the one the run stored for that metric
    (``rmse:max`` on a run that stores rmse as lower-is-better)."""
    for o in objectives:
        stored = stored_direction(run, o.name)
        if stored is not None and stored != o.direction:
            words = {"max": "higher is better", "min": "lower is better"}
            raise ConfigError(f"objective {o.name}:{o.direction}: the run stores {o.name} as {stored} "
                              f"({words[stored]}); give {o.name}:{stored}")


def _samples(run, key, b):
    s = run.sample_set(key, b, LATENCY_KIND)
    return None if s is None or not len(s.values) else np.asarray(s.values, dtype=float)


def latency_quantile(name: str) -> float | None:
    """The quantile (0..1) of a ``latency_p<Q>..._s_b<N>`` indicator; None for ``latency_mean_...``
    and for names that are not latency indicators. ``p99_9`` and ``p99.9`` both mean 0.999."""
    m = _LAT.match(name)
    if not m or m["q"] is None:
        return None
    q = float(m["q"].replace("_", ".")) / 100.0
    if not 0.0 <= q <= 1.0:
        raise ConfigError(f"indicator {name!r}: the percentile must lie in 0..100; got {m['q'].replace('_', '.')}")
    return q


def latency_batch_size(name: str) -> int | None:
    """The batch size ``N`` of a latency or throughput indicator (``..._b<N>``); None otherwise."""
    m = _LAT.match(name) or _THR.match(name)
    return int(m["b"]) if m else None


def latency_samples(run, key: str, batch_size: int):
    """The raw per-call latencies (s) of one candidate at one batch size, or None."""
    return _samples(run, key, batch_size)


def indicator_value(run, key: str, name: str):
    """(value or None, source description) of one indicator for one candidate."""
    m = _LAT.match(name)
    if m:
        b = int(m["b"])
        v = _samples(run, key, b)
        if v is None:
            return None, f"no latency samples at batch {b}"
        x = float(v.mean()) if m["q"] is None else quantile(v, latency_quantile(name))
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
        for s in run.samples_for(key, kind=LATENCY_KIND):
            p50 = quantile(np.asarray(s.values, dtype=float), 0.5)
            t = s.batch_size / p50 if p50 > 0 else float("inf")
            best = t if best is None else max(best, t)
        return best, "largest batch / p50 over the measured batch sizes (measured)"
    if name == "nonzero_params":
        c = run.candidate(key)
        if c.info.get("nonzero_params") is not None:
            return float(c.info["nonzero_params"]), "candidate info nonzero_params (analytic)"
        m0 = run.metric(key, PARAMS)
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


def indicator_interval(run, key: str, name: str, confidence: float = 0.95) -> tuple[float, float] | None:
    """The confidence interval ``(low, high)`` of an indicator derived from raw latency samples, or None.

    ``latency_p<Q>...``: the order-statistic interval of the quantile
    (:func:`effbench.estimates.quantile_ci`); ``latency_mean...``: Student's t interval; divided by
    ``N`` per sample; ``throughput_samples_per_s_b<N>``: ``N`` over the median's interval. None for
    any other indicator (a count, a size: no noise recorded) and when too few samples give no interval."""
    from effbench.estimates import mean_ci, quantile_ci

    m, t = _LAT.match(name), _THR.match(name)
    if not (m or t):
        return None
    b = int((m or t)["b"])
    v = _samples(run, key, b)
    if v is None:
        return None
    if t:
        est = quantile_ci(v, 0.5, confidence)
        return (b / est.high, b / est.low) if est.has_interval and est.low > 0 else None
    q = latency_quantile(name)
    if q is not None and not 0.0 < q < 1.0:  # the minimum or the maximum: no order-statistic interval
        return None
    est = mean_ci(v, confidence) if q is None else quantile_ci(v, q, confidence)
    if not est.has_interval:
        return None
    scale = b if m["per"] else 1
    return est.low / scale, est.high / scale


def available_indicators(run) -> list[str]:
    """Indicator names this run can give (for error messages and help)."""
    names = {name if b == 0 else f"{name}_b{b}" for name, b in run.metric_keys()}
    for b in run.batch_sizes(kind=LATENCY_KIND):
        names.update({f"latency_p50_s_b{b}", f"latency_p99_s_b{b}", f"latency_p50_per_sample_s_b{b}",
                      f"latency_p99_per_sample_s_b{b}", f"latency_mean_s_b{b}", f"throughput_samples_per_s_b{b}"})
    if run.has_samples(LATENCY_KIND):
        names.add("best_throughput_samples_per_s")
    if (PARAMS, 0) in run.metric_keys():
        names.add("nonzero_params")
    return sorted(names)


def indicator_provenance(run, key: str, name: str) -> str | None:
    """``measured`` / ``estimated`` / ``analytic`` of one candidate's indicator value; None when it has none."""
    if _LAT.match(name) or _THR.match(name) or name == "best_throughput_samples_per_s":
        v, _ = indicator_value(run, key, name)
        return None if v is None else "measured"
    if name == "nonzero_params":
        v, _ = indicator_value(run, key, name)
        return None if v is None else "analytic"
    metric = run.metric(key, name)
    if metric is None:
        m = _BATCH.match(name)
        metric = run.metric(key, m["name"], int(m["b"])) if m else None
    return None if metric is None or metric.value is None else metric.provenance


def is_known_indicator(run, name: str) -> bool:
    """Can this run give ``name``? A bare metric name must be stored without a batch size (batch 0);
    a metric stored per batch size is only known as ``<name>_b<N>``."""
    if name in ("best_throughput_samples_per_s", "nonzero_params"):
        return True
    if _LAT.match(name) or _THR.match(name):
        return True
    if (name, 0) in run.metric_keys():
        return True
    m = _BATCH.match(name)
    return bool(m and (m["name"], int(m["b"])) in run.metric_keys())


_known = is_known_indicator


def unknown_indicator_message(run, name: str, what: str = "indicator") -> str:
    """One line: ``name`` is unknown; when it is stored per batch size, the names to use instead."""
    per_batch = sorted(b for n, b in run.metric_keys() if n == name and b > 0)
    if per_batch:
        return (f"{what} {name!r} is stored per batch size in run {run.run_id}: use "
                f"{', '.join(f'{name}_b{b}' for b in per_batch)}")
    return f"unknown {what} {name!r} for run {run.run_id}; available: {', '.join(available_indicators(run))}"


def run_objective_table(run, indicators: Sequence[str], *, include_failed: bool = False,
                        missing: str = "drop") -> tuple[list[str], np.ndarray, LoadReport]:
    """``(keys, matrix, report)`` of the run's candidates for ``indicators`` (columns in that order).

    ``report.files`` is ``["run <id>"]``; a failed candidate (unless ``include_failed``) is dropped,
    with its reason, in ``report.dropped``. A candidate with a missing value is dropped too
    (``missing="drop"``) or kept with NaN there (``missing="nan"``). An indicator that the run
    cannot give is a ConfigError listing the available ones; no row left is a DataError.
    """
    if missing not in ("drop", "nan"):
        raise ConfigError(f"missing must be 'drop' or 'nan'; got {missing!r}")
    if not indicators:
        raise ConfigError("at least one indicator is needed, got none")
    for name in indicators:
        if not is_known_indicator(run, name):
            raise ConfigError(unknown_indicator_message(run, name))
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
                if missing == "nan":
                    values.append(float("nan"))
                    continue
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
    estimated = sorted({m.name for m in run.metrics if m.provenance == ESTIMATED and
                        any(n == m.name or n == f"{m.name}_b{m.batch_size}" for n in indicators)})
    if estimated:
        report.notes.append(f"estimated (not measured) values in: {', '.join(estimated)}")
    if not keys:
        raise DataError(f"run {run.run_id}: no candidate has every indicator ({', '.join(indicators)}); "
                        f"{len(report.dropped)} dropped, e.g. {report.dropped[0].key}: {report.dropped[0].reason}" if report.dropped
                        else f"run {run.run_id} has no candidate")
    report.rows_kept = len(keys)
    return keys, np.asarray(rows, dtype=float), report


def run_noise(run, keys: Sequence[str], indicators: Sequence[str], overrides=None) -> tuple[dict, dict[str, str]]:
    """The noise of each column of a run's objective table, for the stochastic frontier.

    Returns ``(noise, described)``: ``noise`` maps a column to a
    :class:`~effbench.analysis.stochastic_frontier.Noise` or ``Samples`` (a column without an entry
    is exact) for :func:`~effbench.analysis.stochastic_frontier.stochastic_frontier`; ``described``
    says in words, for every column, which noise it got.

    - a column in ``overrides`` (e.g. from ``--uncertainty``) gets that noise;
    - latency indicators (``latency_p<Q>_s_b<N>``, ``latency_mean_s_b<N>``, their ``_per_sample``
      forms) and ``throughput_samples_per_s_b<N>``: a bootstrap of each model's raw per-call
      latencies at batch ``N`` (Efron 1979) with the statistic of the column (median for p50,
      quantile ``Q/100``, mean; divided by ``N`` per sample; ``N`` / median for throughput);
    - ``accuracy`` and ``f1_macro``: binomial sampling error on the ``len(run.task["y_test"])``
      test examples (for macro F1 an approximation);
    - every other column is exact.

    ``keys`` are the rows of the table (as :func:`run_objective_table` returned them).
    """
    from effbench.analysis.stochastic_frontier import binomial, samples

    overrides = dict(overrides or {})
    noise, described = {}, {}
    n_test = len((run.task or {}).get("y_test") or [])
    for name in indicators:
        if name in overrides:
            noise[name] = overrides[name]
            described[name] = f"given: {describe_noise(overrides[name])}"
            continue
        b = latency_batch_size(name)
        if b is not None:
            raw = [_samples(run, k, b) for k in keys]
            if any(v is None for v in raw):
                missing = next(k for k, v in zip(keys, raw) if v is None)
                raise DataError(f"column {name!r}: {missing} has no latency samples at batch {b}")
            m = _LAT.match(name)
            if m is None:  # throughput = b / median
                stat, what = (lambda a, b=b: b / np.median(a, axis=-1)), f"{b} / median"
            elif m["q"] is None:
                stat, what = ((lambda a, b=b: np.mean(a, axis=-1) / b), f"mean / {b}") if m["per"] else ("mean", "mean")
            else:
                q = latency_quantile(name)
                base = "median" if q == 0.5 else f"quantile {q:g}"
                if m["per"]:
                    stat, what = (lambda a, q=q, b=b: np.quantile(a, q, axis=-1) / b), f"{base} / {b}"
                else:
                    stat, what = ("median" if q == 0.5 else q), base
            noise[name] = samples(raw, stat)
            sizes = [len(v) for v in raw]
            described[name] = (f"bootstrap of the raw per-call latencies at batch {b} "
                               f"({min(sizes)}-{max(sizes)} per model), statistic {what}")
        elif name in ("accuracy", "f1_macro") and n_test > 0:
            noise[name] = binomial(n_test, 1.0)
            described[name] = (f"binomial sampling error on n = {n_test} test examples"
                               + (" (an approximation for macro F1)" if name == "f1_macro" else ""))
        else:
            described[name] = "exact" + (" (no test labels recorded)" if name in ("accuracy", "f1_macro") else "")
    return noise, described


def describe_noise(spec) -> str:
    """A :class:`~effbench.analysis.stochastic_frontier.Noise` in words."""
    kind, value = getattr(spec, "kind", None), getattr(spec, "value", None)
    if kind == "rel":
        return f"Gaussian, relative sd {value:g}"
    if kind == "abs":
        return f"Gaussian, absolute sd {value:g}"
    if kind == "n":
        return f"binomial on n = {int(value)} examples"
    return "bootstrap of raw samples"
