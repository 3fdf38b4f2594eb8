"""Integer and multi-input models, regression, top-k and custom metrics, measured in workers and scored
in the parent (docs/your-models.md, "Inputs, outputs, tasks"). Every model is built and saved here."""

import sys
import textwrap

import numpy as np
import pytest

from effbench import records as R
from effbench.cli import main
from effbench.store.db import Store

FAST = ["--no-energy", "--repeats", "1", "--max-time", "0.05", "--quiet"]

TEXT_PACKAGE = '''
import torch


class TinyText(torch.nn.Module):
    """Token ids -> embedding, mean over the unmasked tokens -> 3 classes."""

    def __init__(self, vocab=50, dim=8, classes=3):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, input_ids, attention_mask):
        m = attention_mask.unsqueeze(-1).to(self.emb.weight.dtype)
        h = (self.emb(input_ids) * m).sum(1) / m.sum(1).clamp(min=1)
        return self.head(h)


def build(vocab=50):
    torch.manual_seed(0)
    return TinyText(vocab).eval()


class DictOut(torch.nn.Module):
    """The same network, answering a dict (as a Hugging Face ModelOutput does)."""

    def __init__(self):
        super().__init__()
        self.inner = build()

    def forward(self, input_ids, attention_mask):
        return {"hidden": input_ids, "logits": self.inner(input_ids, attention_mask)}


def build_dict():
    return DictOut().eval()
'''


@pytest.fixture
def import_path(monkeypatch):
    """sys.path and PYTHONPATH as they were after the test (a suite run puts its folder on both)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", "")


def _load(db):
    with Store(db, create=False) as store:
        return store.load_run("latest")


def _text_data(rng, n=40, length=12, vocab=50):
    ids = rng.integers(0, vocab, size=(n, length)).astype(np.int64)
    lengths = rng.integers(3, length + 1, size=n)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    return ids, mask


@pytest.mark.slow
def test_a_two_input_int64_text_classifier_from_a_package_beside_the_suite(tmp_path, import_path):
    """int64 input_ids and attention_mask reach the model as int64 (an Embedding fails on floats),
    as a dict of named arrays sliced by rows, on torch and on its ONNX export; the factory lives in
    a package next to the suite file (found by the parent and by the workers)."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    (tmp_path / "textpkg").mkdir()
    (tmp_path / "textpkg" / "__init__.py").write_text("")
    (tmp_path / "textpkg" / "models.py").write_text(TEXT_PACKAGE)
    ids, mask = _text_data(np.random.default_rng(0))
    sys.path.insert(0, str(tmp_path))
    from textpkg.models import build  # the reference predictions, in this process

    with torch.inference_mode():
        pred = build()(torch.from_numpy(ids), torch.from_numpy(mask)).argmax(1).numpy()
    sys.path.remove(str(tmp_path))
    y = pred.copy()
    y[:9] = (y[:9] + 1) % 3
    np.savez(tmp_path / "val.npz", input_ids=ids, attention_mask=mask, y=y)
    (tmp_path / "study.toml").write_text(textwrap.dedent('''
        name = "text"
        batch_sizes = [1, 8, 64]
        [data]
        path = "val.npz"
        metrics = ["accuracy", "f1_macro", "top2"]
        [[candidates]]
        name = "tiny"
        model = "python:textpkg.models:build"
        backends = ["torch", "onnxruntime"]
        [[candidates]]
        name = "dict"
        model = "python:textpkg.models:build_dict"
        output = "logits"
    '''))
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "study.toml"), "--db", str(db)] + FAST) == 0
    run = _load(db)
    assert {c.key: c.status for c in run.candidates} == {"tiny/torch": "ok", "tiny/onnxruntime": "ok", "dict/torch": "ok"}
    assert run.task["inputs"] == {"input_ids": {"shape": [12], "dtype": "int64"},
                                  "attention_mask": {"shape": [12], "dtype": "int64"}}
    for key in ("tiny/torch", "tiny/onnxruntime", "dict/torch"):
        assert run.value(key, "accuracy") == pytest.approx(accuracy_score(y, pred))
        assert run.value(key, "f1_macro") == pytest.approx(f1_score(y, pred, average="macro"))
        assert run.metric(key, "top2").detail["direction"] == "max"
        assert list(run.candidate(key).predictions) == pred.tolist()
        assert run.sample_set(key, 64) is not None  # larger than the data: rows cycled in every array
    assert run.candidate("tiny/onnxruntime").info["converted_from"] == "torch"


