"""The metric registry: values against scikit-learn, directions, tasks, custom metrics, bad names."""

import numpy as np
import pytest
from sklearn import metrics as skm

from effbench.errors import ConfigError, DataError
from effbench.tasks.metrics import check_labels, get_metric, metric_names

RNG = np.random.default_rng(0)
Y_CLS = RNG.integers(0, 6, size=200)
SCORES = RNG.random((200, 6))
SCORES[np.arange(200) % 3 == 0, Y_CLS[np.arange(200) % 3 == 0]] += 1.0  # a third are sure to be right
LABELS = SCORES.argmax(axis=1)
Y_REG = RNG.normal(size=150)
P_REG = Y_REG + RNG.normal(scale=0.3, size=150)


@pytest.mark.parametrize("name,expected", [
    ("accuracy", skm.accuracy_score(Y_CLS, LABELS)),
    ("f1_macro", skm.f1_score(Y_CLS, LABELS, average="macro")),
    ("balanced_accuracy", skm.balanced_accuracy_score(Y_CLS, LABELS)),
])
def test_classification_metrics_agree_with_sklearn_on_labels_and_on_scores(name, expected):
    m = get_metric(name, "classification")
    assert m.direction == "max"
    assert m.score(Y_CLS, LABELS) == pytest.approx(expected, abs=1e-12)
    assert m.score(Y_CLS, SCORES) == pytest.approx(expected, abs=1e-12)  # argmax of the scores


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_agrees_with_sklearn(k):
    m = get_metric(f"top{k}", "classification")
    expected = skm.top_k_accuracy_score(Y_CLS, SCORES, k=k, labels=np.arange(6))
    assert m.score(Y_CLS, SCORES) == pytest.approx(expected, abs=1e-12)
    assert m.direction == "max" and m.needs == "scores"
    assert 0 < expected < 1


def test_top_k_needs_scores_and_enough_classes():
    with pytest.raises(DataError, match=r"top5.*one score per class.*shape \(200,\)"):
        get_metric("top5", "classification").score(Y_CLS, LABELS)
    with pytest.raises(DataError, match=r"top9 needs at least 9 classes; the scores have 6"):
        get_metric("top9", "classification").score(Y_CLS, SCORES)


@pytest.mark.parametrize("name,expected,direction", [
    ("mae", skm.mean_absolute_error(Y_REG, P_REG), "min"),
    ("rmse", np.sqrt(skm.mean_squared_error(Y_REG, P_REG)), "min"),
    ("r2", skm.r2_score(Y_REG, P_REG), "max"),
])
def test_regression_metrics_agree_with_sklearn(name, expected, direction):
    m = get_metric(name, "regression")
    assert m.direction == direction
    assert m.score(Y_REG, P_REG) == pytest.approx(expected, rel=1e-12)
    assert m.score(Y_REG, P_REG[:, None]) == pytest.approx(expected, rel=1e-12)  # (n, 1) outputs too
    assert m.to_dict()["direction"] == direction


def test_a_metric_of_another_task_or_unknown_names_what_the_task_allows():
    with pytest.raises(ConfigError, match=r"^metrics\[1\]: 'rmse' is not a classification metric; allowed for "
                                          r"classification: accuracy, f1_macro, balanced_accuracy, topK"):
        get_metric("rmse", "classification", field="metrics[1]")
    with pytest.raises(ConfigError, match=r"^metric: unknown metric 'acuracy'; allowed for regression: mae, rmse, r2, "
                                          r"python:module:function$"):
        get_metric("acuracy", "regression")
    with pytest.raises(ConfigError, match=r"'top5' is not a regression metric"):
        get_metric("top5", "regression")
    with pytest.raises(ConfigError, match=r"task 'none' measures cost only"):
        get_metric("accuracy", "none")
    with pytest.raises(ConfigError, match=r"^task: expected one of 'classification', 'regression', 'none', got 'ranking'$"):
        get_metric("accuracy", "ranking")
    assert metric_names("none") == []


