"""The tail mode on a regression (a good answer: on time and within the tolerance of the target) and on
models of named inputs (a dict of arrays; an instance is a row of every array)."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis import tail as T
from effbench.candidates.callable_adapter import CallableCandidate
from effbench.errors import ConfigError, DataError
from effbench.measure.rounds import RoundsData, run_rounds
from effbench.runs.tail import TailConfig, measure_tail, tail_report
from effbench.tasks.metrics import get_metric
from tests.measure.test_rounds import FakeClock  # 1 s per clock read; the model adds its own time


# -- what a good answer is --------------------------------------------------------------------------

def test_a_regression_answer_is_good_within_the_tolerance_inclusive():
    data = RoundsData(1, 4, np.ones((2, 4)), np.ones((2, 4)), np.array([[1.0, 2.25, 3.5, 5.0], [1.5, 2.0, 3.0, 3.0]]))
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert data.correct(y, 0.5).tolist() == [[True, True, True, False], [True, True, True, False]]
    assert data.correct(y, 0.25).tolist() == [[True, True, False, False], [False, True, True, False]]
    assert data.correct(y, 0.0).tolist() == [[True, False, False, False], [False, True, True, False]]
    assert data.correct(y).tolist() == [[True, False, False, False], [False, True, True, False]]  # labels: equality
    assert T.answer_definition(0.5) == {
        "task": "regression", "tolerance": 0.5, "label": "within ±0.5 on time",
        "good": "on time and |prediction - target| <= 0.5 (the target's units); a late answer is a miss"}
    assert T.answer_definition(None)["task"] == "classification" and T.answer_definition(None)["label"] == "accuracy"


def test_late_answers_replaced_by_a_fallback():
    times = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    values = np.array([[1.0, 2.25, 3.5, 5.0]] * 2)
    y = np.array([1.0, 2.0, 3.0, 4.0])
    mae = get_metric("mae", "regression").fn
    got = T.late_fallback_scores(times, values, y, [2.5, 4.0, 0.5], mae, fallback=2.5)
    # at 2.5 s: round 0 answers instances 0, 1 (errors 0, 0.25) and falls back on 2, 3 (0.5, 1.5): 2.25 / 4;
    # round 1 answers 2, 3 (0.5, 1.0) and falls back on 0, 1 (1.5, 0.5): 3.5 / 4; at 4 s every answer is on
    # time (0 + 0.25 + 0.5 + 1.0) / 4; at 0.5 s none is: the mean predictor, (1.5 + 0.5 + 0.5 + 1.5) / 4
    assert got.tolist() == [[0.5625, 0.4375, 1.0], [0.875, 0.4375, 1.0]]
    with pytest.raises(DataError, match=r"^values: expected shape \(2, 4\) and y_true \(4,\) to match times"):
        T.late_fallback_scores(times, values[:, :3], y, [1.0], mae, fallback=0.0)


def test_tail_report_of_a_regression_counts_late_and_far_answers_as_misses():
    # 4 instances, 3 rounds; errors 0, 0.25, 0.5, 1.0 in every round: within 0.5 are the first three
    times = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    values = np.array([[1.0, 2.25, 3.5, 5.0]] * 3)
    y = np.array([1.0, 2.0, 3.0, 4.0])
    fit = RoundsData(1, 4, times, times, values, {"warmup_rounds": 0})
    config = TailConfig(tolerance=0.5, thresholds_s=(2.5,), percentiles=(), grid=0, min_rounds=2, max_rounds=3, every=1,
                        window=1, n_simulated=20, holdout_rounds=0)
    conv = T.convergence_round(fit.instance_times("e2e"), config.convergence())
    rep = tail_report(fit, None, y, conv, config, fallback_metrics=(get_metric("mae", "regression"),))
    assert rep["quality"]["task"] == "regression" and rep["quality"]["tolerance"] == 0.5
    assert rep["unconstrained"]["mean"] == 0.75
    user = next(r for r in rep["thresholds"] if r["origin"] == "user")
    # at 2.5 s: rounds 0 and 1 answer instances 0, 1 on time (both within 0.5): 2/4; round 2 answers 2, 3: only 2 is good
    assert (user["min"], user["max"], user["mean"]) == (0.25, 0.5, pytest.approx(1.25 / 3))
    assert rep["own_p99"]["threshold_s"] == 4.0 and rep["own_p99"]["min"] == 0.75  # every answer on time: 3 of 4 good
    # mae with late answers replaced by the mean of the targets (2.5): 0.5625 in rounds 0, 1 and 0.875 in round 2
    assert user["late_as_mean"]["mae"] == {"mean": pytest.approx(2.0 / 3), "worst": 0.875}
    assert rep["own_p99"]["late_as_mean"]["mae"] == {"mean": 0.4375, "worst": 0.4375}
    assert rep["late_as_mean"] == {"fallback": "the mean of the test targets", "fallback_value": 2.5,
                                   "metrics": {"mae": "min"}, "unconstrained": {"mae": 0.4375}}
    # the same rounds as labels (no tolerance): exact equality, and no fallback metrics
    classification = tail_report(fit, None, y, conv, TailConfig(**{**config.to_dict(), "tolerance": None}),
                                 fallback_metrics=(get_metric("mae", "regression"),))
    assert classification["unconstrained"]["mean"] == 0.25 and "late_as_mean" not in classification


# -- the worker side: named inputs, predicted values -------------------------------------------------

def test_rounds_on_named_inputs_keep_dtypes_and_predicted_values_with_a_fake_clock():
    clock = FakeClock()
    seen = []

    def model(inputs):
        seen.append((inputs["ids"].dtype, inputs["mask"].dtype, len(inputs["ids"])))
        clock.now += 0.5 * len(inputs["ids"])
        return (inputs["ids"] * inputs["mask"]).sum(axis=1, keepdims=True) / 2.0  # (n, 1) values

    ids = np.arange(20, dtype=np.int64).reshape(10, 2)
    mask = np.ones((10, 2), bool)
    mask[:, 1] = False
    payload = run_rounds(CallableCandidate("sum", model), {"ids": ids, "mask": mask}, 2, batch_size=4, clock=clock,
                         answers="values")
    data = RoundsData.from_payload(payload)
    assert data.predictions.dtype == np.float64
    assert data.predictions.tolist() == [(ids[:, 0] / 2.0).tolist()] * 2  # one value per row of every array
    assert data.inference_s.tolist() == [[3.0, 3.0, 2.0]] * 2  # 0.5 s per instance + one clock read
    assert seen == [(np.int64, np.bool_, 4), (np.int64, np.bool_, 4), (np.int64, np.bool_, 2)] * 2
    assert payload["meta"]["answers"] == "values" and payload["meta"]["e2e"].endswith("scores_for()")
    with pytest.raises(DataError, match=r"^expected one predicted value per instance \(4\) from a regression model; "
                                        r"the model returned shape \(4, 3\)"):
        run_rounds(CallableCandidate("bad", lambda d: np.zeros((len(d["ids"]), 3))), {"ids": ids, "mask": mask}, 1,
                   batch_size=4, answers="values")
    with pytest.raises(ConfigError, match=r"^answers: expected one of"):
        run_rounds(CallableCandidate("sum", model), ids, 1, answers="scores")


# -- measure_tail --------------------------------------------------------------------------------------

def _regression_data():
    """y = x0 + error, errors known: 12 of the 20 are within 0.5 (the model predicts x0)."""
    X = np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32)
    errors = np.array([0.0, 0.1, -0.2, 0.3, -0.4, 0.45, -0.05, 0.2, 0.35, -0.3, 0.15, -0.1,
                       0.6, -0.7, 0.9, -1.2, 2.0, -0.8, 1.5, -0.55])
    return X, X[:, 0].astype(np.float64) + errors


def test_measure_tail_of_a_torch_regressor_in_process():
    import torch

    X, y = _regression_data()
    net = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        net.weight[:] = torch.tensor([[1.0, 0.0, 0.0]])
    m = measure_tail(net.eval(), X, y, name="lin", tolerance=0.5, thresholds_s=(1e6, 1e-12), isolate=False, batch_size=5,
                     min_rounds=2, max_rounds=4, every=1, window=1, holdout_rounds=2, grid=3, n_simulated=50,
                     interval_draws=10)
    assert m.key == "lin/torch" and m.accuracy == 0.6  # 12 of 20 within 0.5, in every round
    rep = m.report()
    rows = {r["threshold_s"]: r for r in rep["thresholds"] if r["origin"] == "user"}
    assert rows[1e6]["min"] == 0.6 and rows[1e-12]["max"] == 0.0  # every answer on time; every answer late
    pred = X[:, 0].astype(np.float64)
    assert rows[1e6]["late_as_mean"]["mae"]["mean"] == pytest.approx(np.abs(y - pred).mean(), rel=1e-6)
    assert rows[1e-12]["late_as_mean"]["mae"]["worst"] == pytest.approx(np.abs(y - y.mean()).mean())
    assert rows[1e-12]["late_as_mean"]["rmse"]["mean"] == pytest.approx(y.std())
    assert rep["quality"]["label"] == "within ±0.5 on time" and rep["protocol"]["answers"] == "values"


def _tiny_token_model():
    import torch

    class TokenNet(torch.nn.Module):
        """Two named integer inputs; class = (sum of the unmasked ids) mod 3, as one-hot scores."""

        def forward(self, input_ids, attention_mask):
            assert input_ids.dtype == torch.int64 and attention_mask.dtype == torch.int64
            return torch.nn.functional.one_hot((input_ids * attention_mask).sum(1) % 3, 3).float()

    return TokenNet().eval()


def test_measure_tail_of_a_model_of_named_integer_inputs_in_process():
    rng = np.random.default_rng(2)
    X = {"input_ids": rng.integers(0, 50, (12, 6)).astype(np.int64), "attention_mask": np.ones((12, 6), np.int64)}
    X["attention_mask"][:, 4:] = 0
    y = (X["input_ids"][:, :4].sum(1) % 3)
    y[:3] = (y[:3] + 1) % 3  # three wrong labels
    lines = []
    m = measure_tail(_tiny_token_model(), X, y, name="tok", isolate=False, batch_size=4, thresholds_s=(1e6,),
                     min_rounds=2, max_rounds=3, every=1, window=1, holdout_rounds=0, grid=0, n_simulated=20,
                     log=lines.append)
    assert m.accuracy == 0.75 and m.report()["quality"]["task"] == "classification"
    conv = m.convergence  # the log names the rule, and says when it stopped without converging
    how = "converged" if conv.stopped_by == "converged" else f"stopped by {conv.stopped_by}, not converged"
    assert f"tok/torch: rule tail: {how} after {conv.rounds_used} rounds" in lines
    with pytest.raises(DataError, match=r"^X: the named inputs have different numbers of rows"):
        measure_tail(_tiny_token_model(), {"input_ids": X["input_ids"], "attention_mask": X["attention_mask"][:5]}, y,
                     isolate=False)
    with pytest.raises(DataError, match=r"^y: expected one label per row of X \(12\), got 5"):
        measure_tail(_tiny_token_model(), X, y[:5], isolate=False)


def test_measure_tail_refuses_a_bad_tolerance_in_one_line():
    X, y = _regression_data()
    with pytest.raises(ConfigError, match=r"^tolerance: expected a number of target units >= 0, got -1\.0$"):
        measure_tail(lambda X: X[:, 0], X, y, tolerance=-1.0, isolate=False)
    with pytest.raises(DataError, match=r"^y: regression needs real-valued targets"):
        measure_tail(lambda X: X[:, 0], X, np.array(["a"] * 20), tolerance=0.5, isolate=False)
