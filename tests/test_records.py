"""The record types: indexed look-ups that stay right as a run's lists grow."""

import numpy as np

from effbench.records import LATENCY_PER_CALL, TAIL_E2E_PER_BATCH, CandidateRecord, Metric, RunRecord, SampleSet


def _run():
    run = RunRecord(run_id="r", created_at="t", status="complete")
    run.candidates.append(CandidateRecord("a/torch", "a", "torch", status="ok"))
    run.metrics.append(Metric("a/torch", "params", 10, "count", "analytic"))
    run.samples.append(SampleSet("a/torch", 1, LATENCY_PER_CALL, "s", np.array([1.0, 2.0])))
    return run


def test_accessors_find_what_is_stored():
    run = _run()
    assert run.candidate("a/torch").model == "a" and run.has_candidate("a/torch") and not run.has_candidate("b/torch")
    assert run.value("a/torch", "params") == 10 and run.metric("a/torch", "params", 8) is None
    assert run.sample_set("a/torch", 1).values.tolist() == [1.0, 2.0]
    assert run.batch_sizes("a/torch") == [1] and run.metric_keys() == {("params", 0)}


def test_the_index_follows_the_lists_as_they_grow():
    run = _run()
    assert run.metric("a/torch", "accuracy") is None  # builds the index
    run.metrics.append(Metric("a/torch", "accuracy", 0.9, "ratio", "measured"))
    run.candidates.append(CandidateRecord("b/onnxruntime", "b", "onnxruntime", status="failed"))
    run.samples.append(SampleSet("a/torch", 8, LATENCY_PER_CALL, "s", np.array([3.0])))
    run.samples.append(SampleSet("a/torch", 1, TAIL_E2E_PER_BATCH, "s", np.array([4.0])))
    assert run.value("a/torch", "accuracy") == 0.9
    assert run.candidate("b/onnxruntime").status == "failed" and run.failed == ["b/onnxruntime"]
    assert run.batch_sizes("a/torch") == [1, 8] and run.sample_set("a/torch", 1, TAIL_E2E_PER_BATCH).values[0] == 4.0
    run.metrics = [m for m in run.metrics if m.name != "params"]  # a new list of another length
    assert run.metric("a/torch", "params") is None and [m.name for m in run.metrics_for("a/torch")] == ["accuracy"]


def test_repr_is_short():
    assert repr(_run()) == "<RunRecord r complete, suite None: 1 candidates (0 failed), 1 metrics, 1 sample sets>"