def _max_error(y, p):
    return float(np.max(np.abs(np.asarray(y) - np.asarray(p))))


_max_error.direction = "min"


def _bad_direction(y, p):
    return 0.0


_bad_direction.direction = "up"


def test_custom_python_metrics(monkeypatch):
    import sys
    import types

    mod = types.ModuleType("custom_metrics_for_tests")
    mod.max_error = _max_error
    mod.bad = _bad_direction
    mod.not_fn = 3
    monkeypatch.setitem(sys.modules, "custom_metrics_for_tests", mod)
    m = get_metric("python:custom_metrics_for_tests:max_error", "regression")
    assert m.custom and m.direction == "min" and m.needs == "values"
    assert m.score(Y_REG, P_REG) == pytest.approx(skm.max_error(Y_REG, P_REG))
    acc = get_metric("python:numpy:mean", "classification")  # any function; direction max by default
    assert acc.direction == "max"
    with pytest.raises(ConfigError, match=r"^metrics\[0\]: cannot import module 'no_such_mod_xyz'"):
        get_metric("python:no_such_mod_xyz:f", "regression", field="metrics[0]")
    with pytest.raises(ConfigError, match=r"has no attribute 'nope'"):
        get_metric("python:custom_metrics_for_tests:nope", "regression")
    with pytest.raises(ConfigError, match=r"is a int, not a function"):
        get_metric("python:custom_metrics_for_tests:not_fn", "regression")
    with pytest.raises(ConfigError, match=r"direction 'up'; expected 'max' or 'min'"):
        get_metric("python:custom_metrics_for_tests:bad", "regression")
    with pytest.raises(ConfigError, match=r"python:package.module:function; got 'python:x'"):
        get_metric("python:x", "regression")


def test_labels_that_do_not_fit_the_task():
    assert check_labels(np.array([0.0, 2.0, 1.0]), "classification").dtype == np.int64
    assert list(check_labels(np.array(["cat", "dog"]), "classification")) == ["cat", "dog"]
    with pytest.raises(DataError, match=r"^y: classification needs class labels .* such as 0\.5; use task = \"regression\""):
        check_labels(np.array([0.0, 0.5]), "classification")
    with pytest.raises(DataError, match=r"^labels: regression needs real-valued targets; got dtype <U3$"):
        check_labels(np.array(["cat"]), "regression", field="labels")
    with pytest.raises(DataError, match=r"regression targets must be finite; 1 are NaN"):
        check_labels(np.array([1.0, np.nan]), "regression")
    with pytest.raises(DataError, match=r"one label per example \(a 1-D array\); got shape \(2, 2\)"):
        check_labels(np.zeros((2, 2)), "classification")
    assert check_labels(np.array([[1.5], [2.5]]), "regression").tolist() == [1.5, 2.5]


def test_top_k_labels_are_checked_before_anything_is_measured():
    from effbench.tasks.metrics import check_top_k_labels, top_k

    assert [top_k(n) for n in ("top5", "top20", "accuracy", "topx", 5)] == [5, 20, None, None, None]
    check_top_k_labels(("accuracy", "top5"), np.arange(10))
    check_top_k_labels(("top20",), np.arange(10))  # labels tell which classes occur, not how many the model scores
    check_top_k_labels(("accuracy",), np.array(["cat", "dog"]))  # no top-k: strings are fine
    with pytest.raises(ConfigError, match=r"^data\.metrics\[1\]: top20 needs at least 20 classes; the data has 10$"):
        check_top_k_labels(("accuracy", "top20"), np.arange(10), n_classes=10, field="data.metrics")
    with pytest.raises(ConfigError, match=r"^metrics\[0\]: top2 ranks the model's scores by class index, so the labels "
                                          r"must be class indices 0, 1, \.\.\.; the labels are <U3$"):
        check_top_k_labels(("top2",), np.array(["cat", "dog"]))
    with pytest.raises(ConfigError, match=r"the labels are negative numbers$"):
        check_top_k_labels(("top2",), np.array([-1, 0, 1]))