REG_PACKAGE = '''
import numpy as np


def max_abs_error(y_true, y_pred):
    return float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


max_abs_error.direction = "min"


def two_columns(X):
    return np.zeros((len(X), 2))


def bad():
    """A "regressor" whose output has two columns per example: it fails alone."""
    return two_columns
'''


@pytest.fixture(scope="module")
def regression_models(tmp_path_factory):
    """A ridge regression (skops) and a worse torch MLP (.pt2) on 4 features, their validation data,
    and each one's own predictions on it."""
    import skops.io
    import torch
    from sklearn.linear_model import Ridge

    folder = tmp_path_factory.mktemp("regression")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(200)
    ridge = Ridge(alpha=1.0).fit(X[:120], y[:120])
    skops.io.dump(ridge, folder / "ridge.skops")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).eval()
    program = torch.export.export(mlp, (torch.from_numpy(X[:2]),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, folder / "mlp.pt2")
    Xv, yv = X[120:], y[120:]
    np.savez(folder / "val.npz", X=Xv, y=yv)
    with torch.inference_mode():
        mlp_pred = mlp(torch.from_numpy(Xv)).numpy()[:, 0].astype(np.float64)
    (folder / "regpkg").mkdir()
    (folder / "regpkg" / "__init__.py").write_text("")
    (folder / "regpkg" / "models.py").write_text(REG_PACKAGE)
    (folder / "study.toml").write_text(textwrap.dedent('''
        name = "reg"
        batch_sizes = [1, 16]
        [data]
        path = "val.npz"
        task = "regression"
        metrics = ["rmse", "mae", "r2", "python:regpkg.models:max_abs_error"]
        [[candidates]]
        name = "ridge"
        model = "ridge.skops"
        [[candidates]]
        name = "mlp"
        model = "mlp.pt2"
        [[candidates]]
        name = "bad"
        model = "python:regpkg.models:bad"
    '''))
    return folder, yv, {"ridge/sklearn": ridge.predict(Xv).astype(np.float64), "mlp/torch": mlp_pred}


@pytest.fixture(scope="module")
def regression_run(regression_models, tmp_path_factory):
    """The regression suite measured once (its folder on sys.path and PYTHONPATH only meanwhile)."""
    import os

    folder = regression_models[0]
    db = tmp_path_factory.mktemp("regression-run") / "r.sqlite"
    path, pythonpath = list(sys.path), os.environ.get("PYTHONPATH")
    try:
        assert main(["run", str(folder / "study.toml"), "--db", str(db)] + FAST) == 0
    finally:
        sys.path[:] = path
        os.environ.pop("PYTHONPATH", None) if pythonpath is None else os.environ.__setitem__("PYTHONPATH", pythonpath)
    return db


@pytest.mark.slow
def test_a_regression_suite_is_scored_with_each_metric_and_its_direction(regression_models, regression_run):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    folder, y, preds = regression_models
    run = _load(regression_run)
    assert run.task["task_type"] == "regression"
    assert run.task["metrics"] == [{"name": "rmse", "direction": "min"}, {"name": "mae", "direction": "min"},
                                   {"name": "r2", "direction": "max"},
                                   {"name": "python:regpkg.models:max_abs_error", "direction": "min"}]
    bad = run.candidate("bad/callable")
    assert bad.status == "failed" and "unusable predictions" in bad.error and "shape (80, 2)" in bad.error
    for key, pred in preds.items():
        assert run.candidate(key).status == "ok"
        assert np.allclose(run.candidate(key).predictions, pred, rtol=1e-5, atol=1e-5)
        assert run.value(key, "rmse") == pytest.approx(np.sqrt(mean_squared_error(y, pred)), rel=1e-5)
        assert run.value(key, "mae") == pytest.approx(mean_absolute_error(y, pred), rel=1e-5)
        assert run.value(key, "r2") == pytest.approx(r2_score(y, pred), rel=1e-5)
        assert run.value(key, "python:regpkg.models:max_abs_error") == pytest.approx(np.max(np.abs(y - pred)), rel=1e-5)
        assert run.metric(key, "rmse").detail["direction"] == "min" and run.metric(key, "rmse").unit == "target"
        assert run.metric(key, "r2").detail["direction"] == "max"
    assert run.value("ridge/sklearn", "rmse") < run.value("mlp/torch", "rmse")


@pytest.mark.slow
def test_recommend_pareto_and_the_report_read_a_regression_metric_in_its_direction(regression_models, regression_run, capsys):
    """The reference is the model with the *lowest* rmse; the parity test is Wilcoxon's on the
    per-example absolute errors; pareto refuses rmse:max; the table shows rmse and mae."""
    import json

    from scipy.stats import wilcoxon

    from effbench.analysis.run_misnomer import run_indicators
    from effbench.analysis.selection import Row, recommend

    folder, y, preds = regression_models
    run = _load(regression_run)
    rec = recommend(run, preference=["params"], quality="rmse")
    assert rec.direction == "min" and rec.test == "Wilcoxon signed-rank"
    assert rec.reference == "ridge/sklearn" and rec.chosen == "ridge/sklearn"  # lower rmse and fewer parameters
    assert "lowest rmse" in rec.message[0]
    # the MLP cheaper on a made-up cost: both on the frontier, the MLP tested against the ridge
    rows = [Row(k, run.value(k, "rmse"), {"cost": c}, predictions=run.candidate(k).predictions)
            for k, c in (("ridge/sklearn", 2.0), ("mlp/torch", 1.0))]
    rec = recommend(rows, preference=["cost"], quality="rmse", y_true=y, task="regression", direction="min")
    (t,) = rec.parity
    errors = np.abs(y - preds["mlp/torch"]) - np.abs(y - preds["ridge/sklearn"])
    assert rec.reference == "ridge/sklearn" and t.a == "mlp/torch"
    assert t.p_value == pytest.approx(wilcoxon(errors).pvalue, rel=1e-4) and t.p_value < 0.05
    assert rec.chosen == "ridge/sklearn" and t.b_only == int((errors > 0).sum())
    assert rec.to_dict()["parity"][0]["a_closer"] == int((errors < 0).sum())
    out = regression_run.parent / "rec.json"
    assert main(["recommend", "latest", "--db", str(regression_run), "--quality", "r2", "--prefer", "params",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["direction"] == "max" and doc["reference"] == "ridge/sklearn" and doc["test"] == "Wilcoxon signed-rank"
    capsys.readouterr()
    assert main(["pareto", "latest", "--db", str(regression_run), "--objective", "rmse:max", "--objective", "params:min"]) == 2
    assert "the run stores rmse as min (lower is better); give rmse:min" in capsys.readouterr().err
    assert main(["pareto", "latest", "--db", str(regression_run), "--objective", "rmse:min",
                 "--objective", "latency_p50_s_b1:min"]) == 0
    capsys.readouterr()
    assert main(["show", "latest", "--db", str(regression_run)]) == 0
    table = capsys.readouterr().out
    assert "rmse" in table.splitlines()[1] and "mae" in table.splitlines()[1]
    assert f"{run.value('ridge/sklearn', 'rmse'):.4g}" in table
    assert [(i.name, i.direction) for i in run_indicators(run) if i.kind == "score"] == [("rmse", "min")]
    from effbench.report.cards import cost_cards
    from effbench.report.tables import render_markdown

    markdown = render_markdown(run)
    assert "rmse (target units, measured)" in markdown and "accuracy" not in markdown
    card = {c.candidate: c for c in cost_cards(run)}["ridge/sklearn"]
    assert card.entry("r2").label == "r2 (test split; higher is better)" and card.entry("r2").value == run.value("ridge/sklearn", "r2")
    from effbench.analysis.run_report import run_report

    report = run_report(run, preference=["params"])
    panel = next(p for p in report.quality_vs_cost if p.cost == "params")
    assert (panel.quality, panel.quality_direction) == ("rmse", "min")
    assert [p.candidate for p in panel.frontier] == ["ridge/sklearn"]  # fewer parameters and lower rmse
    assert report.recommendation.quality == "rmse" and report.recommendation.reference == "ridge/sklearn"


@pytest.mark.slow
def test_top5_and_a_custom_metric_on_model_files_with_data(tmp_path, monkeypatch):
    """effbench run a.onnx m.skops --data val.npz --metrics accuracy,top5,python:...: a 10-class torch
    net (exported to ONNX) and a scikit-learn classifier (its predict_proba gives the scores)."""
    import skops.io
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, top_k_accuracy_score

    from effbench.candidates.onnx_convert import torch_to_onnx_bytes

    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 6)).astype(np.float32)
    y = np.arange(60) % 10
    torch.manual_seed(1)
    net = torch.nn.Linear(6, 10).eval()
    (tmp_path / "net.onnx").write_bytes(torch_to_onnx_bytes(net, torch.from_numpy(X[:2])))
    logreg = LogisticRegression(max_iter=500).fit(X, y)
    skops.io.dump(logreg, tmp_path / "logreg.skops")
    np.savez(tmp_path / "val.npz", X=X, y=y)
    (tmp_path / "mymetrics.py").write_text("def errors(y, p):\n    return float((y != p).sum())\n\nerrors.direction = 'min'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "net.onnx"), str(tmp_path / "logreg.skops"), "--data", str(tmp_path / "val.npz"),
                 "--metrics", "accuracy,top5,python:mymetrics:errors", "--batch-sizes", "1,all", "--db", str(db)] + FAST) == 0
    run = _load(db)
    with torch.inference_mode():
        net_scores = net(torch.from_numpy(X)).numpy()
    expected = {"net/onnxruntime": (net_scores.argmax(1), net_scores), "logreg/sklearn": (logreg.predict(X), logreg.predict_proba(X))}
    for key, (labels, scores) in expected.items():
        assert run.candidate(key).status == "ok"
        assert run.value(key, "accuracy") == pytest.approx(accuracy_score(y, labels))
        assert run.value(key, "top5") == pytest.approx(top_k_accuracy_score(y, scores, k=5, labels=range(10)))
        assert run.value(key, "python:mymetrics:errors") == float((labels != y).sum())
        assert run.metric(key, "python:mymetrics:errors").detail["direction"] == "min"
        assert run.metric(key, "top5").unit == "ratio"
    assert run.config["data"]["metrics"] == ["accuracy", "top5", "python:mymetrics:errors"]
    assert 0 < run.value("net/onnxruntime", "top5") < 1 and run.sample_set("net/onnxruntime", 60) is not None


