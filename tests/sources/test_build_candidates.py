"""From a suite's candidate to measured candidates: archives that survive the trip to a worker,
conversions to other backends, named integer inputs and tuple/dict outputs."""

import pickle

import factories_for_tests as F
import numpy as np
import pytest
import torch

from effbench.candidates.base import select_output
from effbench.errors import ConfigError
from effbench.sources.build import build_candidates
from effbench.sources.suite import CandidateSpec
from effbench.testing import check_candidate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit and the ONNX exporter

X = np.random.default_rng(0).random((9, 4)).astype(np.float32)


def expected_labels():
    with torch.inference_mode():
        return F.build_net().eval()(torch.from_numpy(X)).argmax(1).numpy()


def spec(name, model, **kw):
    from effbench.sources.models import model_kind

    return CandidateSpec(name=name, model=str(model), kind=model_kind(str(model)), **kw)


@pytest.mark.parametrize("fmt", ["pt2", "ts"])
def test_archives_are_torch_candidates_that_reach_a_worker_as_their_bytes(tmp_path, fmt):
    path = tmp_path / f"net.{fmt}"
    if fmt == "pt2":
        program = torch.export.export(F.build_net().eval(), (torch.from_numpy(X),),
                                      dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
        torch.export.save(program, path)
    else:
        torch.jit.save(torch.jit.trace(F.build_net().eval(), torch.from_numpy(X)), path)
    [c], prov = build_candidates(spec("net", path), X)
    assert c.backend == "torch" and type(c).__name__ == "TorchArchiveCandidate"
    assert c.serialized() == path.read_bytes() and c.size_bytes() == path.stat().st_size
    assert c.param_count() == 4 * 8 + 8 + 8 * 3 + 3
    assert c.flops(X).flops_per_sample == 2 * (4 * 8 + 8 * 3)  # the two matrix products (2 x MACs)
    check_candidate(c, X)  # includes the pickle trip and labels at batch 1, 7 and all
    copy = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(copy.predict(X), expected_labels())
    assert c.info == {"source": prov["kind"], "ref": str(path), "weights": "file", "trusted": False, "device": "cpu"}


def test_a_factory_measured_on_torch_and_exported_to_onnx():
    cands, prov = build_candidates(spec("tiny", "python:factories_for_tests:build_net", args={"width": 8},
                                        backends=("torch", "onnxruntime")), X)
    assert [c.key for c in cands] == ["tiny/torch", "tiny/onnxruntime"]
    for c in cands:
        np.testing.assert_array_equal(c.predict(X), expected_labels())
    assert cands[1].info["converted_from"] == "torch" and prov["weights"] == "factory"


def test_files_of_other_kinds_wrap_on_their_backend(tmp_path):
    import skops.io as sio

    forest = F.build_forest()
    sio.dump(forest, tmp_path / "f.skops")
    with pytest.raises(ConfigError, match=r"types outside skops' trusted list: sklearn\.tree\._tree\.Tree"):
        build_candidates(spec("forest", tmp_path / "f.skops"), X)
    [c], prov = build_candidates(spec("forest", tmp_path / "f.skops", trust=True), X)
    assert c.backend == "sklearn" and c.info["trusted"] is True and prov["trusted_types"] == ["sklearn.tree._tree.Tree"]
    np.testing.assert_array_equal(c.predict(X), forest.predict(X))
    cands, _ = build_candidates(spec("forest", tmp_path / "f.skops", trust=True, backends=("sklearn", "onnxruntime")), X)
    np.testing.assert_array_equal(cands[1].predict(X), forest.predict(X))
    with pytest.raises(ConfigError, match=r"^candidate 'forest'\.backends: 'forest' is a sklearn model; torch can take "
                                          r"models from no other framework$"):
        build_candidates(spec("forest", tmp_path / "f.skops", trust=True, backends=("torch",)), X)


def test_named_integer_inputs_reach_the_model_as_integers_and_dict_outputs_are_chosen():
    rng = np.random.default_rng(1)
    data = {"input_ids": rng.integers(0, 20, size=(5, 6)), "attention_mask": np.ones((5, 6), dtype=np.int64)}
    [c], _ = build_candidates(spec("tok", "python:factories_for_tests:build_token_net", output="logits"), data)
    with torch.inference_mode():
        want = F.build_token_net()(**{k: torch.from_numpy(v) for k, v in data.items()})["logits"].argmax(1).numpy()
    np.testing.assert_array_equal(c.predict(data), want)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(c)).predict(data), want)
    assert c.describe()["output"] == "logits"
    [bare], _ = build_candidates(spec("tok", "python:factories_for_tests:build_token_net"), data)
    with pytest.raises(ValueError, match=r"^the model returns a dict \(logits, pooled\); choose the scores with output = \"NAME\"$"):
        bare.predict(data)


