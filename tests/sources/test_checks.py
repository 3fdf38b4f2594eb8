"""What a model's file tells, checked before anything is measured: a hand-written input spec against the
model's signature, a fixed batch size, the model's output against the task and the top-k metrics."""

import factories_for_tests as F
import numpy as np
import pytest
import torch

from effbench.errors import ConfigError
from effbench.sources.checks import check_task_fits, model_output
from effbench.sources.models import load_model
from effbench.sources.signature import (
    InputSpec,
    fixed_batch,
    parse_input_spec,
    resolve_shapes,
)

IMAGE = (InputSpec("image", "float32", (None, 3, 8, 8)),)
TOKENS = (InputSpec("input_ids", "int64", (None, None)),)
FIXED = (InputSpec("x", "float32", (1, 16)),)


# -- a hand-written input spec against the model's signature ----------------------------------------

@pytest.mark.parametrize("text, signature, message", [
    ("3x224x224", (InputSpec("input", "float32", (None, 16)),),
     r"^--input: input 'input' of the model has 2 dimensions \(\?, 16\); the spec gives 4 \(\?, 3, 224, 224\)$"),
    ("3x8x9", IMAGE, r"^--input: input 'image' of the model has size 8 in dimension 3 \(\?, 3, 8, 8\); the spec gives 9 "
                     r"\(only a dynamic dimension, \?, takes another size\)$"),
    ("image:int64:3x8x8", IMAGE, r"^--input: input 'image' of the model takes float32; the spec gives int64 "
                                 r"\(leave the dtype out to use the model's\)$"),
    ("input_ids:int32:1x128", TOKENS, r"^--input: input 'input_ids' of the model takes int64; the spec gives int32"),
    ("x:1x16", (InputSpec("input", "float32", (None, 16)),), r"^--input: the model has no input 'x'; its inputs: input$"),
])
def test_a_spec_that_contradicts_the_signature_names_the_input_and_what_the_model_expects(text, signature, message):
    with pytest.raises(ConfigError, match=message):
        resolve_shapes(parse_input_spec(text, field="--input"), signature, field="--input")


def test_a_dynamic_dimension_stays_free_and_a_spec_without_a_dtype_takes_the_models():
    assert resolve_shapes(parse_input_spec("input_ids:1x128"), TOKENS) == (InputSpec("input_ids", "int64", (None, 128)),)
    assert resolve_shapes(parse_input_spec("input_ids:1x7"), TOKENS)[0].shape == (None, 7)  # any size where it is dynamic
    assert resolve_shapes(parse_input_spec("3x8x8"), IMAGE) == (InputSpec(None, "float32", (None, 3, 8, 8)),)
    assert resolve_shapes(parse_input_spec("16"), FIXED) == (InputSpec(None, "float32", (None, 16)),)
    assert resolve_shapes(parse_input_spec("3x8x8")) == (InputSpec(None, "float32", (None, 3, 8, 8)),)  # no signature: float32
    assert parse_input_spec("x:int64:4")[0].dtype_given and not parse_input_spec("x:4")[0].dtype_given


def test_a_fixed_batch_dimension_is_found_where_the_spec_or_the_data_puts_the_batch():
    assert fixed_batch(FIXED) == ("x", 1, (1, 16))  # data rows: the first dimension
    assert fixed_batch(FIXED, resolve_shapes(parse_input_spec("16"), FIXED)) == ("x", 1, (1, 16))
    assert fixed_batch(IMAGE) is None and fixed_batch(IMAGE, resolve_shapes(None, IMAGE)) is None
    assert fixed_batch(None) is None
    assert fixed_batch((InputSpec("x", "float32", (16, 1)),), (InputSpec("x", "float32", (16, None)),)) == ("x", 1, (16, 1))


# -- what load_model records for the checks ----------------------------------------------------------

