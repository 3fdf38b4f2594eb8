"""FLOP counting (torch / ONNX / scikit-learn) against hand-computed counts, and ONNX conversion round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from torch import nn  # noqa: E402

from effbench.candidates.onnx_convert import sklearn_to_onnx_bytes, torch_to_onnx_bytes  # noqa: E402
from effbench.errors import CandidateError, ConfigError, DataError  # noqa: E402
from effbench.measure.flops import (  # noqa: E402
    FlopCount,
    count_onnx_flops,
    count_sklearn_flops,
    count_torch_flops,
)
from effbench.measure.flops.sklearn import _hgb_traverse  # noqa: E402


def _data(n=120, f=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int) * (classes > 2)
    return X, y


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, groups=4),  # depthwise
        nn.Conv2d(4, 8, 1),  # pointwise
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    ).eval()


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


# ---------------------------------------------------------------- torch


def test_linear_layer_hand_count():
    fc = count_torch_flops(nn.Linear(64, 32), torch.randn(4, 64))
    assert fc.flops_per_sample == 2 * 64 * 32
    assert fc.counted_ops == {"aten.addmm": 2 * 64 * 32}
    assert fc.method == "torch.utils.flop_counter.FlopCounterMode"
    assert fc.provenance == "analytic" and "2 x MACs" in fc.convention
    assert fc.coverage == 1.0


def test_conv2d_hand_count():
    fc = count_torch_flops(nn.Conv2d(1, 4, 3, padding=1), torch.randn(3, 1, 8, 8))
    assert fc.flops_per_sample == 2 * 4 * 1 * 9 * 64


@pytest.mark.parametrize("out_channels", [4, 8])
def test_depthwise_conv_hand_count(out_channels):
    conv = nn.Conv2d(4, out_channels, 3, padding=1, groups=4)
    fc = count_torch_flops(conv, torch.randn(2, 4, 8, 8))
    # each output channel sees in_channels / groups = 1 input channel
    assert fc.flops_per_sample == 2 * out_channels * 1 * 9 * 64


def test_relu_listed_as_uncounted_and_coverage():
    m = nn.Sequential(nn.Linear(8, 4), nn.ReLU())
    fc = count_torch_flops(m, torch.randn(2, 8))
    assert fc.uncounted_ops == {"aten.relu": 1}
    assert fc.coverage == 0.5  # one addmm counted, one relu not
    assert "aten.t" in fc.zero_flop_ops  # views do no arithmetic: outside coverage
    json.dumps(fc.to_dict())


def test_torch_count_restores_training_mode():
    m = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4))
    m.train()
    fc = count_torch_flops(m, torch.randn(5, 8))
    assert m.training
    assert fc.flops_per_sample == 2 * 8 * 4
    assert "aten._native_batch_norm_legit_no_training" in fc.uncounted_ops  # it ran in eval mode


def test_torch_bad_input():
    with pytest.raises(ConfigError, match="example_input"):
        count_torch_flops(nn.Linear(2, 2), np.zeros((1, 2)))


# ---------------------------------------------------------------- torch vs ONNX


@pytest.mark.parametrize("make, shape", [(_mlp, (64,)), (_cnn, (1, 8, 8))])
def test_torch_and_onnx_counts_agree(make, shape):
    m = make()
    x = torch.randn(3, *shape)
    via_torch = count_torch_flops(m, x)
    via_onnx = count_onnx_flops(torch_to_onnx_bytes(m, x[:1]), shape)
    assert via_onnx.method == "onnx-graph"
    assert via_onnx.flops_per_sample == pytest.approx(via_torch.flops_per_sample, rel=0, abs=0)
    assert 0.0 < via_onnx.coverage < 1.0 and "Relu" in via_onnx.uncounted_ops


def test_cnn_hand_count_matches_both_backends():
    expected = 2 * 4 * 9 * 64 + 2 * 4 * 9 * 64 + 2 * 8 * 4 * 64 + 2 * 128 * 10
    m = _cnn()
    assert count_torch_flops(m, torch.randn(2, 1, 8, 8)).flops_per_sample == expected
    assert count_onnx_flops(torch_to_onnx_bytes(m, torch.randn(1, 1, 8, 8)), (1, 8, 8)).flops_per_sample == expected


class _Shuffle(nn.Module):
    """ShuffleNet unit: channel split, concat, then a shuffle whose Reshape target is computed from the
    input's shape; onnx's static shape inference loses the shapes after the Split."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.branch = nn.Conv2d(2, 2, 1)
        self.out = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x = self.conv(x)
        a, b = x.chunk(2, dim=1)
        x = torch.cat([a, self.branch(b)], dim=1)
        n, c, h, w = x.shape
        x = x.reshape(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
        return self.out(x)


def test_shape_computed_reshape_agrees():
    m = _Shuffle().eval()
    x = torch.randn(2, 1, 8, 8)
    via_onnx = count_onnx_flops(torch_to_onnx_bytes(m, x[:1]), (1, 8, 8))
    expected = 2 * 4 * 9 * 64 + 2 * 2 * 2 * 64 + 2 * 4 * 4 * 64
    assert via_onnx.flops_per_sample == count_torch_flops(m, x).flops_per_sample == expected
    assert "running the graph once in onnxruntime" in via_onnx.notes  # shapes static inference lost
    assert via_onnx.coverage == 1.0  # the shape arithmetic (Div, Mul...) is not per-sample work
    assert any(k.endswith("(shape)") for k in via_onnx.zero_flop_ops)


def test_conv_transpose_agrees():
    m = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)).eval()
    x = torch.randn(2, 4, 5, 5)
    assert count_onnx_flops(torch_to_onnx_bytes(m, x), (4, 5, 5)).flops_per_sample == count_torch_flops(m, x).flops_per_sample