@pytest.mark.parametrize("output", ["logits", "pooled", 0, 1])
def test_a_dict_output_reads_the_same_scores_on_torch_and_onnx_runtime(output):
    rng = np.random.default_rng(4)
    data = {"input_ids": rng.integers(0, 20, size=(7, 6)), "attention_mask": np.ones((7, 6), dtype=np.int64)}
    cands, _ = build_candidates(spec("tok", "python:factories_for_tests:build_token_net", output=output,
                                     backends=("torch", "onnxruntime")), data)
    assert [c.backend for c in cands] == ["torch", "onnxruntime"]
    _, onnx_c = cands
    assert [o.name for o in onnx_c.session.get_outputs()] == ["logits", "pooled"]
    key = ["logits", "pooled"][output] if isinstance(output, int) else output
    with torch.inference_mode():
        want = F.build_token_net()(**{k: torch.from_numpy(v) for k, v in data.items()})[key].numpy()
    for c in cands:
        np.testing.assert_allclose(c.to_outputs(c.infer(c.prepare(data))), want, atol=1e-5)
        np.testing.assert_array_equal(c.predict(data), want.argmax(1))


class _Nested(torch.nn.Module):
    """A dict output, its keys out of alphabetical order, with a nested tuple and a None entry."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 2)

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        return {"pooled": b, "logits": a, "hidden": (b, a + 1), "loss": None}


@pytest.mark.parametrize("exporter", ["torchscript", "torch.export"])
def test_each_onnx_output_holds_the_value_its_name_says(exporter, monkeypatch):
    import onnxruntime as ort

    import effbench.candidates.onnx_convert as oc

    if exporter == "torch.export":
        monkeypatch.setattr(oc, "_legacy_exporter_available", lambda: False)
    net = _Nested().eval()
    session = ort.InferenceSession(oc.torch_to_onnx_bytes(net, torch.from_numpy(X[:1])))
    names = [o.name for o in session.get_outputs()]
    assert names == ["pooled", "logits", "hidden.0", "hidden.1"]
    with torch.no_grad():
        out = net(torch.from_numpy(X))
    want = {"pooled": out["pooled"], "logits": out["logits"], "hidden.0": out["hidden"][0], "hidden.1": out["hidden"][1]}
    for name, got in zip(names, session.run(None, {"input": X})):
        np.testing.assert_allclose(got, want[name].numpy(), atol=1e-5)


def test_onnx_output_names_follow_the_modules_output():
    import collections

    from effbench.candidates.onnx_convert import output_names

    a, b = torch.zeros(2, 3), torch.ones(2)
    pair = collections.namedtuple("Pair", "logits pooled")
    assert output_names(a) == ["output"]
    assert output_names({"logits": a, "pooled": b}) == ["logits", "pooled"]
    assert output_names(pair(a, b)) == ["logits", "pooled"]
    assert output_names((a, b)) == ["output", "output_1"]
    assert output_names({"logits": a, "hidden": (b, b), "loss": None}) == ["logits", "hidden.0", "hidden.1"]


def test_select_output():
    t = (np.zeros((2, 3)), np.ones(2))
    assert select_output(t, 1) is t[1]
    assert select_output(np.zeros(3), None).shape == (3,)
    assert select_output([0, 1, 2], None) == [0, 1, 2]  # a list of labels is not a tuple of outputs
    with pytest.raises(ValueError, match=r"returns a tuple of 2 outputs; choose one with output = INDEX"):
        select_output(t, None)
    with pytest.raises(ValueError, match=r"output 'logits': the model's outputs are a, b"):
        select_output({"a": 1, "b": 2}, "logits")
    assert select_output({"a": 1, "b": 2}, 1) == 2  # by position, as the dict's ONNX export numbers them
    assert select_output({0: "key", 1: "other"}, 1) == "other"  # a key first
    with pytest.raises(ValueError, match=r"output 2: the model's outputs are a, b"):
        select_output({"a": 1, "b": 2}, 2)
    with pytest.raises(ValueError, match=r"output 5: the model returns a tuple of 2 outputs; give an index"):
        select_output(t, 5)


def test_onnx_models_with_named_inputs_of_several_dtypes(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT), helper.make_node("Add", ["a", "bf"], ["sum"]),
         helper.make_node("Neg", ["sum"], ["neg"])],
        "two_inputs",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 3]),
         helper.make_tensor_value_info("b", TensorProto.INT64, ["n", 3])],
        [helper.make_tensor_value_info("neg", TensorProto.FLOAT, ["n", 3]),
         helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["n", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "two.onnx")
    a = np.array([[0.5, 0.0, 0.1], [0.0, 0.2, 0.0]], dtype=np.float32)
    b = np.array([[0, 2, 0], [1, 0, 0]], dtype=np.int64)
    [c], prov = build_candidates(spec("two", tmp_path / "two.onnx", output="sum"), {"a": a, "b": b})
    assert [i["dtype"] for i in prov["inputs"]] == ["float32", "int64"]
    assert c.predict({"a": a, "b": b}).tolist() == [1, 0]  # argmax of a + b
    [neg], _ = build_candidates(spec("two", tmp_path / "two.onnx"), {"a": a, "b": b})
    assert neg.predict({"a": a, "b": b}).tolist() == [2, 2]  # the first output, -(a + b): argmax is the smallest sum
    [bad], _ = build_candidates(spec("two", tmp_path / "two.onnx", output="logits"), {"a": a, "b": b})
    with pytest.raises(ConfigError, match=r"^candidate 'two': output 'logits': the model's outputs are neg, sum$"):
        bad.predict({"a": a, "b": b})


def test_hf_models_read_their_logits(tmp_path):
    pytest.importorskip("transformers", reason="hf: is the optional effbench[hf] extra")
    model = F.save_tiny_bert(tmp_path / "bert", num_labels=4)
    rng = np.random.default_rng(2)
    data = {"input_ids": rng.integers(0, 50, size=(6, 5)), "attention_mask": np.ones((6, 5), dtype=np.int64)}
    [c], prov = build_candidates(spec("bert", f"hf:{tmp_path / 'bert'}"), data)
    with torch.inference_mode():
        want = model(**{k: torch.from_numpy(v) for k, v in data.items()}).logits.argmax(1).numpy()
    np.testing.assert_array_equal(c.predict(data), want)
    assert c.output == "logits" and c.info["source"] == "hf" and prov["model_type"] == "bert"


def test_onnx_runs_on_the_cpu_provider_or_cuda_when_present(monkeypatch):
    import onnxruntime as ort

    from effbench.sources.build import onnx_providers

    assert onnx_providers("cpu") == ("CPUExecutionProvider",)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match=r"^device: 'cuda:1' for net: this ONNX Runtime has no CUDA provider \(it has "
                                          r"CPUExecutionProvider\); install onnxruntime-gpu or use device = \"cpu\"$"):
        onnx_providers("cuda:1", "net")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert onnx_providers("cuda:1") == (("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider")
    assert onnx_providers("cuda")[0] == ("CUDAExecutionProvider", {"device_id": 0})


def test_raw_outputs_for_top_k_and_regression_metrics():
    from effbench.tasks.metrics import get_metric

    rng = np.random.default_rng(3)
    data = {"input_ids": rng.integers(0, 20, size=(8, 6)), "attention_mask": np.ones((8, 6), dtype=np.int64)}
    [c], _ = build_candidates(spec("tok", "python:factories_for_tests:build_token_net", output="logits"), data)
    scores = c.to_outputs(c.infer(c.prepare(data)))
    assert scores.shape == (8, 3) and scores.dtype == np.float32
    labels = c.predict(data)
    np.testing.assert_array_equal(scores.argmax(1), labels)
    assert get_metric("top3", "classification").score(labels, scores) == 1.0
    [reg], _ = build_candidates(spec("reg", "python:factories_for_tests:build_net", args={"n_out": 1}), X)
    values = reg.to_outputs(reg.infer(reg.prepare(X)))
    assert values.shape == (9, 1)
    assert get_metric("rmse", "regression").score(values[:, 0] + 0.5, values) == pytest.approx(0.5)