def test_load_model_records_the_estimator_kind_and_the_output_of_onnx_and_pt2_files(tmp_path):
    from sklearn.linear_model import LinearRegression
    from sklearn.svm import SVC

    from effbench.candidates.onnx_convert import torch_to_onnx_bytes

    _, prov = load_model("python:factories_for_tests:build_forest")
    assert (prov["estimator_type"], prov["n_classes"], prov["scores"]) == ("classifier", 2, True)
    X = np.random.default_rng(0).random((20, 4))
    for est, facts in [(LinearRegression().fit(X, X[:, 0]), {"estimator_type": "regressor"}),
                       (SVC().fit(X, X[:, 0] > 0.5), {"estimator_type": "classifier", "n_classes": 2, "scores": False})]:
        import skops.io

        skops.io.dump(est, tmp_path / "m.skops")
        _, prov = load_model(tmp_path / "m.skops", trust_pickle=True)
        assert {k: prov.get(k) for k in facts} == facts
    net = F.build_net().eval()
    x = torch.zeros(2, 4)
    (tmp_path / "n.onnx").write_bytes(torch_to_onnx_bytes(net, x))
    _, prov = load_model(tmp_path / "n.onnx")
    assert prov["output_specs"] == [{"name": "output", "dtype": "float32", "shape": [None, 3]}]
    torch.export.save(torch.export.export(net, (x,), dynamic_shapes={"input": {0: torch.export.Dim("batch")}}), tmp_path / "n.pt2")
    _, prov = load_model(tmp_path / "n.pt2")
    assert [(o["dtype"], o["shape"]) for o in prov["output_specs"]] == [("float32", [None, 3])]
    _, prov = load_model("python:factories_for_tests:build_net")
    assert "output_specs" not in prov and "estimator_type" not in prov  # a torch factory: its output is not known


# -- the model's output against the task and the metrics ---------------------------------------------

def onnx_prov(*outputs):
    return {"kind": "onnx", "class": "builtins.str",
            "output_specs": [{"name": n, "dtype": d, "shape": list(s)} for n, d, s in outputs]}


SCORES3 = onnx_prov(("logits", "float32", (None, 3)))
VALUE = onnx_prov(("y", "float32", (None, 1)))
LABEL_AND_PROBS = onnx_prov(("label", "int64", (None,)), ("probabilities", "float32", (None, 3)))
CLASSIFIER = {"kind": "skops", "class": "sklearn.linear_model.LogisticRegression", "estimator_type": "classifier",
              "n_classes": 3, "scores": True}
REGRESSOR = {"kind": "skops", "class": "sklearn.linear_model.Ridge", "estimator_type": "regressor"}
SVC = {**CLASSIFIER, "class": "sklearn.svm.SVC", "scores": False}


@pytest.mark.parametrize("prov, task, metrics, output, message", [
    (SCORES3, "regression", ("rmse",), None, r"^data\.task: regression needs one value per example; model 'm' outputs 3 "
                                              r"values per example \(output 'logits' float32\(\?, 3\)\), one score per class"),
    (CLASSIFIER, "regression", ("rmse",), None, r"^data\.task: regression needs a regressor; model 'm' is a scikit-learn "
                                                r"classifier \(LogisticRegression\)"),
    (REGRESSOR, "classification", ("accuracy",), None, r"^data\.task: classification needs a classifier; model 'm' is a "
                                                       r"scikit-learn regressor \(Ridge\)"),
    (VALUE, "classification", ("accuracy",), None, r"^data\.task: classification needs class labels or one score per class; "
                                                   r"model 'm' outputs one real value per example"),
    (SCORES3, "classification", ("accuracy", "top5"), None, r"^data\.metrics\[1\]: top5 needs at least 5 classes; model 'm' "
                                                            r"scores 3 \(output 'logits' float32\(\?, 3\)\)$"),
    (CLASSIFIER, "classification", ("top5",), None, r"^data\.metrics\[0\]: top5 needs at least 5 classes; model 'm' scores 3 "
                                                    r"\(LogisticRegression, 3 classes\)$"),
    (SVC, "classification", ("top2",), None, r"^data\.metrics\[0\]: top2 ranks one score per class; model 'm' \(SVC\) has "
                                             r"no predict_proba, only labels$"),
    (LABEL_AND_PROBS, "classification", ("top2",), None, r"top2 ranks one score per class; model 'm' outputs one value per "
                                                         r"example .*choose its scores with output = NAME \(its other outputs: "
                                                         r"probabilities\)$"),
    (LABEL_AND_PROBS, "classification", ("top2",), 1, r"top2 reads the labels as column indices of the model's scores; the "
                                                      r"labels go up to 4, model 'm' scores 3 classes"),
])
def test_what_the_file_tells_against_the_task_is_one_line(prov, task, metrics, output, message):
    with pytest.raises(ConfigError, match=message):
        check_task_fits("m", prov, output=output, task=task, metrics=metrics, y=np.array([0, 4]))


@pytest.mark.parametrize("prov, task, metrics, output", [
    (SCORES3, "classification", ("accuracy", "top3"), None),
    (VALUE, "regression", ("rmse",), None),
    (LABEL_AND_PROBS, "classification", ("accuracy",), None),  # int64 labels are labels
    (LABEL_AND_PROBS, "classification", ("top2",), "probabilities"),
    (CLASSIFIER, "classification", ("top3",), None),
    (REGRESSOR, "regression", ("mae",), None),
    (onnx_prov(("logits", "float32", (None, None))), "regression", ("rmse",), None),  # a dynamic width: not known
    ({"kind": "python", "class": "torch.nn.Sequential"}, "regression", ("rmse",), None),  # nothing known: checked when scored
    ({**SCORES3, "kind": "torch.export"}, "classification", ("top5",), "logits"),  # an archive's output option: not its tensor
])
def test_what_fits_or_is_not_known_passes(prov, task, metrics, output):
    check_task_fits("m", prov, output=output, task=task, metrics=metrics, y=np.array([0, 1, 2]))


