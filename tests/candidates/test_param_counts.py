"""Parameter counts: the scikit-learn linear family on diabetes (10 features: 10 coefficients + 1
intercept), and why a torch model and its ONNX export may hold different counts."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import linear_model as lm  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.svm import SVC, LinearSVR  # noqa: E402

from effbench.candidates.sklearn_adapter import SklearnCandidate  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("make", [
    lm.LinearRegression, lm.Ridge, lm.Lasso, lm.ElasticNet, lm.BayesianRidge, lm.HuberRegressor,
    lambda: lm.SGDRegressor(max_iter=50, tol=None, random_state=0), lm.PoissonRegressor, lm.RidgeCV,
    lambda: LinearSVR(max_iter=50, random_state=0),
])
def test_linear_regressors_count_coef_and_intercept(diabetes, make):
    X, y = diabetes
    est = make().fit(X / np.abs(X).max(axis=0), y)  # scaled so that every solver converges quickly
    assert SklearnCandidate("m", est).param_count() == 11


def test_linear_regression_ignores_singular_values(diabetes):
    X, y = diabetes
    est = lm.LinearRegression().fit(X, y)
    assert est.singular_.size == 10 and np.ndim(est.intercept_) == 0  # what the old count added / missed
    assert SklearnCandidate("m", est).param_count() == 11
    assert SklearnCandidate("m", lm.LinearRegression(fit_intercept=False).fit(X, y)).param_count() == 10


def test_linear_classifiers(diabetes):
    X, y = diabetes
    binary = (y > 140).astype(int)
    three = np.digitize(y, [100, 200])
    assert SklearnCandidate("m", lm.LogisticRegression().fit(X, binary)).param_count() == 11
    assert SklearnCandidate("m", lm.RidgeClassifier().fit(X, binary)).param_count() == 11
    assert SklearnCandidate("m", lm.LogisticRegression().fit(X, three)).param_count() == 3 * 11


def test_svc_keeps_its_support_vector_count(diabetes):
    X, y = diabetes
    svc = SVC(kernel="linear").fit(X, (y > 140).astype(int))  # coef_ is a property: not the linear rule
    expected = svc.support_vectors_.size + svc.dual_coef_.size + svc.intercept_.size
    assert SklearnCandidate("m", svc).param_count() == expected == 364 * 10 + 364 + 1


def test_quantised_torch_modules_count_their_packed_weights():
    torch = pytest.importorskip("torch")
    from torch import nn

    from effbench.candidates.torch_adapter import TorchCandidate

    float_model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    quantised = torch.ao.quantization.quantize_dynamic(float_model, {nn.Linear}, dtype=torch.qint8)
    assert sum(p.numel() for p in quantised.parameters()) == 0  # packed: no nn.Parameter left
    expected = 64 * 256 + 256 + 256 * 10 + 10
    assert TorchCandidate("f", float_model).param_count() == TorchCandidate("q", quantised).param_count() == expected
