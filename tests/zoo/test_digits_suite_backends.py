"""The digits suite builds its candidates through the backend registry."""

import itertools

import pytest

pytest.importorskip("skl2onnx")


def test_a_model_reaches_another_backend_through_its_converter():
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, select_specs

    task = load_digits_task()
    clock = itertools.count().__next__  # 0, 1, 2, ...: each interval is 1 "second"
    cands, training = build_candidates(task, select_specs(["logreg"], ["sklearn", "onnxruntime"]), clock=clock)
    assert [(type(c).__name__, c.key, c.parent) for c in cands] == [
        ("SklearnCandidate", "logreg/sklearn", None),
        ("OnnxCandidate", "logreg/onnxruntime", "logreg/sklearn"),
    ]
    assert training["logreg"]["train_time_s"] == 1 and training["logreg"]["onnx_export_time_s"] == 1
    assert cands[1].serialization_format() == "onnx"
    assert (cands[0].predict(task.X_test) == cands[1].predict(task.X_test)).all()