def test_the_scored_output_is_chosen_as_the_onnx_candidate_chooses_it():
    assert model_output(LABEL_AND_PROBS).name == "label"
    assert model_output(LABEL_AND_PROBS, 1).name == model_output(LABEL_AND_PROBS, "probabilities").name == "probabilities"
    assert model_output(LABEL_AND_PROBS, 5) is None and model_output(LABEL_AND_PROBS, "nope") is None
    assert model_output({"kind": "python"}) is None


def test_a_hugging_face_sequence_classifier_scores_its_labels(tmp_path):
    pytest.importorskip("transformers", reason="hf: is the optional effbench[hf] extra")
    F.save_tiny_bert(tmp_path / "bert", num_labels=3)
    _, prov = load_model(f"hf:{tmp_path / 'bert'}")
    assert prov["output_specs"] == [{"name": "logits", "dtype": "float32", "shape": [None, 3]}]
    assert model_output(prov).name == model_output(prov, "logits").name == "logits"
    assert model_output(prov, "hidden_states") is None
    with pytest.raises(ConfigError, match=r"^data\.metrics\[0\]: top5 needs at least 5 classes; model 'bert' scores 3"):
        check_task_fits("bert", prov, output="logits", task="classification", metrics=("top5",), y=np.array([0, 1]))
    with pytest.raises(ConfigError, match=r"^data\.task: regression needs one value per example; model 'bert' outputs 3"):
        check_task_fits("bert", prov, output="logits", task="regression", metrics=("rmse",))


# -- the inputs a run gives against a fitted estimator's features and a torch factory's forward ---------

class _Kwargs(torch.nn.Module):
    def forward(self, input_ids, attention_mask=None, **kwargs):
        return input_ids


def test_loading_records_an_estimators_features_and_a_factorys_forward(monkeypatch):
    from effbench.sources.checks import check_inputs_fit

    _, prov = load_model("python:factories_for_tests:build_forest")
    assert prov["n_features"] == 4 and "feature_names" not in prov and "forward" not in prov
    _, prov = load_model("python:factories_for_tests:build_token_net")
    assert prov["forward"] == {"params": ["input_ids", "attention_mask"], "required": ["input_ids", "attention_mask"],
                               "var_keyword": False, "var_positional": False}
    assert "n_features" not in prov
    monkeypatch.setattr(F, "build_kwargs", lambda: _Kwargs(), raising=False)
    _, prov = load_model("python:factories_for_tests:build_kwargs")
    assert prov["forward"]["required"] == ["input_ids"] and prov["forward"]["var_keyword"] is True
    ids = InputSpec("input_ids", "int64", (4, 6))
    check_inputs_fit("k", prov, [ids], what="the data", field="--data")  # the optional mask may be left out
    check_inputs_fit("k", prov, [ids, InputSpec("extra", "int64", (4, 6))], what="the data", field="--data")  # **kwargs
    with pytest.raises(ConfigError, match=r"^--data: model 'k': forward\(input_ids, attention_mask=\.\.\., \*\*kwargs\) "
                                          r"needs 'input_ids', which has no default; the data gives ids, extra$"):
        check_inputs_fit("k", prov, [InputSpec("ids", "int64", (4, 6)), InputSpec("extra", "int64", (4, 6))],
                         what="the data", field="--data")


def test_a_tables_columns_are_checked_only_against_names_the_estimator_was_fitted_on():
    from effbench.sources.checks import check_inputs_fit

    prov = {"class": "sklearn.linear_model.Ridge", "n_features": 2, "feature_names": ["a", "b"]}
    table = [InputSpec("X", "float32", (5, 2))]
    check_inputs_fit("r", prov, table, what="the data", field="--data", columns=["a", "b"])
    check_inputs_fit("r", prov, table, what="the data", field="--data")  # an npz: no column names to compare
    with pytest.raises(ConfigError, match=r"^--data: model 'r' \(Ridge\) was fitted on the columns a, b; the data gives "
                                          r"the feature columns a, c: a model fitted"):
        check_inputs_fit("r", prov, table, what="the data", field="--data", columns=["a", "c"])
    check_inputs_fit("f", {"class": "f"}, [InputSpec(None, "float32", (None, 3, 8, 8))], what="the spec", field="--input")
