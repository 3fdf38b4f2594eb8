"""p50, p99 and p99.9 with their 95% intervals on every surface: show --batches, the HTML report,
the long and wide CSV and the JSON export; the values are estimates.quantile_ci of the stored samples."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from report_runs import make_run

from effbench.analysis.costs import batch_rows, run_summary
from effbench.analysis.multirun import combine_runs
from effbench.estimates import quantile_ci
from effbench.report.export import export_document, run_to_csv_rows
from effbench.records import SampleSet
from effbench.report.run_summary import render_run_summary

BIG = ("alpha/sklearn", 32)  # a cell with enough samples for a p99.9 interval


def _run():
    run = make_run(tail=False)
    values = 1e-4 * np.exp(np.random.default_rng(1).normal(0.0, 0.2, 4000))
    run.samples.append(SampleSet(BIG[0], BIG[1], "latency_per_call", "s", values, {"stop_reason": "max_time"}))
    return run


def _row(rows, key, b):
    return next(r for r in rows if (r["candidate"], r["batch_size"]) == (key, b))


def test_batch_rows_carry_the_quantile_intervals_of_the_stored_samples():
    run = _run()
    rows = batch_rows(run)
    for key, b in (("alpha/sklearn", 1), BIG):
        r, v = _row(rows, key, b), run.sample_set(key, b).values
        for name, q in (("latency_p50", 0.5), ("latency_p99", 0.99), ("latency_p99_9", 0.999)):
            est = quantile_ci(v, q, 0.95)
            expected = (est.low, est.high) if est.has_interval else (None, None)
            assert (r[f"{name}_low_s"], r[f"{name}_high_s"]) == expected
        assert r["latency_p99_9_s"] == quantile_ci(v, 0.999).value and r["latency_p99_9_min_samples"] == 3688
    small, big = _row(rows, "alpha/sklearn", 1), _row(rows, *BIG)
    assert small["n_samples"] == 200 and small["latency_p50_low_s"] is not None and small["latency_p99_low_s"] is None
    assert big["latency_p99_9_low_s"] < big["latency_p99_9_s"] < big["latency_p99_9_high_s"]


def test_show_batches_prints_the_intervals_and_what_p99_9_needs():
    run = _run()
    out, _ = render_run_summary(run_summary(run), batches=True)
    text = "\n".join(out)
    assert "p50 95% CI" in text and "p99.9/batch" in text
    assert "needs 368 samples" in text        # p99 of the 200-sample cells
    assert "needs 3688 samples" in text       # p99.9 of the 200-sample cells
    from effbench.report.run_summary import interval_text, p99_9_text

    big = _row(batch_rows(run), *BIG)
    assert interval_text(big, "latency_p99_9").startswith("[") and p99_9_text(big).count("[") == 1


def test_html_report_has_the_per_batch_interval_table():
    from effbench.analysis.run_report import run_report
    from effbench.report.html import render_html

    text = render_html(run_report(_run()), generated_at="2026-01-01T00:00:00+00:00")
    table = text[text.index('id="batch-intervals"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + len(batch_rows(_run())) and "needs 3688 samples" in table


def test_json_and_long_csv_exports_carry_the_intervals():
    run = _run()
    doc = json.loads(json.dumps(export_document(run), allow_nan=False))
    big = _row(doc["derived"]["batch_table"], *BIG)
    est = quantile_ci(run.sample_set(*BIG).values, 0.999, 0.95)
    assert (big["latency_p99_9_low_s"], big["latency_p99_9_high_s"]) == (est.low, est.high)
    assert _row(doc["derived"]["batch_table"], "alpha/sklearn", 1)["latency_p99_9_low_s"] is None

    long = {(r["candidate"], r["batch_size"], r["metric"]): r for r in run_to_csv_rows(run)}
    assert long[(*BIG, "latency_p99_9_high_s")]["value"] == est.high
    assert long[(*BIG, "latency_p99_9_min_samples")]["provenance"] == "analytic"
    assert ("alpha/sklearn", 1, "latency_p99_low_s") not in long   # 200 samples: no p99 interval, no row


def test_wide_csv_has_an_interval_beside_each_latency_quantile():
    run = _run()
    header, rows = combine_runs([run]).wide_rows(["latency_p99_9_s_b32", "latency_p50_s_b1"])
    assert header[-6:] == ["latency_p99_9_s_b32", "latency_p99_9_s_b32_ci95_low", "latency_p99_9_s_b32_ci95_high",
                           "latency_p50_s_b1", "latency_p50_s_b1_ci95_low", "latency_p50_s_b1_ci95_high"]
    alpha = next(r for r in rows if r["key"] == "alpha/sklearn")
    est = quantile_ci(run.sample_set(*BIG).values, 0.999, 0.95)
    assert (alpha["latency_p99_9_s_b32_ci95_low"], alpha["latency_p99_9_s_b32_ci95_high"]) == (est.low, est.high)
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=header).writeheader()
    assert "latency_p50_s_b1_ci95_low" in buf.getvalue()