def test_tail_quality_on_regression_targets_needs_a_tolerance_in_one_line():
    from effbench.errors import ConfigError
    from effbench.runs.tail import measure_tail

    X = np.zeros((4, 2), np.float32)
    with pytest.raises(ConfigError, match=r"^tolerance: y holds real values such as 0\.5 \(a regression\); the tail mode "
                                          r"counts an on-time answer as good when \|prediction - y\| <= tolerance: give "
                                          r"tolerance, a number >= 0 in the target's units"):
        measure_tail(lambda X: np.zeros(len(X)), X, [0.5, 1.0, 2.0, 3.0], isolate=False)


def _sum_of_named(inputs):
    """A "regressor" over a dict of named inputs: the row sums of the int64 ids, as floats."""
    assert inputs["ids"].dtype == np.int64 and inputs["mask"].dtype == np.bool_
    return (inputs["ids"] * inputs["mask"]).sum(axis=1).astype(np.float64)


def test_benchmark_scores_a_regression_on_named_integer_inputs(tmp_path):
    """effbench.benchmark(..., task="regression", metrics=[...]) on a dict of named int64/bool arrays."""
    import effbench
    from effbench.measure.timer import TimingConfig
    from effbench.report.progress import SilentProgress

    rng = np.random.default_rng(7)
    X = {"ids": rng.integers(0, 5, size=(12, 3)).astype(np.int64), "mask": rng.random((12, 3)) > 0.3}
    pred = _sum_of_named(X)
    y = pred + rng.standard_normal(12)
    result = effbench.benchmark({"sum": _sum_of_named}, X, y, task="regression", metrics=["mae", "r2"], isolate=False,
                                energy=None, repeats=1, batch_sizes=[1, 5], db=tmp_path / "r.sqlite", progress=SilentProgress(),
                                timing=TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=10, min_time_s=0.0,
                                                    max_time_s=0.02))
    run = result.run
    assert run.candidate("sum/callable").status == "ok"
    assert run.value("sum/callable", "mae") == pytest.approx(np.mean(np.abs(y - pred)))
    assert run.metric("sum/callable", "mae").detail["direction"] == "min" and run.value("sum/callable", "accuracy") is None
    assert run.task["inputs"]["ids"] == {"shape": [3], "dtype": "int64"}
