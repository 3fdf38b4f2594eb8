"""The terminal and paper tables flag undercounted FLOPs and explain torch/ONNX parameter gaps."""

from __future__ import annotations

import numpy as np

from effbench.analysis.costs import run_summary
from effbench.records import CandidateRecord, Metric, RunRecord, SampleSet
from effbench.report.run_summary import render_run_summary
from effbench.report.tables import cost_table_rows
from effbench.report.text import flops_flags, param_notes


def _run() -> RunRecord:
    run = RunRecord(run_id="20260101-000000-flop", created_at="2026-01-01T00:00:00+00:00", status="complete", suite="s",
                    config={"batch_sizes": [1], "threads": 1}, environment={}, task={"name": "t", "n_test": 1})
    details = {
        # key: (params, flops, detail)
        "vit/torch": (5_717_416, 2.0e9, {"coverage": 0.4, "uncounted_ops": {"aten._scaled_dot_product_flash_attention_for_cpu": 12},
                                         "uncounted_work_share": 0.001,
                                         "missing_big_ops": ["aten._scaled_dot_product_flash_attention_for_cpu"]}),
        "vit/onnxruntime": (5_708_200, 2.5e9, {"coverage": 0.5, "uncounted_ops": {"Softmax": 12}, "uncounted_work_share": 0.02,
                                               "missing_big_ops": []}),
        "mlp/torch": (100, 1.0e3, {"coverage": 0.5, "uncounted_ops": {"aten.exp": 1}, "uncounted_work_share": 0.25,
                                   "missing_big_ops": []}),
        "mlp/onnxruntime": (100, 1.0e3, {"coverage": 0.5, "uncounted_ops": {"Exp": 1}}),  # stored before the new keys
    }
    for key, (params, flops, detail) in details.items():
        model, backend = key.split("/")
        run.candidates.append(CandidateRecord(key=key, model=model, backend=backend, status="ok"))
        run.metrics += [Metric(key, "params", params, "count", "analytic"),
                        Metric(key, "flops_per_sample", flops, "FLOP", "analytic", detail=detail)]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", np.full(20, 1e-3), {"stop_reason": "max_time"}))
    return run


def test_flags_name_missing_big_ops_and_a_large_uncounted_share():
    flags = flops_flags(_run())
    assert set(flags) == {"vit/torch", "mlp/torch"}  # mlp/onnxruntime has no share stored: not flagged
    assert "aten._scaled_dot_product_flash_attention_for_cpu" in flags["vit/torch"]
    assert "25% of the work" in flags["mlp/torch"]


def test_terminal_table_marks_the_cells_and_adds_note_lines():
    out, _ = render_run_summary(run_summary(_run()))
    text = "\n".join(out)
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith(("vit/", "mlp/"))}
    assert "2G!" in rows["vit/torch"] and "2.5G" in rows["vit/onnxruntime"] and "2.5G!" not in rows["vit/onnxruntime"]
    assert "1k!" in rows["mlp/torch"] and "!" not in rows["mlp/onnxruntime"]
    assert "! vit/torch: FLOPs undercounted, not counted: aten._scaled_dot_product_flash_attention_for_cpu" in text
    assert "! mlp/torch: FLOPs undercounted, the ops it could not count are estimated at 25% of the work" in text


def test_cost_rows_carry_the_uncounted_work_share():
    rows = {r["candidate"]: r for r in run_summary(_run()).costs}
    assert rows["mlp/torch"]["flops_uncounted_work_share"] == 0.25
    assert rows["mlp/onnxruntime"]["flops_uncounted_work_share"] is None  # stored before the key existed
    assert "flops_uncounted_work_share" not in rows["mlp/onnxruntime"]["missing"]


def test_param_note_from_the_counts():
    rows = run_summary(_run()).costs
    notes = param_notes(rows)
    assert len(notes) == 1  # mlp holds the same count on both backends
    assert notes[0].startswith("params: vit holds 5,708,200 parameters on onnxruntime and 5,717,416 on torch (-0.16%)")
    assert "folds each BatchNorm" in notes[0] and "identical initialisers" in notes[0]
    rows[1]["params"] = rows[0]["params"].__class__(5_800_000, "count", "analytic")
    assert "buffers, not parameters" in param_notes(rows)[0]


def test_markdown_table_carries_the_flag_and_the_notes():
    headers, rows, notes = cost_table_rows(_run())
    col = next(i for i, h in enumerate(headers) if h.startswith("FLOPs"))
    by_key = {r[0]: r for r in rows}
    assert by_key["vit/torch"][col].endswith(" !") and not by_key["vit/onnxruntime"][col].endswith("!")
    assert any(n.startswith("! vit/torch") for n in notes) and any(n.startswith("params: vit") for n in notes)
