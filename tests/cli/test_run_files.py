"""effbench run MODEL... and effbench run SUITE.toml: your own models from the command line."""

import numpy as np
import pytest

from effbench import records as R
from effbench.cli import main

FAST = ["--no-energy", "--repeats", "1", "--max-time", "0.05", "--quiet"]


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("effbench: error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny torch Linear net (16 inputs, 3 classes) saved as ONNX and as a torch.export archive."""
    import torch

    from effbench.candidates.onnx_convert import torch_to_onnx_bytes

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    x = torch.randn(2, 16)
    (folder / "a.onnx").write_bytes(torch_to_onnx_bytes(net, x))
    program = torch.export.export(net, (x,), dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
    torch.export.save(program, folder / "b.pt2")
    return folder, net


def _onnx_file(path, dtype, n_inputs):
    """An ONNX graph of ``n_inputs`` inputs of ``dtype`` (int64 inputs are cast to float)."""
    import onnx
    from onnx import TensorProto, helper

    elem = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64}[dtype]
    inputs = [helper.make_tensor_value_info(f"in{i}", elem, ["N", 4]) for i in range(n_inputs)]
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 4])
    if n_inputs == 2:
        node = helper.make_node("Add", ["in0", "in1"], ["out"])
    else:
        node = helper.make_node("Cast", ["in0"], ["out"], to=TensorProto.FLOAT)
    model = helper.make_model(helper.make_graph([node], "g", inputs, [out]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


@pytest.mark.parametrize("extra, named", [(["--quick"], "--quick"), (["study.toml"], "model or suite file"),
                                          (["--batch-sizes", "1"], "--batch-sizes")])
def test_example_takes_no_other_argument(extra, named, capsys):
    assert main(["run", "--example", *extra]) == 2
    assert f"it takes no {named}" in _one_error_line(capsys)
    assert capsys.readouterr().out == ""


def test_example_prints_the_example_suite_and_it_parses(capsys):
    import tomllib

    from effbench.sources.suite import EXAMPLE_SUITE, parse_suite

    assert main(["run", "--example"]) == 0
    out = capsys.readouterr()
    assert out.out == EXAMPLE_SUITE and out.err == ""
    raw = tomllib.loads(out.out)
    with pytest.raises(Exception, match="does not exist"):  # its files are placeholders; the keys are valid
        parse_suite(raw, base_dir=".")
    raw["data"] = {"task": "none", "input": "16"}
    raw["candidates"] = [{"name": "tiny", "model": "python:mypkg.models:build", "args": {"width": 32}}]
    assert parse_suite(raw).name == "my-study"


def test_run_json_dash_writes_only_the_json_on_stdout(models, tmp_path, capsys):
    import json

    folder, _ = models
    db = tmp_path / "r.sqlite"
    assert main(["run", str(folder / "a.onnx"), "--input", "16", "--batch-sizes", "1", "--db", str(db), "--json", "-"] + FAST) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout holds the JSON and nothing else
    assert doc["schema"] == "effbench.show/1" and doc["status"] == "complete"
    assert [r["candidate"] for r in doc["costs"]] == ["a/onnxruntime"] and doc["costs"][0]["params"]["value"] == 163
    out = tmp_path / "run.json"
    out.write_text("{}")
    assert main(["run", str(folder / "a.onnx"), "--input", "16", "--db", str(db), "--json", str(out)] + FAST) == 2
    assert "already exists" in capsys.readouterr().err  # refused before anything is measured
    assert out.read_text() == "{}"


@pytest.mark.slow
def test_model_files_on_synthetic_inputs_are_a_cost_only_run(models, tmp_path, capsys):
    from effbench.store.db import Store

    folder, _ = models
    db = tmp_path / "r.sqlite"
    args = ["run", str(folder / "a.onnx"), str(folder / "b.pt2"), "--input", "16", "--batch-sizes", "1,4", "--db", str(db)]
    assert main(args + FAST) == 0
    assert "(files, complete) - files: cost only, 4 examples without labels" in capsys.readouterr().out
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.suite == "files" and run.status == "complete"
    assert {c.key: c.status for c in run.candidates} == {"a/onnxruntime": "ok", "b/torch": "ok"}
    for c in run.candidates:
        assert run.sample_set(c.key, 1) is not None and run.sample_set(c.key, 4) is not None
        assert run.value(c.key, R.PARAMS) == 16 * 8 + 8 + 8 * 3 + 3
        assert run.value(c.key, R.FLOPS_PER_SAMPLE) == 2 * (16 * 8 + 8 * 3)
        assert run.metric(c.key, R.ACCURACY) is None and c.predictions is None
    assert run.candidate("a/onnxruntime").info["source"] == "onnx"
    assert run.candidate("b/torch").info["ref"] == str(folder / "b.pt2")
    assert run.task["y_test"] is None and run.config["quality"] is False


@pytest.mark.slow
def test_a_suite_file_with_labelled_data_stores_the_models_real_accuracy(models, tmp_path):
    import torch

    from effbench.store.db import Store

    folder, net = models
    X = np.random.default_rng(1).standard_normal((30, 16)).astype(np.float32)
    with torch.inference_mode():
        pred = net(torch.from_numpy(X)).argmax(1).numpy()
    y = pred.copy()
    y[:7] = (y[:7] + 1) % 3  # seven wrong labels
    accuracy = float(np.mean(pred == y))
    np.savez(tmp_path / "val.npz", X=X, y=y.astype(np.int64))
    (tmp_path / "study.toml").write_text(
        f'name = "study"\nbatch_sizes = [1, "all"]\n[data]\npath = "val.npz"\n'
        f'[[candidates]]\nname = "net"\nmodel = "{folder / "b.pt2"}"\nbackends = ["torch", "onnxruntime"]\n')
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "study.toml"), "--db", str(db)] + FAST) == 0
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.suite == "study"
    assert {c.key: c.status for c in run.candidates} == {"net/torch": "ok", "net/onnxruntime": "ok"}
    for c in run.candidates:
        assert run.value(c.key, R.ACCURACY) == pytest.approx(accuracy)
        assert run.sample_set(c.key, 30) is not None  # "all": the whole data set
    assert run.candidate("net/onnxruntime").info["converted_from"] == "torch"


