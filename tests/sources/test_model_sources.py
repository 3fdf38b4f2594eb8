"""Each model source on a model the test builds and saves: what loads, what it returns, what is recorded,
and the one-line refusals (missing, unloadable, untrusted)."""

import pickle

import factories_for_tests as F
import numpy as np
import pytest
import torch

from effbench.candidates import wrap
from effbench.errors import ConfigError
from effbench.sources.models import input_signature, load_model, model_kind
from effbench.sources.signature import InputSpec

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # TorchScript is deprecated in torch 2.13, still read

X = np.random.default_rng(0).random((6, 4)).astype(np.float32)


def net():
    return F.build_net().eval()


def expected_logits():
    with torch.inference_mode():
        return net()(torch.from_numpy(X)).numpy()


def test_model_kinds():
    assert [model_kind(r) for r in ("a.onnx", "a.PT2", "a.pt", "a.ts", "a.skops", "a.pkl", "a.pickle", "a.joblib",
                                    "python:m:f", "hf:dir")] == [
        "onnx", "torch.export", "torchscript", "torchscript", "skops", "pickle", "pickle", "joblib", "python", "hf"]
    with pytest.raises(ConfigError, match=r"^model: cannot tell what kind of model 'w\.h5' is"):
        model_kind("w.h5")


def test_onnx_files_load_through_onnxruntime_and_wrap_as_the_onnx_backend(tmp_path):
    from effbench.candidates.onnx_convert import sklearn_to_onnx_bytes

    forest = F.build_forest()
    path = tmp_path / "forest.onnx"
    path.write_bytes(sklearn_to_onnx_bytes(forest, 4))
    model, prov = load_model(path)
    assert model == str(path)
    assert prov["kind"] == "onnx" and prov["loader"] == "onnxruntime.InferenceSession" and not prov["trusted"]
    assert prov["inputs"] == [{"name": "input", "dtype": "float32", "shape": [None, 4]}]
    assert input_signature(prov) == (InputSpec("input", "float32", (None, 4)),)
    import hashlib

    assert prov["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    c = wrap("forest", model)
    assert c.backend == "onnxruntime"
    np.testing.assert_array_equal(c.predict(X), forest.predict(X))
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"^m: '.*bad\.onnx' does not load as an ONNX model \(ONNX Runtime\): ") as info:
        load_model(tmp_path / "bad.onnx", field="m")
    assert "\n" not in str(info.value)


def test_torch_export_archives(tmp_path):
    batch = torch.export.Dim("batch")
    program = torch.export.export(net(), (torch.from_numpy(X),), dynamic_shapes={"input": {0: batch}})
    torch.export.save(program, tmp_path / "net.pt2")
    module, prov = load_model(tmp_path / "net.pt2")
    assert isinstance(module, torch.nn.Module) and prov["loader"] == "torch.export.load"
    assert prov["inputs"] == [{"name": "input", "dtype": "float32", "shape": [None, 4]}]
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), expected_logits(), rtol=1e-6)
    (tmp_path / "junk.pt2").write_bytes(b"zip?")
    with pytest.raises(ConfigError, match=r"^model: '.*junk\.pt2' does not load as a torch\.export archive"):
        load_model(tmp_path / "junk.pt2")


@pytest.mark.parametrize("suffix", [".pt", ".ts"])
def test_torchscript_archives(tmp_path, suffix):
    torch.jit.save(torch.jit.trace(net(), torch.from_numpy(X)), tmp_path / f"net{suffix}")
    module, prov = load_model(tmp_path / f"net{suffix}")
    assert isinstance(module, torch.jit.ScriptModule) and prov["kind"] == "torchscript"
    assert prov["input_names"] == ["input"]
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), expected_logits(), rtol=1e-6)


def test_a_torch_save_file_is_not_torchscript_and_the_message_says_what_to_do(tmp_path):
    torch.save(net().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ConfigError, match=r"does not load as TorchScript \(torch\.jit\.load\): .* \(a \.pt file must be "
                                          r"saved with torch\.jit\.save; for a torch\.save file use a python: factory\)$"):
        load_model(tmp_path / "weights.pt")


def test_python_factories_return_modules_estimators_or_callables():
    module, prov = load_model("python:factories_for_tests:build_net", args={"width": 5})
    assert isinstance(module, torch.nn.Module) and module[0].out_features == 5
    assert prov == {"kind": "python", "ref": "python:factories_for_tests:build_net", "args": {"width": 5},
                    "trusted": False, "weights": "factory", "loader": "python factory",
                    "class": "torch.nn.modules.container.Sequential", "inputs": None,
                    "forward": {"params": ["input"], "required": ["input"], "var_keyword": False, "var_positional": False}}
    forest, _ = load_model("python:factories_for_tests:build_forest")
    assert wrap("f", forest).backend == "sklearn"
    fn, prov = load_model("python:factories_for_tests:build_function", args={"threshold": 0.25}, weights="random")
    assert list(fn(np.array([[0.3], [0.1]]))) == [1, 0] and prov["weights"] == "random"


