"""One conformance test run over every adapter (scikit-learn's check_estimator idea)."""

import numpy as np
import pytest

from effbench.candidates import registry, wrap
from effbench.errors import ConfigError
from effbench.testing import check_candidate

from models_for_tests import TwoLayer, first_feature_sign


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((40, 64), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(np.int64)
    return X, y


def _make(kind, data):
    X, y = data
    if kind == "sklearn":
        from sklearn.linear_model import LogisticRegression

        return wrap("lr", LogisticRegression(max_iter=200).fit(X, y))
    if kind == "torch":
        return wrap("net", TwoLayer())
    if kind == "onnxruntime":
        from effbench.candidates.onnx_convert import torch_to_onnx_bytes
        import torch

        return wrap("net", torch_to_onnx_bytes(TwoLayer(), torch.from_numpy(X[:1])))
    if kind == "onnxruntime-sklearn":
        from sklearn.linear_model import LogisticRegression

        from effbench.candidates.onnx_convert import sklearn_to_onnx_bytes

        return wrap("lr", sklearn_to_onnx_bytes(LogisticRegression(max_iter=200).fit(X, y), X.shape[1]))
    if kind == "callable":
        return wrap("sign", first_feature_sign, params=0, flops_per_sample=1.0, size_bytes=1234)
    raise AssertionError(kind)


KINDS = ["sklearn", "torch", "onnxruntime", "onnxruntime-sklearn", "callable"]


@pytest.mark.parametrize("kind", KINDS)
def test_adapter_conformance(kind, data):
    X, y = data
    c = _make(kind, data)
    assert c.backend == kind.split("-")[0]
    check_candidate(c, X)
    if kind == "callable":  # a function's pickle is a reference: its size is the user's to give
        assert c.size_bytes() == 1234
    else:
        assert c.size_bytes() == len(c.serialized())


def test_every_registered_backend_is_checked():
    assert set(registry.names()) == {k.split("-")[0] for k in KINDS}


def test_torch_and_onnx_versions_agree(data):
    X, _ = data
    t, o = _make("torch", data), _make("onnxruntime", data)
    for c in (t, o):
        c.configure_threads(1)
    assert np.array_equal(t.predict(X), o.predict(X))
    assert t.param_count() == o.param_count() == 64 * 16 + 16 + 16 * 10 + 10
    assert t.flops(X[:2]).flops_per_sample == o.flops(X[:2]).flops_per_sample == 2 * (64 * 16 + 16 * 10)


def test_sklearn_params_convention(data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X, y = data
    lr = wrap("lr", LogisticRegression(max_iter=200).fit(X, y))
    assert lr.param_count() == 64 + 1  # binary: one coefficient row and one intercept
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    leaves = int((tree.tree_.children_left == -1).sum())
    internal = tree.tree_.node_count - leaves
    assert wrap("t", tree).param_count() == 2 * internal + leaves * 2


@pytest.mark.parametrize(
    "obj, message",
    [(42, "cannot benchmark a int"), (object(), "cannot benchmark a object")],
)
def test_wrap_rejects_unknown_objects(obj, message):
    with pytest.raises(ConfigError, match=message):
        wrap("x", obj)


def test_bad_names_and_missing_onnx_file(tmp_path):
    with pytest.raises(ConfigError, match="not allowed"):
        wrap("bad name!", first_feature_sign)
    with pytest.raises(ConfigError, match="does not exist"):
        wrap("m", str(tmp_path / "missing.onnx"))