def _npz(tmp_path, width=16, y=(0, 1, 0, 1)) -> str:
    np.savez(tmp_path / "val.npz", X=np.zeros((4, width), np.float32), y=np.array(y))
    return str(tmp_path / "val.npz")


def _table(tmp_path, n=40, width=16, seed=0):
    """A CSV table of ``width`` feature columns f0... and a label column; its path and its arrays."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, width)).astype(np.float32), rng.integers(0, 3, n)
    lines = [",".join([f"f{i}" for i in range(width)] + ["label"])]
    lines += [",".join([f"{v:.6f}" for v in row] + [str(label)]) for row, label in zip(X, y)]
    (tmp_path / "val.csv").write_text("\n".join(lines) + "\n")
    return str(tmp_path / "val.csv")


def test_data_as_a_table_with_target_scores_model_files(models, tmp_path):
    import torch

    from effbench.store.db import Store

    folder, net = models
    path = _table(tmp_path)
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    X, y = table[:, :16].astype(np.float32), table[:, 16].astype(int)
    with torch.inference_mode():
        pred = net(torch.from_numpy(X)).argmax(1).numpy()
    db = tmp_path / "r.sqlite"
    assert main(["run", str(folder / "a.onnx"), "--data", path, "--target", "label", "--batch-sizes", "1",
                 "--db", str(db)] + FAST) == 0
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.value("a/onnxruntime", R.ACCURACY) == pytest.approx(float(np.mean(pred == y)))  # the label column, not a feature
    assert run.task["n_test"] == 40


def _suite(tmp_path, data: str, model: str, width=16, y=(0, 1, 0, 1)) -> str:
    _npz(tmp_path, width, y)
    (tmp_path / "s.toml").write_text(f'{data}\n[[candidates]]\nname = "m"\nmodel = "{model}"\n')
    return str(tmp_path / "s.toml")


@pytest.mark.parametrize("case, expected", [
    ("missing", "MODEL: 'nothing.onnx' does not exist"),
    ("suffix", "MODEL: cannot tell what kind of model 'model.h5' is"),
    ("bad input", "--input: shape of the input: '16xq' must be whole numbers"),
    ("float64 input", "--input: 'x:float64:Nx16' has a float64 input; effbench feeds real-valued inputs as float32"),
    ("floats for ids", "data: input 'in0' (array 'X'): the model takes int64, the data holds float32"),
    ("data and input", "--input: synthetic inputs or --data, not both"),
    ("metrics without data", "--metrics: applies with --data"),
    ("target without data", "--target: applies with --data"),
    ("table without target", "--target: a csv table needs the name of its label column"),
    ("metric of another task", "--metrics[0]: 'rmse' is not a classification metric; allowed for classification"),
    ("unknown task", "--task: expected one of"),
    ("all", "--batch-sizes: 'all' (the whole data set) needs data"),
    ("no shape", "--input: the model's inputs are not known from its file"),
    ("quick", "--quick: applies to the default suite, not to suite or model files"),
    ("labels for regression", "data.labels: regression needs real-valued targets"),
    ("suite input", "--input: applies to model files"),
])
def test_bad_input_is_one_line_and_nothing_is_measured(case, expected, models, tmp_path, capsys, monkeypatch):
    folder, _ = models
    monkeypatch.chdir(tmp_path)
    onnx_a = str(folder / "a.onnx")
    args = {
        "missing": lambda: ["nothing.onnx", "--input", "16"],
        "suffix": lambda: ["model.h5"],
        "bad input": lambda: [onnx_a, "--input", "16xq"],
        "float64 input": lambda: [onnx_a, "--input", "x:float64:Nx16"],
        "floats for ids": lambda: [_suite(tmp_path, '[data]\npath = "val.npz"', _onnx_file(tmp_path / "ints.onnx", "int64", 1), 4)],
        "data and input": lambda: [onnx_a, "--data", _npz(tmp_path), "--input", "16"],
        "metrics without data": lambda: [onnx_a, "--metrics", "top5"],
        "target without data": lambda: [onnx_a, "--target", "label"],
        "table without target": lambda: [onnx_a, "--data", _table(tmp_path)],
        "metric of another task": lambda: [onnx_a, "--data", _npz(tmp_path), "--metrics", "rmse"],
        "unknown task": lambda: [onnx_a, "--data", _npz(tmp_path), "--task", "ranking"],
        "all": lambda: [onnx_a, "--batch-sizes", "1,all"],
        "quick": lambda: [onnx_a, "--quick"],
        "no shape": lambda: ["python:factories_for_tests:build_net"],
        "labels for regression": lambda: [_suite(tmp_path, '[data]\npath = "val.npz"\ntask = "regression"', onnx_a, y=["a", "b", "a", "b"])],
        "suite input": lambda: [_suite(tmp_path, "", onnx_a), "--input", "16"],
    }[case]()
    if case == "suffix":
        (tmp_path / "model.h5").write_bytes(b"")
    if case == "no shape":
        monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parents[1] / "sources"))
    assert main(["run", *args, "--db", str(tmp_path / "r.sqlite")]) == 2
    assert expected in _one_error_line(capsys)
    assert not (tmp_path / "r.sqlite").exists()


@pytest.mark.slow
@pytest.mark.parametrize("data", ['task = "none"\ninput = "16"', 'task = "none"\npath = "x.npy"'])
def test_a_suite_file_without_labels_is_cost_only(data, models, tmp_path):
    from effbench.store.db import Store

    folder, _ = models
    np.save(tmp_path / "x.npy", np.random.default_rng(2).standard_normal((5, 16)).astype(np.float32))
    (tmp_path / "s.toml").write_text(f'batch_sizes = [1, 3]\n[data]\n{data}\n'
                                     f'[[candidates]]\nname = "net"\nmodel = "{folder / "a.onnx"}"\n')
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "s.toml"), "--db", str(db)] + FAST) == 0
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.suite == "s" and run.candidate("net/onnxruntime").status == "ok"
    assert run.metric("net/onnxruntime", R.ACCURACY) is None and run.config["quality"] is False
    assert run.sample_set("net/onnxruntime", 3) is not None


def test_a_pickle_needs_trust(tmp_path, capsys):
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    assert main(["run", str(tmp_path / "m.pkl"), "--input", "4", "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "'m.pkl' is a pickle file, which runs any code it holds when loaded" in _one_error_line(capsys)


@pytest.fixture(scope="module")
def sk_models(tmp_path_factory):
    """A 3-class logistic regression and a linear regression on 16 features, saved with skops."""
    import skops.io
    from sklearn.linear_model import LinearRegression, LogisticRegression

    folder = tmp_path_factory.mktemp("sk")
    X = np.random.default_rng(0).standard_normal((30, 16)).astype(np.float32)
    skops.io.dump(LogisticRegression().fit(X, np.arange(30) % 3), folder / "clf.skops")
    skops.io.dump(LinearRegression().fit(X, X[:, 0]), folder / "reg.skops")
    return folder


def _fixed_batch_onnx(path):
    """An ONNX graph whose input has the fixed shape (1, 16) (exported without a dynamic batch)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