@pytest.mark.parametrize("ref,args,message", [
    ("python:factories_for_tests:build_unfitted", {}, r"^model: python:factories_for_tests:build_unfitted returned an unfitted LogisticRegression; fit it in the factory$"),
    ("python:factories_for_tests:build_nothing", {}, r"returned a int; expected a torch Module, a fitted scikit-learn estimator or a callable f\(X\)$"),
    ("python:factories_for_tests:build_broken", {"size": 2}, r"^model: python:factories_for_tests:build_broken\(size=2\) failed: RuntimeError: no GPU for size 2 second line$"),
    ("python:factories_for_tests:build_net", {"depth": 2}, r"build_net\(depth=2\) failed: TypeError: .*unexpected keyword argument 'depth'"),
    ("python:factories_for_tests:missing", {}, r"^model: module 'factories_for_tests' has no attribute 'missing'$"),
    ("python:no_such_package_xyz.models:build", {}, r"^model: cannot import module 'no_such_package_xyz\.models'"),
])
def test_python_factories_that_fail_say_how_in_one_line(ref, args, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_model(ref, args=args)
    assert "\n" not in str(info.value)


def test_skops_files_load_and_untrusted_types_need_trust(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    y = (X[:, 0] > 0.5).astype(int)
    linear = LogisticRegression().fit(X, y)
    sio.dump(linear, tmp_path / "linear.skops")
    loaded, prov = load_model(tmp_path / "linear.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), linear.predict_proba(X))
    assert prov["loader"] == "skops.io.load" and prov["trusted"] is False and prov["trusted_types"] == []

    pipe = make_pipeline(FunctionTransformer(F.double), F.build_forest())  # a function and sklearn's Tree
    sio.dump(pipe, tmp_path / "pipe.skops")
    with pytest.raises(ConfigError, match=r"^model: 'pipe\.skops' holds types outside skops' trusted list: "
                                          r"factories_for_tests\.double, sklearn\.tree\._tree\.Tree; set trust = true"):
        load_model(tmp_path / "pipe.skops")
    loaded, prov = load_model(tmp_path / "pipe.skops", trust_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    assert prov["trusted"] is True and prov["trusted_types"] == ["factories_for_tests.double", "sklearn.tree._tree.Tree"]


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickles_load_only_with_trust_and_the_trust_is_recorded(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    if suffix == ".joblib":
        import joblib

        joblib.dump(F.Picklable(7), path)
    else:
        path.write_bytes(pickle.dumps(F.Picklable(7)))
    with pytest.raises(ConfigError, match=rf"^model: 'model\{suffix}' is a (pickle|joblib) file, which runs any code it "
                                          r"holds when loaded; load it only with trust = true \(or --trust-pickle\)"):
        load_model(path)
    obj, prov = load_model(path, trust_pickle=True)
    assert obj.k == 7 and prov["trusted"] is True and prov["loader"] in ("pickle.load", "joblib.load")


def test_missing_files_and_misplaced_options(tmp_path):
    with pytest.raises(ConfigError, match=r"^candidates\[3\]\.model: '.*gone\.onnx' does not exist$"):
        load_model(tmp_path / "gone.onnx", field="candidates[3].model")
    (tmp_path / "d.onnx").mkdir()
    with pytest.raises(ConfigError, match=r"'.*d\.onnx' is not a file$"):
        load_model(tmp_path / "d.onnx")
    with pytest.raises(ConfigError, match=r"weights = 'random' applies to python: and hf: models"):
        load_model(tmp_path / "gone.onnx", weights="random")
    with pytest.raises(ConfigError, match=r"args apply to python: factories and hf: models"):
        load_model(tmp_path / "gone.onnx", args={"a": 1})


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    pytest.importorskip("transformers", reason="hf: is the optional effbench[hf] extra")
    folder = tmp_path_factory.mktemp("hf") / "tiny-bert"
    return folder, F.save_tiny_bert(folder)


def test_hf_folders_load_offline(tiny_bert, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder, original = tiny_bert
    model, prov = load_model(f"hf:{folder}")
    ids = torch.tensor([[1, 5, 7, 2], [1, 9, 2, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    with torch.inference_mode():
        got = model(input_ids=ids, attention_mask=mask).logits
        want = original(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got, want)
    assert prov["loader"] == "transformers.AutoModelForSequenceClassification.from_pretrained"
    assert prov["model_type"] == "bert" and prov["weights"] == "file"
    assert [i["name"] for i in prov["inputs"]] == ["input_ids", "attention_mask", "token_type_ids"]
    assert {i["dtype"] for i in prov["inputs"]} == {"int64"}


def test_hf_folders_without_weights_need_weights_random(tiny_bert, tmp_path):
    import shutil

    folder, _ = tiny_bert
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(folder / "config.json", bare / "config.json")
    with pytest.raises(ConfigError, match=r"^model: hf:.*bare has no weights \(model\.safetensors or pytorch_model\.bin\); "
                                          r"set weights = \"random\""):
        load_model(f"hf:{bare}")
    model, prov = load_model(f"hf:{bare}", weights="random")
    assert prov["weights"] == "random" and prov["loader"].endswith("from_config")
    assert model.config.num_labels == 3
    with pytest.raises(ConfigError, match=r"^model: hf:.*nothing is not a folder"):
        load_model(f"hf:{tmp_path / 'nothing'}")
