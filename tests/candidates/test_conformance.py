"""One conformance test run over every adapter (scikit-learn's check_estimator idea)."""

import pickle

import numpy as np
import pytest

from effbench.candidates import Candidate, wrap
from effbench.errors import ConfigError
from effbench.measure.flops import FlopCount

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
    assert isinstance(c, Candidate)
    assert c.backend == kind.split("-")[0]
    assert c.key == f"{c.model}/{c.backend}"
    # the candidate survives the trip to a worker process, and threads are fixed there
    c = pickle.loads(pickle.dumps(c))
    c.configure_threads(1)
    assert c.thread_settings()["threads"] == 1
    # prepare / infer / sync / to_labels: one label per row, for every batch size
    for b in (1, 7, len(X)):
        out = c.infer(c.prepare(X[:b]))
        c.sync()
        labels = np.asarray(c.to_labels(out))
        assert labels.shape == (b,)
        assert np.issubdtype(labels.dtype, np.integer)
    assert np.array_equal(c.predict(X), np.asarray(c.to_labels(c.infer(c.prepare(X)))))
    # static costs
    params = c.param_count()
    assert params is None or (isinstance(params, int) and params >= 0)
    blob = c.serialized()
    assert isinstance(blob, bytes) and len(blob) > 0
    if kind == "callable":  # a function's pickle is a reference: its size is the user's to give
        assert c.size_bytes() == 1234
    else:
        assert c.size_bytes() == len(blob)
    f = c.flops(X[:4])
    assert f is None or (isinstance(f, FlopCount) and f.flops_per_sample >= 0 and 0 <= f.coverage <= 1)
    d = c.describe()
    assert d["key"] == c.key and d["backend"] == c.backend


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