def test_onnx_accepts_proto_and_path(tmp_path):
    data = torch_to_onnx_bytes(_mlp(), torch.randn(1, 64))
    proto = onnx.load_from_string(data)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(data)
    counts = {count_onnx_flops(m, (64,)).flops_per_sample for m in (data, proto, str(path), path)}
    assert counts == {2 * 64 * 32 + 2 * 32 * 10}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"  # caller's proto untouched


def test_onnx_errors():
    data = torch_to_onnx_bytes(_mlp(), torch.randn(1, 64))
    with pytest.raises(ConfigError, match="sample_shape"):
        count_onnx_flops(data, (8, 8))
    with pytest.raises(ConfigError, match="input_name"):
        count_onnx_flops(data, (64,), input_name="nope")
    with pytest.raises(DataError):
        count_onnx_flops(b"not an onnx model", (64,))


# ---------------------------------------------------------------- scikit-learn


def test_logistic_regression_64_features_10_classes():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 64))
    y = np.arange(200) % 10
    est = LogisticRegression(max_iter=50).fit(X, y)
    fc = count_sklearn_flops(est, X[:5])
    assert fc.flops_per_sample == 2 * 64 * 10
    assert fc.method == "sklearn-analytic"
    assert set(fc.uncounted_ops) == {"softmax", "argmax"}
    assert fc.coverage == pytest.approx(1 / 3)
    # its ONNX graph (LinearClassifier) counts the same matmul
    onx = count_onnx_flops(sklearn_to_onnx_bytes(est, 64), (64,))
    assert onx.counted_ops == {"ai.onnx.ml.LinearClassifier": 2 * 64 * 10}


def test_tree_against_hand_built_tree():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    # y = 0 1 1 0 on x = 0 1 2 3: the root isolates one end (1 comparison for that sample),
    # the other side needs a second split (2 comparisons for the three others).
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 1, 1, 0])
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    assert tree.tree_.node_count == 5
    fc = count_sklearn_flops(tree, X)
    assert fc.counted_ops == {"node_comparisons": (1 + 2 + 2 + 2) / 4}
    assert fc.uncounted_ops == {"argmax": 1}

    forest = RandomForestClassifier(n_estimators=2, bootstrap=False, random_state=0).fit(X, y)
    fc = count_sklearn_flops(forest, X)
    assert fc.counted_ops["node_comparisons"] == pytest.approx(2 * 1.75)
    assert fc.counted_ops["average_adds"] == 2 * 2 + 2  # n_trees x n_classes adds + n_classes divisions


def test_hist_gradient_boosting_traversal_matches_sklearn():
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    X = X.astype(np.float64)
    X[::7, 1] = np.nan  # exercise the missing-value branch
    est = HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=6, random_state=0).fit(X, y)
    raw = np.tile(est._baseline_prediction, (len(X), 1)).astype(np.float64)
    for it in est._predictors:
        for k, p in enumerate(it):
            leaves, comps = _hgb_traverse(p.nodes, X)
            assert np.all(p.nodes["is_leaf"][leaves])
            raw[:, k] += p.nodes["value"][leaves]
    np.testing.assert_allclose(raw, est._raw_predict(X), rtol=1e-12)

    fc = count_sklearn_flops(est, X)
    n_iter, k = len(est._predictors), len(est._predictors[0])
    assert fc.counted_ops["leaf_value_adds"] == n_iter * k + k
    assert 0 < fc.counted_ops["node_comparisons"] <= n_iter * k * 5  # at most depth <= 5 with 6 leaves
    assert fc.uncounted_ops == {"softmax": 1, "argmax": 1}


def test_hist_gradient_boosting_private_api_missing():
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = _data()
    est = HistGradientBoostingRegressor(max_iter=2).fit(X, y.astype(float))
    saved = est._predictors
    try:
        est._predictors = None
        with pytest.raises(CandidateError, match="_predictors"):
            count_sklearn_flops(est, X)
    finally:
        est._predictors = saved


