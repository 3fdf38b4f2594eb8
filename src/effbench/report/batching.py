"""The text of ``effbench batching``: a :class:`effbench.analysis.run_batching.BatchingStudy` in, text blocks out."""

from __future__ import annotations

from effbench.numbers import fmt_rate, fmt_seconds, fmt_si, mark_estimate
from effbench.report.text import render_table

__all__ = ["render_batching_study"]

_HEADERS = ["batch", "p50/batch", "p99/batch", "p50/sample", "throughput (b/p50)", "energy/sample"]


def _row(r: dict) -> list[str]:
    return [str(r["batch_size"]), fmt_seconds(r["batch_latency_p50_s"]), fmt_seconds(r["batch_latency_p99_s"]),
            fmt_seconds(r["per_sample_latency_s"]), fmt_rate(r["throughput_per_s"]),
            mark_estimate(fmt_si(r["energy_per_sample_j"], "J"), r["energy_provenance"] == "estimated")]


def render_batching_study(study) -> list[str]:
    """Per candidate: its batch-size table, then the recommended setting in one sentence."""
    out = []
    for key, res in study.candidates.items():
        out.append(render_table(f"{key}: per batch size (service time measured; ~ energy estimated)", _HEADERS,
                                [_row(r) for r in res.table]))
        out.append(f"{key}: at {study.arrival_rate_per_s:g} requests/s, {res.recommendation.summary}")
    return out
