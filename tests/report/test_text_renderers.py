"""The text renderers of report/ take result objects only (no run loading, no analysis) and say what
the results hold: run summary, batching study, recommendation; and the report's analyses."""

from __future__ import annotations

import numpy as np
from report_runs import IMG_ERROR, make_run

from effbench.analysis.batching import LatencyObjective
from effbench.analysis.costs import run_summary
from effbench.analysis.run_batching import batching_study
from effbench.analysis.run_report import MISNOMER_TOP, run_report
from effbench.analysis.selection import Row, recommend
from effbench.records import CandidateRecord, Metric, RunRecord, SampleSet
from effbench.report.batching import render_batching_study
from effbench.report.recommendation import format_cost, render_recommendation
from effbench.report.run_summary import render_run_list, render_run_summary, stored_line


def test_run_summary_lines():
    run = make_run()
    out, err = render_run_summary(run_summary(run))
    assert len(out) == 1 and out[0].startswith("run 20260101-000000-test (hand-made, complete) - digits: 10 test examples")
    assert f"failed: delta/torch: {IMG_ERROR}" in err and "note: a note with <em>html</em>" in err
    out_b, _ = render_run_summary(run_summary(run), batches=True)
    assert len(out_b) == 2 and out_b[1].startswith("per batch size")
    assert stored_line(run, "/x.sqlite").startswith("stored as run 20260101-000000-test in /x.sqlite  (effbench show")
    assert render_run_list([], "/x.sqlite") == ["no runs yet in /x.sqlite; start one with 'effbench run'"]


def test_batching_lines_mark_estimated_energy():
    rng = np.random.default_rng(0)
    key = "m/sklearn"
    samples = [SampleSet(key, b, "latency_per_call", "s", rng.lognormal(np.log(t), 0.2, 200), {}) for b, t in ((1, 1e-3), (4, 2e-3))]
    metrics = [Metric(key, "energy_per_batch_j", e, "J", "estimated", b) for b, e in ((1, 0.01), (4, 0.02))]
    run = RunRecord("r", "2024-01-01", "complete", candidates=[CandidateRecord(key, "m", "sklearn", "linear", None, "ok")],
                    metrics=metrics, samples=samples)
    study = batching_study(run, None, 10.0, LatencyObjective(0.5), policies=("fixed",), n_requests=1000)
    table, sentence = render_batching_study(study)
    rows = [line.split() for line in table.splitlines()[3:]]
    assert [r[0] for r in rows] == ["1", "4"] and [r[-2:] for r in rows] == [["10", "mJ~"], ["5", "mJ~"]]
    assert sentence.startswith("m/sklearn: at 10 requests/s, fixed B=") and "(estimated" in sentence


def test_recommendation_lines_from_rows():
    y = np.arange(100) % 10
    two_wrong = y.copy()
    two_wrong[:2] += 1
    rows = [Row("big", 1.0, {"params": 1000.0}, "neural-network", y.tolist()),
            Row("small", 0.98, {"params": 10.0}, "linear", two_wrong.tolist())]
    rec = recommend(rows, preference=["simplicity", "params"], y_true=y)
    out, err = render_recommendation(rec)
    assert out[0] == "Recommendation for run None (accuracy on 100 test examples; parity: McNemar exact test, 95% level)"
    assert "Use small." in out and out[-1] == "  big: accuracy 1.0000 (on par); neural-network; params=1k"
    assert err == []
    assert (format_cost(None), format_cost(float("nan")), format_cost(2e-4), format_cost(12.5)) == ("-", "-", "2.00e-04", "12.5")
    assert format_cost(0.02096, "latency_p99_s_b1") == "21 ms"


def test_report_analyses_are_computed_before_rendering():
    import json

    from effbench.analysis.quality_cost import COSTS

    report = run_report(make_run())
    assert report.recommendation is not None and report.recommendation_error is None
    assert [p.cost for p in report.quality_vs_cost] == [c for c, _, _, _ in COSTS]
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    size = doc["quality_vs_cost"][2]  # 80000 bytes at 0.97 is dominated by 79000 bytes at 0.97
    assert size["cost"] == "size_bytes" and [pt["on_frontier"] for pt in size["points"]] == [True, False, True]
    assert size["provenances"] == ["measured"] and "delta/torch" not in size["missing"]
    for p in report.misnomer.result.contradictions:
        assert len(p.top) == min(p.count, MISNOMER_TOP)
    assert any(p.count > 1 for p in report.misnomer.result.contradictions)