@pytest.mark.parametrize("classes", [2, 3])
def test_svc_rbf(classes):
    from sklearn.svm import SVC

    X, y = _data(classes=classes)
    est = SVC(kernel="rbf").fit(X, y)
    n_sv, f = est.support_vectors_.shape
    fc = count_sklearn_flops(est, X[:3])
    assert fc.counted_ops == {
        "kernel_sq_distance": 3 * f * n_sv,
        "kernel_gamma_scale": n_sv,
        "dual_coef_mac": 2 * (classes - 1) * n_sv,
    }
    assert fc.uncounted_ops == {"exp": n_sv, "ovo_vote": classes * (classes - 1) // 2}


def test_knn_brute_and_auto():
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _data(n=80, f=20)
    brute = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(X, y)
    fc = count_sklearn_flops(brute, X[:4])
    assert fc.counted_ops == {"dot_products": 2 * 20 * 80, "query_sq_norm": 2 * 20, "norm_combination": 2 * 80}
    assert "sqrt" in fc.uncounted_ops and "vote" in fc.uncounted_ops
    # 'auto' picks brute above 15 features, a kd-tree below (sklearn's rule): the note says which ran
    assert "ran as 'brute'" in count_sklearn_flops(KNeighborsClassifier(3).fit(X, y), X[:4]).notes
    low = KNeighborsClassifier(3).fit(X[:, :3], y)
    fc = count_sklearn_flops(low, X[:10, :3])
    assert "ran as 'kd_tree'" in fc.notes
    assert 0 < fc.counted_ops["point_distances"] <= 3 * 3 * 80


def test_pipeline_sums_steps():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    fc = count_sklearn_flops(pipe, X)
    assert fc.counted_ops == {"standardscaler.standardize": 2 * 6, "logisticregression.matmul": 2 * 6 * 3}
    assert fc.flops_per_sample == 2 * 6 + 2 * 6 * 3


def test_unknown_or_unfitted_estimator():
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB

    X, y = _data()
    with pytest.raises(CandidateError, match="GaussianNB.*supported:.*RandomForestClassifier"):
        count_sklearn_flops(GaussianNB().fit(X, y), X)
    with pytest.raises(CandidateError, match="not fitted"):
        count_sklearn_flops(LogisticRegression(), X)
    with pytest.raises(DataError, match="columns"):
        count_sklearn_flops(LogisticRegression().fit(X, y), X[:, :3])


def test_coverage_bounds_and_validation():
    with pytest.raises(ConfigError, match=r"^FlopCount.coverage: expected a number in \[0, 1\], got 1\.5$"):
        FlopCount(flops_per_sample=1.0, method="x", counted_ops={}, uncounted_ops={}, coverage=1.5)


# ---------------------------------------------------------------- ONNX conversion round trips


def _session(data):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def test_torch_mlp_round_trip():
    m = _mlp()
    m.train()
    data = torch_to_onnx_bytes(m, torch.randn(1, 64))
    assert m.training  # restored
    m.eval()
    sess = _session(data)
    assert [i.name for i in sess.get_inputs()] == ["input"] and [o.name for o in sess.get_outputs()] == ["output"]
    x = torch.randn(5, 64)  # exported with a batch of 1: the batch axis is dynamic
    with torch.no_grad():
        expected = m(x).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], expected, rtol=1e-5, atol=1e-5)


def test_sklearn_round_trips():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    for est in (LogisticRegression().fit(X, y), RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)):
        sess = _session(sklearn_to_onnx_bytes(est, X.shape[1]))
        assert sess.get_inputs()[0].name == "input"
        labels, proba = sess.run(None, {"input": X})
        assert isinstance(proba, np.ndarray) and proba.shape == (len(X), 3)  # zipmap=False: a tensor
        np.testing.assert_array_equal(labels, est.predict(X))
        np.testing.assert_allclose(proba, est.predict_proba(X), atol=1e-4)


def test_random_forest_onnx_count_lists_tree_ensemble():
    from sklearn.ensemble import RandomForestClassifier

    X, y = _data()
    est = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    fc = count_onnx_flops(sklearn_to_onnx_bytes(est, X.shape[1]), (X.shape[1],))
    assert fc.flops_per_sample == 0 and fc.coverage == 0.0
    assert fc.uncounted_ops == {"ai.onnx.ml.TreeEnsembleClassifier": 1}
    assert "count_sklearn_flops" in fc.notes


def test_sklearn_to_onnx_bad_arguments():
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    est = LogisticRegression().fit(X, y)
    with pytest.raises(ConfigError, match=r"^dtype: expected one of 'float32', 'float64', got 'int8'$"):
        sklearn_to_onnx_bytes(est, 6, dtype="int8")
    with pytest.raises(ConfigError, match=r"^n_features: expected a whole number >= 1, got 0$"):
        sklearn_to_onnx_bytes(est, 0)


def test_sklearn_to_onnx_unknown_estimator_is_candidate_error():
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Majority(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

    X, y = _data()
    with pytest.raises(CandidateError, match="skl2onnx cannot convert Majority"):
        sklearn_to_onnx_bytes(Majority().fit(X, y), X.shape[1])


def test_torch_forward_failure_is_candidate_error():
    with pytest.raises(CandidateError, match="Linear failed to run"):
        count_torch_flops(nn.Linear(4, 2), torch.randn(3, 5))
