"""Compressed variants: quantized and pruned models keep their accuracy, pruning zeroes what it says,
distillation differs from the labels-only student only by its loss, failures are recorded."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from effbench.errors import ConfigError  # noqa: E402
from effbench.tasks.digits import load_digits_task  # noqa: E402
from effbench.zoo import nets, variants as V  # noqa: E402
from effbench.zoo.training import train_torch_classifier  # noqa: E402

# Stated tolerances (accuracy on the 450 digits test examples, models trained 3 epochs):
QUANT_TOL = 0.02        # int8 dynamic / static vs float
PRUNE50_TOL = 0.03      # 50% unstructured magnitude pruning, no fine-tuning
STRUCT_TOL = 0.05       # 50% of the channels removed, one epoch of fine-tuning


@pytest.fixture(scope="module")
def task():
    return load_digits_task()


def _acc(module, task):
    with torch.no_grad():
        return float((module(torch.from_numpy(task.X_test)).argmax(1).numpy() == task.y_test).mean())


@pytest.fixture(scope="module")
def cnn(task):
    torch.manual_seed(0)
    m, _ = train_torch_classifier(nets.SmallCNN(), task.X_train, task.y_train, epochs=3, lr=3e-3, seed=0, threads=1)
    return m


@pytest.fixture(scope="module")
def mlp(task):
    torch.manual_seed(0)
    m, _ = train_torch_classifier(nets.MLP(), task.X_train, task.y_train, epochs=3, lr=3e-3, seed=0, threads=1)
    return m


def test_dynamic_int8_keeps_accuracy_and_pickles(mlp, task):
    q, info = V.quantize_dynamic_int8(mlp)
    assert info["quantized_layers"] == 3 and info["quantized_engine"] == torch.backends.quantized.engine
    assert abs(_acc(q, task) - _acc(mlp, task)) <= QUANT_TOL
    c = V.VariantTorchCandidate("mlp.int8dyn", q, float_source=mlp, param_count=17226)
    c2 = pickle.loads(pickle.dumps(c))
    assert np.array_equal(c2.predict(task.X_test), c.predict(task.X_test))
    assert c2.param_count() == 17226
    f = c2.flops(task.X_test[:4])
    assert f.flops_per_sample == pytest.approx(2 * (64 * 128 + 128 * 64 + 64 * 10)) and "float source" in f.notes
    assert len(c2.serialized()) < 0.5 * len(pickle.dumps(mlp.state_dict()))


def test_static_int8_keeps_accuracy_and_rebuilds_identically(cnn, task):
    src = V.SourceModel("cnn", cnn, task.X_train, task.y_train)
    c, _ = V.build_variant(src, V.standard_variants(["int8static"])[0])
    assert c.info["quantization"]["quantized_layers"] >= 2
    assert abs(_acc(c.module, task) - _acc(cnn, task)) <= QUANT_TOL
    c2 = pickle.loads(pickle.dumps(c))  # travels as its recipe; rebuilt deterministically
    assert np.array_equal(c2.predict(task.X_test), c.predict(task.X_test))
    assert c.parent == "cnn/torch" and c.model == "cnn.int8static"


@pytest.mark.parametrize("sparsity", [0.5, 0.8])
def test_unstructured_pruning_zeroes_the_stated_share(cnn, task, sparsity):
    m, info = V.prune_unstructured(cnn, sparsity)
    for _, layer in V._prunable(m):
        share = float((layer.weight == 0).float().mean())
        assert share == pytest.approx(sparsity, abs=0.5 / layer.weight.numel() + 1e-9)
        assert not hasattr(layer, "weight_orig")  # made permanent
    assert info["weight_sparsity"] == pytest.approx(sparsity, abs=1e-3)
    assert info["nonzero_params"] < info["params"]
    flops = V.sparse_aware_flops(m, torch.from_numpy(task.X_test[:2]))
    assert flops["conv_linear_flops_per_sample_nonzero"] == pytest.approx((1 - sparsity) * flops["conv_linear_flops_per_sample_dense"], rel=1e-3)
    if sparsity == 0.5:
        assert abs(_acc(m, task) - _acc(cnn, task)) <= PRUNE50_TOL
    assert int(torch.count_nonzero(V._prunable(cnn)[0][1].weight)) == V._prunable(cnn)[0][1].weight.numel()  # source untouched


def test_structured_pruning_shrinks_the_dense_layers(cnn, task):
    def finetune(m):
        return train_torch_classifier(m, task.X_train, task.y_train, epochs=1, lr=3e-3, seed=0, threads=1)[1]

    m, info = V.prune_structured(cnn, 0.5, torch.from_numpy(task.X_train[:2]), finetune=finetune)
    assert info["channels"] == {"features.1": [16, 8], "features.3": [32, 16]}
    assert m.classifier.in_features == 16 * 16
    assert info["params"] < 0.5 * info["params_before"]
    assert abs(_acc(m, task) - _acc(cnn, task)) <= STRUCT_TOL


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "half"])
def test_sparsity_outside_unit_interval_is_one_line_config_error(cnn, bad):
    with pytest.raises(ConfigError) as exc:
        V.prune_unstructured(cnn, bad)
    assert "[0, 1)" in str(exc.value) and "\n" not in str(exc.value)


def test_distillation_is_the_same_student_with_another_loss(mlp, task):
    def student():
        torch.manual_seed(0)
        return nets.MLP(hidden=(32,))

    labels_only, _ = train_torch_classifier(student(), task.X_train, task.y_train, epochs=2, lr=3e-3, seed=0, threads=1)
    alpha0, _ = V.distil(mlp, student(), task.X_train, task.y_train, alpha=0.0, epochs=2, lr=3e-3, seed=0, threads=1)
    for a, b in zip(labels_only.parameters(), alpha0.parameters()):  # alpha=0: cross-entropy only, identical run
        assert torch.equal(a, b)
    kd, facts = V.distil(mlp, student(), task.X_train, task.y_train, epochs=2, lr=3e-3, seed=0, threads=1)
    assert facts["temperature"] == V.DISTILL_TEMPERATURE and facts["alpha"] == V.DISTILL_ALPHA
    # both students learn; which one is better is reported, not assumed (docs: it did not reliably beat)
    assert _acc(kd, task) > 0.6 and _acc(labels_only, task) > 0.6


def test_distillation_loss_value():
    s = torch.tensor([[2.0, 0.0, -1.0]])
    y = torch.tensor([0])
    ce = torch.nn.functional.cross_entropy(s, y)
    assert float(V.distillation_loss(s, s.clone(), y, 4.0, 0.7)) == pytest.approx(0.3 * float(ce))
    t = torch.tensor([[0.0, 2.0, -1.0]])
    p, q = torch.softmax(t / 2, 1), torch.softmax(s / 2, 1)
    kl = float((p * (p.log() - q.log())).sum())
    assert float(V.distillation_loss(s, t, y, 2.0, 1.0)) == pytest.approx(4 * kl, rel=1e-5)


def test_failing_variant_is_recorded_and_the_others_are_built(task):
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Linear(64, 10))  # one layer: nothing to prune by channels
    src = V.SourceModel("lin", linear, task.X_train, task.y_train, family="linear")
    specs = V.standard_variants(["int8dyn", "prune50s", "distil", "ortnoopt"])
    cands, training, failures = V.build_variants(src, specs)
    assert [c.model for c in cands] == ["lin.int8dyn", "lin.ortnoopt"]
    assert {f.model for f in failures} == {"lin.prune50s", "lin.distil"}
    f = next(f for f in failures if f.model == "lin.prune50s")
    assert "no Conv/Linear layer feeds" in f.error and "\n" not in f.error
    assert training["lin.int8dyn"]["train_time_s"] >= 0 and training["lin.int8dyn"]["variant_of"] == "lin/torch"
    recs = V.failed_records({"lin": {"variant_failures": [x.to_dict() for x in failures]}})
    assert {(r.key, r.status, r.parent) for r in recs} == {("lin.prune50s/torch", "failed", "lin/torch"), ("lin.distil/torch", "failed", "lin/torch")}
    assert all(r.error.startswith("variant build failed") for r in recs)


def test_variant_groups_and_suite_selection():
    from effbench.zoo.digits_suite import VariantEntry, expand_variants, select_specs

    assert V.parse_variant_groups("all") == tuple(V.VARIANT_GROUPS)
    assert V.parse_variant_groups("none") == ()
    assert V.parse_variant_groups("prune, quant") == ("prune", "quant")
    with pytest.raises(ConfigError, match="unknown variant group 'zip'"):
        V.parse_variant_groups("quant,zip")
    names = expand_variants(["logreg", "mlp"], False, ("quant",))
    assert names == ["logreg", "mlp", "mlp.int8dyn", "mlp.int8static"]
    sel = select_specs(["cnn_wide.prune50s"], backends=["torch"])
    assert [(getattr(s, "name"), b) for s, b in sel] == [("cnn_wide", ("torch",)), ("cnn_wide.prune50s", ("torch",))]
    assert isinstance(sel[1][0], VariantEntry) and sel[1][0].family == "neural-network"
    with pytest.raises(ConfigError, match="unknown candidate 'logreg.int8dyn'"):
        select_specs(["logreg.int8dyn"])