def _image_folder(tmp_path, classes=2):
    from PIL import Image

    for c in range(classes):
        (tmp_path / "images" / f"c{c}").mkdir(parents=True)
        Image.new("L", (4, 4), color=40 * c).save(tmp_path / "images" / f"c{c}" / "a.png")
    return tmp_path / "images"


@pytest.mark.parametrize("case, expected", [
    ("top-k above the model's scores", "--metrics[0]: top20 needs at least 20 classes; model 'a' scores 3 (output 'output' float32(?, 3))"),
    ("top-k above a classifier's classes", "--metrics[0]: top5 needs at least 5 classes; model 'clf' scores 3 (LogisticRegression, 3 classes)"),
    ("suite top-k above the data's classes", "data.metrics[0]: top5 needs at least 5 classes; the data has 2"),
    ("suite top-k labels beyond the scores", "data.metrics[0]: top2 reads the labels as column indices of the model's scores; "
                                             "the labels go up to 9, model 'm' scores 3 classes"),
    ("input rank", "--input: input 'input' of the model has 2 dimensions (?, 16); the spec gives 4 (?, 3, 224, 224)"),
    ("input fixed dimension", "--input: input 'input' of the model has size 16 in dimension 1 (?, 16); the spec gives 32"),
    ("input dtype", "--input: input 'input' of the model takes float32; the spec gives int64"),
    ("suite input fixed dimension", "data.input: input 'input' of the model has size 16 in dimension 1 (?, 16); the spec gives 8"),
    ("fixed batch", "--batch-sizes: model 'fixed' takes batches of 1 only (input 'x' has the fixed shape (1, 16)), not 8"),
    ("fixed batch scored", "--data: model 'fixed' takes batches of 1 only (input 'x' has the fixed shape (1, 16)); its quality "
                           "is scored on the 4 examples in one call"),
    ("scores under regression", "--task: regression needs one value per example; model 'b' outputs 3 values per example (output 'linear_1' float32(?, 3))"),
    ("classifier under regression", "--task: regression needs a regressor; model 'clf' is a scikit-learn classifier (LogisticRegression)"),
    ("suite regressor under classification", "data.task: classification needs a classifier; model 'm' is a scikit-learn regressor (LinearRegression)"),
])
def test_what_the_model_files_tell_is_checked_before_anything_is_measured(case, expected, models, sk_models, tmp_path,
                                                                          capsys, monkeypatch):
    import effbench.runs.latency

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured, though the plan contradicts the model")

    monkeypatch.setattr(effbench.runs.latency, "measure_run", no_measuring)
    folder, _ = models
    onnx_a, pt2_b, clf, reg = str(folder / "a.onnx"), str(folder / "b.pt2"), str(sk_models / "clf.skops"), str(sk_models / "reg.skops")
    ten = _npz(tmp_path, y=(0, 9, 3, 1))
    real = str(tmp_path / "real.npz")
    np.savez(real, X=np.zeros((4, 16), np.float32), y=np.array([0.5, 1.5, -2.0, 3.25]))
    args = {
        "top-k above the model's scores": lambda: [onnx_a, "--data", ten, "--metrics", "top20"],
        "top-k above a classifier's classes": lambda: [clf, "--data", ten, "--metrics", "top5"],
        "suite top-k above the data's classes": lambda: [_suite(tmp_path, f'[data]\npath = "{_image_folder(tmp_path)}"\n'
                                                                          'metrics = ["top5"]', onnx_a)],
        "suite top-k labels beyond the scores": lambda: [_suite(tmp_path, '[data]\npath = "val.npz"\nmetrics = ["top2"]', onnx_a,
                                                                y=(0, 9, 3, 1))],
        "input rank": lambda: [onnx_a, "--input", "3x224x224"],
        "input fixed dimension": lambda: [onnx_a, "--input", "32"],
        "input dtype": lambda: [pt2_b, "--input", "input:int64:16"],
        "suite input fixed dimension": lambda: [_suite(tmp_path, 'batch_sizes = [1]\n[data]\ntask = "none"\ninput = "8"', onnx_a)],
        "fixed batch": lambda: [_fixed_batch_onnx(tmp_path / "fixed.onnx"), "--batch-sizes", "1,8"],
        "fixed batch scored": lambda: [_fixed_batch_onnx(tmp_path / "fixed.onnx"), "--data", _npz(tmp_path), "--batch-sizes", "1"],
        "scores under regression": lambda: [pt2_b, "--data", real, "--task", "regression"],
        "classifier under regression": lambda: [clf, "--data", real, "--task", "regression"],
        "suite regressor under classification": lambda: [_suite(tmp_path, '[data]\npath = "val.npz"', reg)],
    }[case]()
    assert main(["run", *args, "--db", str(tmp_path / "r.sqlite")]) == 2
    assert expected in _one_error_line(capsys)
    assert not (tmp_path / "r.sqlite").exists()
