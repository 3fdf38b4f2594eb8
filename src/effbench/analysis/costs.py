"""The cost table: every indicator of every candidate, derived from a run's records.

Pure: a :class:`effbench.records.RunRecord` in, plain dicts out. Raw latency samples are the
truth; latency percentiles and throughput are derived here, every time, from them.
Each value is a :class:`Value` with its unit and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effbench.analysis.stats import min_samples_for_quantile_ci, quantile, quantile_ci
from effbench.records import ANALYTIC, ENERGY_PER_SAMPLE_J, MEASURED, PEAK_MEMORY_BYTES, RANDOM_WEIGHTS, is_quality_metric
from effbench.records import LATENCY_PER_CALL as LATENCY_KIND


@dataclass(frozen=True)
class Value:
    value: float | None
    unit: str
    provenance: str          # measured | estimated | analytic
    note: str = ""

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "provenance": self.provenance, **({"note": self.note} if self.note else {})}


def _metric_value(run, key, name, batch_size=0) -> Value | None:
    m = run.metric(key, name, batch_size)
    if m is None:
        return None
    value = m.value
    if value is not None and m.unit in ("count", "bytes") and float(value).is_integer():
        value = int(value)  # SQLite stores REAL; counts read back as integers
    return Value(value, m.unit, m.provenance, note=m.detail.get("reason", ""))


def random_weight_keys(run) -> frozenset[str]:
    """The candidates whose weights are random on purpose (``weights = "random"``, recorded in
    ``info["weights"]``): their cost figures are valid, their quality figures meaningless. Every
    surface that shows a quality figure asks this one function (the mark ``?`` of
    :func:`effbench.numbers.mark_random_weights`, the note of :func:`effbench.report.text.random_weights_notes`,
    the ``random_weights`` flag of the JSON and CSV outputs)."""
    return frozenset(c.key for c in run.candidates if (c.info or {}).get("weights") == RANDOM_WEIGHTS)


def random_quality_cells(run, keys, names) -> set[tuple[str, str]]:
    """The (key, column) cells among ``keys`` x ``names`` that hold a quality figure of a candidate
    with random weights (:func:`random_weight_keys`). A key may name its hardware (``key@hardware``,
    runs on several hardware, :mod:`effbench.analysis.multirun`): the model is the part before ``@``."""
    random = {k.split("@")[0] for k in random_weight_keys(run)}
    return {(k, n) for k in keys if k.split("@")[0] in random for n in names if is_quality_metric(run.task, n)}


CI_CONFIDENCE = 0.95
"""The confidence level of the latency intervals of :func:`batch_rows` (and every surface that shows them)."""

#: the quantiles whose intervals :func:`batch_rows` gives: name in the row -> quantile
INTERVAL_QUANTILES = {"latency_p50": 0.5, "latency_p99": 0.99, "latency_p99_9": 0.999}


def _intervals(v) -> dict:
    """``<name>_low_s``/``<name>_high_s`` of :data:`INTERVAL_QUANTILES` (None when too few samples give
    no interval: ``<name>_min_samples`` says how many it needs), and the p99.9 point estimate."""
    out = {}
    for name, q in INTERVAL_QUANTILES.items():
        est = quantile_ci(v, q, CI_CONFIDENCE)
        if name == "latency_p99_9":
            out["latency_p99_9_s"] = est.value
        out[f"{name}_low_s"] = est.low if est.has_interval else None
        out[f"{name}_high_s"] = est.high if est.has_interval else None
        out[f"{name}_min_samples"] = min_samples_for_quantile_ci(q, CI_CONFIDENCE)
    return out


def batch_rows(run) -> list[dict]:
    """One row per (candidate, batch size): latency per batch and per sample, throughput, memory.

    p50, p99 and p99.9 come with their 95% order-statistic intervals
    (:func:`effbench.estimates.quantile_ci`): ``latency_p50_low_s``, ``latency_p50_high_s``, ... None
    when the cell has fewer samples than ``latency_p99_9_min_samples`` (3688 for p99.9) and the like."""
    rows = []
    for s in run.samples_for(kind=LATENCY_KIND):
        b = s.batch_size
        v = np.asarray(s.values, dtype=float)
        p50, p90, p99 = (quantile(v, q) for q in (0.5, 0.9, 0.99))
        mem = run.metric(s.candidate, PEAK_MEMORY_BYTES, b)
        energy = run.metric(s.candidate, ENERGY_PER_SAMPLE_J, b)
        rows.append({
            "candidate": s.candidate,
            "batch_size": b,
            "n_samples": int(v.size),
            "latency_p50_s": p50,
            "latency_p90_s": p90,
            "latency_p99_s": p99,
            "latency_mean_s": float(v.mean()),
            **_intervals(v),
            "latency_p50_per_sample_s": p50 / b,
            "latency_p99_per_sample_s": p99 / b,
            "throughput_samples_per_s": b / p50 if p50 > 0 else float("inf"),
            "peak_memory_bytes": None if mem is None else mem.value,
            "energy_per_sample_j": None if energy is None else energy.value,
            "energy_provenance": None if energy is None else energy.provenance,
            "stop_reason": s.meta.get("stop_reason"),
            "block_size": s.meta.get("block_size", 1),
        })
    rows.sort(key=lambda r: (r["candidate"], r["batch_size"]))
    return rows


# figures derived from the raw latency samples (the stored metrics, energy included, are given as they are)
DERIVED_UNITS = {
    "n_samples": "count",
    "latency_p50_s": "s",
    "latency_p90_s": "s",
    "latency_p99_s": "s",
    "latency_mean_s": "s",
    "latency_p50_low_s": "s",
    "latency_p50_high_s": "s",
    "latency_p99_low_s": "s",
    "latency_p99_high_s": "s",
    "latency_p99_9_s": "s",
    "latency_p99_9_low_s": "s",
    "latency_p99_9_high_s": "s",
    "latency_p99_9_min_samples": "count",
    "latency_p50_per_sample_s": "s",
    "latency_p99_per_sample_s": "s",
    "throughput_samples_per_s": "samples/s",
}


def long_rows(run) -> list[dict]:
    """One row per value: the stored metrics (batch size 0: not per batch size), then the figures
    derived from the raw latency samples per batch size (:data:`DERIVED_UNITS`, measured; an
    interval bound too few samples cannot give is left out, ``latency_p99_9_min_samples`` says
    how many it needs). ``weights`` is ``random`` on every row of a candidate with random weights
    (:func:`random_weight_keys`), else empty."""
    models = {c.key: (c.model, c.backend) for c in run.candidates}
    random = random_weight_keys(run)

    def row(candidate, batch_size, metric, value, unit, provenance):
        model, backend = models.get(candidate, (candidate, ""))
        return {"run_id": run.run_id, "candidate": candidate, "model": model, "backend": backend, "batch_size": batch_size,
                "metric": metric, "value": value, "unit": unit, "provenance": provenance,
                "weights": RANDOM_WEIGHTS if candidate in random else ""}

    rows = [row(m.candidate, m.batch_size, m.name, m.value, m.unit, m.provenance) for m in run.metrics]
    for r in batch_rows(run):
        rows += [row(r["candidate"], r["batch_size"], name, r[name], unit, ANALYTIC if name.endswith("_min_samples") else MEASURED)
                 for name, unit in DERIVED_UNITS.items() if r[name] is not None]
    return rows


def cost_table(run) -> list[dict]:
    """One row per candidate with every indicator as a :class:`Value` (or None when missing)."""
    by_cand: dict[str, list[dict]] = {}
    random = random_weight_keys(run)
    for r in batch_rows(run):
        by_cand.setdefault(r["candidate"], []).append(r)
    out = []
    for c in run.candidates:
        rows = by_cand.get(c.key, [])
        b1 = next((r for r in rows if r["batch_size"] == 1), None)
        best = max(rows, key=lambda r: r["throughput_samples_per_s"]) if rows else None
        flops = run.metric(c.key, "flops_per_sample")
        rss1 = run.metric(c.key, "peak_rss_bytes", 1)
        b_max = max((r["batch_size"] for r in rows), default=None)
        mem_max = None if b_max is None else run.metric(c.key, "peak_memory_bytes", b_max)
        missing = []
        row = {
            "candidate": c.key,
            "model": c.model,
            "backend": c.backend,
            "family": c.family,
            "parent": c.parent,
            "status": c.status,
            "error": c.error,
            "random_weights": c.key in random,
            "accuracy": _metric_value(run, c.key, "accuracy"),
            "f1_macro": _metric_value(run, c.key, "f1_macro"),
            "params": _metric_value(run, c.key, "params"),
            "nonzero_params": _metric_value(run, c.key, "nonzero_params"),
            "flops_per_sample": _metric_value(run, c.key, "flops_per_sample"),
            "flops_coverage": None if flops is None else flops.detail.get("coverage"),  # share of op calls
            "flops_uncounted_work_share": None if flops is None else (flops.detail or {}).get("uncounted_work_share"),
            "size_bytes": _metric_value(run, c.key, "size_bytes"),
            "compressed_size_bytes": _metric_value(run, c.key, "compressed_size_bytes"),
            "peak_rss_bytes_b1": None if rss1 is None else Value(rss1.value, rss1.unit, rss1.provenance, note="whole worker process at batch 1"),
            "peak_memory_bytes_bmax": None if mem_max is None else Value(mem_max.value, mem_max.unit, mem_max.provenance, note=f"added by one call at batch {b_max}"),
            "bmax": b_max,
            "latency_p50_s_b1": None if b1 is None else Value(b1["latency_p50_s"], "s", "measured"),
            "latency_p99_s_b1": None if b1 is None else Value(b1["latency_p99_s"], "s", "measured"),
            "best_throughput_samples_per_s": None if best is None else Value(best["throughput_samples_per_s"], "samples/s", "measured", note=f"at batch {best['batch_size']}"),
            "best_throughput_batch_size": None if best is None else best["batch_size"],
            "train_time_s": _metric_value(run, c.key, "train_time_s"),
            "train_energy_j": _metric_value(run, c.key, "train_energy_j"),
            "energy_per_sample_j_b1": _metric_value(run, c.key, "energy_per_sample_j", 1),
            **_best_energy(run, c.key, rows),
        }
        for name in task_metric_names(run):  # a suite's own quality metrics (top5, rmse, r2, custom), each by its name
            row.setdefault(name, _metric_value(run, c.key, name))
        for k, v in row.items():
            if v is None and k not in ("parent", "error", "nonzero_params", "compressed_size_bytes", "flops_coverage", "flops_uncounted_work_share", "best_throughput_batch_size", "bmax", "best_energy_batch_size"):
                missing.append(k)
        row["missing"] = missing
        out.append(row)
    return out


def task_metric_names(run) -> list[str]:
    """The quality metrics a run's task lists (a suite file's ``[data].metrics``), in order; empty for
    the digits suite and effbench.benchmark (accuracy and f1_macro)."""
    return [m["name"] for m in (run.task or {}).get("metrics") or () if isinstance(m, dict) and m.get("name")]


def _best_energy(run, key, rows) -> dict:
    """The batch size with the least energy per sample; estimated and measured values are never compared."""
    values = [(r["energy_per_sample_j"], r["batch_size"], r["energy_provenance"]) for r in rows if r.get("energy_per_sample_j") is not None]
    if not values or len({p for _, _, p in values}) > 1:
        return {"best_energy_per_sample_j": None, "best_energy_batch_size": None}
    e, b, prov = min(values)
    return {"best_energy_per_sample_j": Value(e, "J", prov, note=f"at batch {b}"), "best_energy_batch_size": b}


SUMMARY_SCHEMA = "effbench.show/1"


@dataclass(frozen=True)
class RunSummary:
    """What ``effbench show RUN_ID`` shows: the cost table, the per-batch-size rows and the stability
    notes of one run (each derived from its records)."""

    run: object
    costs: list[dict]
    batches: list[dict]
    stability: object        # effbench.analysis.compare_runs.RunStability

    def to_dict(self) -> dict:
        def plain(row: dict) -> dict:
            return {k: v.to_dict() if isinstance(v, Value) else v for k, v in row.items()}

        return {"schema": SUMMARY_SCHEMA, "run_id": self.run.run_id, "status": self.run.status, "suite": self.run.suite,
                "costs": [plain(r) for r in self.costs],
                "batches": [plain(r) for r in self.batches], "stability": self.stability.to_dict()}


def run_summary(run) -> RunSummary:
    """:func:`cost_table`, :func:`batch_rows` and the stability report of ``run``."""
    from effbench.analysis.compare_runs import stability_report

    return RunSummary(run, cost_table(run), batch_rows(run), stability_report(run))
