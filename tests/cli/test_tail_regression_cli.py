"""`effbench tail measure SUITE.toml` on a regression suite file (--tolerance or [data] tolerance) and on a
model of named integer inputs (a dict of arrays in the npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from effbench import records as R
from effbench.cli import main
from effbench.store.db import Store

SMALL = ["--quiet", "--batch-size", "5", "--min-rounds", "2", "--max-rounds", "3", "--every", "1", "--window", "1"]
ERRORS = np.array([0.0, 0.1, -0.2, 0.3, -0.4, 0.45, -0.05, 0.2, 0.35, -0.3, 0.15, -0.1,
                   0.6, -0.7, 0.9, -1.2, 2.0, -0.8, 1.5, -0.55])  # 12 of the 20 within 0.5


def _first_column_onnx(path):
    """An ONNX graph predicting x0: float32 N x 3 -> MatMul with [1, 0, 0]^T -> N x 1."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    w = numpy_helper.from_array(np.array([[1.0], [0.0], [0.0]], np.float32), "w")
    model = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [out], [w]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


def _regression_suite(tmp_path, data_extra=""):
    X = np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32)
    y = X[:, 0].astype(np.float64) + ERRORS
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    model = _first_column_onnx(tmp_path / "lin.onnx")
    (tmp_path / "reg.toml").write_text(f'name = "reg"\n[data]\npath = "reg.npz"\ntask = "regression"\n'
                                       f'metrics = ["mae", "rmse"]\n{data_extra}\n'
                                       f'[[candidates]]\nname = "lin"\nmodel = "{model}"\n')
    return str(tmp_path / "reg.toml"), X, y


def test_tail_measure_of_a_regression_suite_file(tmp_path, capsys):
    suite, X, y = _regression_suite(tmp_path)
    db = tmp_path / "r.sqlite"
    code = main(["tail", "measure", suite, "--candidate", "lin", "--tolerance", "0.5", "--threshold", "1000", *SMALL,
                 "--holdout-rounds", "2", "--grid", "3", "--json", str(tmp_path / "t.json"), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 0, err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    key = "lin/onnxruntime"
    assert run.status == "complete" and run.config["tail"]["tolerance"] == 0.5
    assert run.config["quality"] == {"task": "regression", "tolerance": 0.5, "label": "within ±0.5 on time",
                                     "good": "on time and |prediction - target| <= 0.5 (the target's units); "
                                             "a late answer is a miss"}
    tail = run.candidate(key).info["tail"]
    user = next(r for r in tail["thresholds"] if r["origin"] == "user")
    assert user["min"] == user["max"] == 0.6 and tail["unconstrained"]["mean"] == 0.6  # 1000 s: every answer on time
    assert user["late_as_mean"]["mae"]["mean"] == pytest.approx(np.abs(ERRORS).mean(), abs=1e-6)
    # the regression metrics of the first round's answers (no deadline) are stored, with their direction
    assert run.value(key, "mae") == pytest.approx(np.abs(ERRORS).mean(), abs=1e-6)
    assert run.metric(key, "rmse").detail["direction"] == "min"
    assert "quality: within ±0.5 on time: a good answer is on time and |prediction - target| <= 0.5" in out
    assert f"{key}: late answers replaced by the mean of the targets" in out
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["config"]["tolerance"] == 0.5 and doc["candidates"][key]["accuracy"] == 0.6
    assert doc["candidates"][key]["quality_name"] == "within ±0.5 on time"   # the share is not an accuracy
    assert doc["candidates"][key]["quality_without_deadline"] == 0.6 and doc["candidates"][key]["random_weights"] is False
    # [data] tolerance in the file serves when no --tolerance is given
    suite, _, _ = _regression_suite(tmp_path, "tolerance = 0.25")
    assert main(["tail", "measure", suite, *SMALL, "--holdout-rounds", "0", "--grid", "0", "--no-store",
                 "--json", str(tmp_path / "u.json")]) == 0
    doc = json.loads((tmp_path / "u.json").read_text())
    assert doc["config"]["tolerance"] == 0.25 and doc["candidates"][key]["accuracy"] == 0.35  # 7 of 20 within 0.25


def _classification_suite(tmp_path):
    suite, _, _ = _regression_suite(tmp_path)
    text = Path(suite).read_text().replace('task = "regression"\nmetrics = ["mae", "rmse"]', 'task = "classification"')
    np.savez(tmp_path / "reg.npz", X=np.zeros((4, 3), np.float32), y=np.array([0, 1, 0, 1]))
    Path(suite).write_text(text)
    return suite


@pytest.mark.parametrize("make, args, message", [
    ("regression", [], "data.tolerance: suite 'reg' is a regression, and the tail mode counts an on-time answer as good "
                       "when |prediction - target| <= tolerance; give a number >= 0 in the target's units "
                       "(e.g. tolerance = 0.5 in [data], or --tolerance 0.5)"),
    ("regression", ["--tolerance", "-1"], "--tolerance: expected a number of target units >= 0, got -1.0"),
    ("classification", ["--tolerance", "0.5"], "--tolerance: applies to regression only (a good answer within the "
                                               "tolerance of the target); suite 'reg' is a classification, where a good "
                                               "answer is the right label; got 0.5"),
    ("tolerance in a classification", [], "data.tolerance: applies to task \"regression\" only (the tail mode's good "
                                          "answer: within the tolerance of the target); the task is 'classification'"),
    ("default suite", ["--tolerance", "0.5"], "--tolerance: applies to a regression suite file; the default suite "
                                              "(digits) is a classification, where a good answer is the right label; got 0.5"),
])
def test_tolerance_mistakes_are_one_line_before_anything_is_built(tmp_path, capsys, monkeypatch, make, args, message):
    import effbench.runs.files
    import effbench.zoo.digits_suite

    def no_build(*a, **k):
        raise AssertionError("models were built before the tolerance was checked")

    monkeypatch.setattr(effbench.runs.files, "plan_suite_file", no_build)
    monkeypatch.setattr(effbench.zoo.digits_suite, "build_candidates", no_build)
    if make == "regression":
        suite = [_regression_suite(tmp_path)[0]]
    elif make == "default suite":
        suite = []
    else:
        suite = [_classification_suite(tmp_path)]
        if make == "tolerance in a classification":
            Path(suite[0]).write_text(Path(suite[0]).read_text().replace('task = "classification"',
                                                                         'task = "classification"\ntolerance = 0.5'))
    assert main(["tail", "measure", *suite, *args, "--db", str(tmp_path / "r.sqlite")]) == 2
    assert capsys.readouterr().err.strip() == f"effbench: error: {message}"
    assert not (tmp_path / "r.sqlite").exists()


def test_tail_measure_of_a_suite_file_with_named_integer_inputs(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "sources"))  # factories_for_tests, for the workers too
    import factories_for_tests as F

    rng = np.random.default_rng(1)
    data = {"input_ids": rng.integers(0, 20, size=(16, 6)), "attention_mask": np.ones((16, 6), dtype=np.int64)}
    data["attention_mask"][:, 4:] = 0
    with torch.inference_mode():
        y = F.build_token_net()(**{k: torch.from_numpy(v) for k, v in data.items()})["logits"].argmax(1).numpy()
    y[:4] = (y[:4] + 1) % 3  # four wrong labels: accuracy 12/16
    np.savez(tmp_path / "tok.npz", **data, y=y)
    (tmp_path / "tok.toml").write_text('name = "tok"\n[data]\npath = "tok.npz"\n[[candidates]]\nname = "tok"\n'
                                       'model = "python:factories_for_tests:build_token_net"\noutput = "logits"\n')
    db = tmp_path / "r.sqlite"
    code = main(["tail", "measure", str(tmp_path / "tok.toml"), "--candidate", "tok", *SMALL, "--threshold", "1000",
                 "--holdout-rounds", "0", "--grid", "0", "--db", str(db)])
    assert code == 0, capsys.readouterr().err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.status == "complete" and run.value("tok/torch", R.ACCURACY) == 0.75
    tail = run.candidate("tok/torch").info["tail"]
    assert tail["unconstrained"]["mean"] == 0.75 and tail["instances"] == 16 and tail["quality"]["task"] == "classification"
    assert next(r for r in tail["thresholds"] if r["origin"] == "user")["min"] == 0.75
