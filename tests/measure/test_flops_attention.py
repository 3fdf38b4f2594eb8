"""Attention, multi-input models and the estimate of uncounted work, against hand counts.

Hand count of attention (2 x MACs per head, batch b, h heads, query length s_q, key length s_k, head
dims d (query/key) and d_v): QK^T = 2 b h s_q s_k d, weights x V = 2 b h s_q s_k d_v.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from effbench.candidates.onnx_convert import torch_to_onnx_bytes  # noqa: E402
from effbench.errors import ConfigError  # noqa: E402
from effbench.measure.flops import FlopCount, count_onnx_flops, count_torch_flops  # noqa: E402
from effbench.measure.flops.common import big_ops  # noqa: E402
from effbench.measure.flops.torch import _SDPA_OPS, _sdpa_flops  # noqa: E402

B, H, S, D = 3, 4, 10, 8  # batch > 1, several heads
E = H * D


def _attention_flops(s_q, s_k, d, d_v, heads=H):
    return 2 * heads * s_q * s_k * d + 2 * heads * s_q * s_k * d_v  # per sample


class _Sdpa(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **self.kwargs)


def _qkv(s_k=S, d_v=D, kv_heads=H):
    torch.manual_seed(0)
    return torch.randn(B, H, S, D), torch.randn(B, kv_heads, s_k, D), torch.randn(B, kv_heads, s_k, d_v)


def test_sdpa_on_cpu_is_counted_with_the_hand_count():
    fc = count_torch_flops(_Sdpa(), _qkv(s_k=7))
    assert fc.flops_per_sample == _attention_flops(S, 7, D, D) == 2 * 4 * 10 * 7 * 8 * 2
    assert fc.counted_ops == {"aten._scaled_dot_product_flash_attention_for_cpu": fc.flops_per_sample}
    assert fc.uncounted_ops == {} and fc.coverage == 1.0 and fc.missing_big_ops == []


def test_value_head_dim_other_than_the_query_one():
    fc = count_torch_flops(_Sdpa(), _qkv(s_k=7, d_v=5))  # the CPU flash kernel falls back to the math path
    assert fc.flops_per_sample == _attention_flops(S, 7, D, 5) == 2 * 4 * 10 * 7 * (8 + 5)


@pytest.mark.parametrize("kwargs", [{"is_causal": True}, {"attn_mask": torch.ones(S, S, dtype=torch.bool).tril()}])
def test_causal_and_masked_attention_are_counted_dense(kwargs):
    fc = count_torch_flops(_Sdpa(**kwargs), _qkv())
    assert fc.flops_per_sample == _attention_flops(S, S, D, D)


def test_math_path_counts_the_same_through_bmm():
    with sdpa_kernel(SDPBackend.MATH):
        fc = count_torch_flops(_Sdpa(), _qkv())
    assert fc.flops_per_sample == _attention_flops(S, S, D, D)
    assert set(fc.counted_ops) == {"aten.bmm"}


def test_grouped_query_attention():
    fc = count_torch_flops(_Sdpa(enable_gqa=True), _qkv(kv_heads=2))
    assert fc.flops_per_sample == _attention_flops(S, S, D, D)  # kv heads broadcast to the 4 query heads


def test_every_device_kernel_has_a_formula():
    """The CUDA, XPU/HPU, MPS and CPU kernels all count (torch's registry or this counter's formula)."""
    from torch.utils.flop_counter import flop_registry

    from effbench.measure.flops.torch import _custom_formulas

    known = set(flop_registry) | set(_custom_formulas())
    for name in _SDPA_OPS:
        assert getattr(torch.ops.aten, name) in known, name
    q, k, v = (B, H, S, D), (B, 2, 7, D), (B, 2, 7, 5)  # the formula on shapes (GQA, s_k != s_q, d_v != d)
    assert _sdpa_flops(q, k, v) == B * _attention_flops(S, 7, D, 5)


class _Mha(nn.Module):
    def __init__(self, need_weights):
        super().__init__()
        torch.manual_seed(0)
        self.attn = nn.MultiheadAttention(E, H, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x):
        return self.attn(x, x, x, need_weights=self.need_weights)[0]


def _mha_hand_count():
    projections = 3 * 2 * S * E * E + 2 * S * E * E  # q, k, v in-projections and the out-projection
    return projections + _attention_flops(S, S, D, D)


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_hand_count(need_weights):
    x = torch.randn(B, S, E)
    fc = count_torch_flops(_Mha(need_weights), x)
    assert fc.flops_per_sample == _mha_hand_count() == 94720
    assert torch.backends.mha.get_fastpath_enabled()  # turned off only while counting


def test_onnx_count_of_the_exported_attention_agrees():
    """ONNX counts the exported MatMul/Gemm nodes; both counts are exact (tolerance 0): same products."""
    model = _Mha(False)
    x = torch.randn(B, S, E)
    graph = torch_to_onnx_bytes(model, x)
    on_onnx = count_onnx_flops(graph, (S, E))
    assert on_onnx.flops_per_sample == count_torch_flops(model, x).flops_per_sample == _mha_hand_count()
    assert on_onnx.missing_big_ops == []


def test_transformer_encoder_layer_hand_count():
    """Its fused fast path (``_transformer_encoder_layer_fwd``) is off while counting: every product counts."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=64, batch_first=True, dropout=0.0)
    fc = count_torch_flops(layer, torch.randn(B, S, E))
    ffn = 2 * S * E * 64 * 2
    assert fc.flops_per_sample == _mha_hand_count() + ffn
    assert fc.missing_big_ops == []


def _attention_graph(q_shape, kv_shape, **attrs):
    from onnx import TensorProto, helper

    node = helper.make_node("Attention", ["q", "k", "v"], ["y"], **attrs)
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", *s]) for n, s in (("q", q_shape), ("k", kv_shape), ("v", kv_shape))]
    graph = helper.make_graph([node], "attention", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def test_onnx_attention_op_4d_and_3d():
    four = _attention_graph((H, S, D), (H, 7, D))
    fc = count_onnx_flops(four, {"q": (H, S, D), "k": (H, 7, D), "v": (H, 7, D)})
    assert fc.flops_per_sample == _attention_flops(S, 7, D, D)
    three = _attention_graph((S, E), (7, E), q_num_heads=H, kv_num_heads=H)
    fc = count_onnx_flops(three, {"q": (S, E), "k": (7, E), "v": (7, E)})
    assert fc.flops_per_sample == _attention_flops(S, 7, D, D)


class _TwoInputs(nn.Module):
    """A token classifier: int64 ids and a float mask, as keyword inputs."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(50, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, input_ids, attention_mask):
        h = self.embed(input_ids) * attention_mask.unsqueeze(-1)
        return self.head(h.mean(dim=1))


def _ids(batch=2, length=12):
    rng = np.random.default_rng(0)
    return {"input_ids": rng.integers(0, 50, size=(batch, length), dtype=np.int64),
            "attention_mask": np.ones((batch, length), dtype=np.float32)}


def test_torch_counter_takes_a_dict_of_named_inputs():
    inputs = _ids()
    fc = count_torch_flops(_TwoInputs(), inputs)
    assert fc.counted_ops == {"aten.addmm": 2 * 16 * 3}
    as_tensors = count_torch_flops(_TwoInputs(), {k: torch.from_numpy(v) for k, v in inputs.items()})
    assert as_tensors.flops_per_sample == fc.flops_per_sample
    assert fc.uncounted_work_flops == fc.uncounted_elements["aten.mean"] + fc.uncounted_elements["aten.mul"]
    assert fc.uncounted_elements["aten.mul"] == 12 * 16  # the (12, 16) embedding times the mask, per sample


def test_onnx_counter_takes_a_dict_of_input_shapes():
    model, inputs = _TwoInputs(), _ids()
    from onnx import TensorProto

    # the ONNX exporter of this build gets positional inputs; name them as the model's arguments
    graph = onnx.load_from_string(torch_to_onnx_bytes(model, (torch.from_numpy(inputs["input_ids"]),
                                                                torch.from_numpy(inputs["attention_mask"]))))
    assert [i.name for i in graph.graph.input] == ["input", "input_1"]
    assert graph.graph.input[0].type.tensor_type.elem_type == TensorProto.INT64
    fc = count_onnx_flops(graph, {"input": (12,), "input_1": (12,)})
    assert fc.flops_per_sample == 2 * 16 * 3
    with pytest.raises(ConfigError, match=r"missing \['input_1'\]"):
        count_onnx_flops(graph, {"input": (12,)})
    with pytest.raises(ConfigError, match="does not have"):
        count_onnx_flops(graph, {"input": (12,), "input_1": (12,), "ids": (12,)})
    with pytest.raises(ConfigError, match="several inputs"):
        count_onnx_flops(graph, (12,))


def test_dict_input_errors():
    with pytest.raises(ConfigError, match="empty dict"):
        count_torch_flops(_TwoInputs(), {})
    bad = _ids()
    bad["attention_mask"] = bad["attention_mask"][:1]
    with pytest.raises(ConfigError, match="one batch size"):
        count_torch_flops(_TwoInputs(), bad)
    with pytest.raises(ConfigError, match=r"example_input\['input_ids'\]"):
        count_torch_flops(_TwoInputs(), {"input_ids": [1, 2], "attention_mask": np.ones((1, 2))})


def test_uncounted_work_share_from_element_counts():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU())
    fc = count_torch_flops(model, torch.randn(4, 10))
    assert fc.flops_per_sample == 2 * 10 * 20
    assert fc.uncounted_elements == {"aten.relu": 20.0}  # one FLOP per output element, per sample
    assert fc.uncounted_work_share == pytest.approx(20 / (400 + 20))
    assert fc.coverage == 0.5  # by op calls: 1 of 2; by work the count misses under 5%
    d = fc.to_dict()
    assert d["uncounted_work_share"] == fc.uncounted_work_share and d["uncounted_work_flops"] == 20.0
    assert d["missing_big_ops"] == [] and d["uncounted_work"] == {"aten.relu": 20.0}


def test_share_is_unknown_when_an_op_has_no_estimate():
    fc = FlopCount(10.0, "m", {"mm": 10.0}, {"aten.relu": 1, "aten.x": 2}, 0.5, uncounted_elements={"aten.relu": 5.0})
    assert fc.uncounted_work_flops is None and fc.uncounted_work_share is None
    assert FlopCount(0.0, "m", {}, {}, 1.0).uncounted_work_share == 0.0


def test_big_ops_are_named():
    names = ["aten._scaled_dot_product_flash_attention_for_cpu", "quantized.linear_dynamic", "aten.relu",
             "aten.addmm", "aten.mean", "LSTM", "ConvInteger", "Softmax", "aten.cumsum", "com.microsoft.Attention"]
    assert big_ops(names) == ["ConvInteger", "LSTM", "aten._scaled_dot_product_flash_attention_for_cpu", "aten.addmm",
                              "com.microsoft.Attention", "quantized.linear_dynamic"]


def test_candidates_count_flops_on_a_dict_batch():
    """The registry's counters (what the worker calls) take a dict batch on both backends."""
    from effbench.candidates.onnx_adapter import OnnxCandidate
    from effbench.candidates.torch_adapter import TorchCandidate

    model, inputs = _TwoInputs(), _ids()
    on_torch = TorchCandidate("two", model).flops(inputs)
    graph = torch_to_onnx_bytes(model, (torch.from_numpy(inputs["input_ids"]), torch.from_numpy(inputs["attention_mask"])))
    on_onnx = OnnxCandidate("two", graph).flops({"input": inputs["input_ids"], "input_1": inputs["attention_mask"]})
    assert on_torch.flops_per_sample == on_onnx.flops_per_sample == 2 * 16 * 3


def test_quantised_linear_and_conv_count_as_their_float_source():
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    dynamic = torch.ao.quantization.quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
    fc = count_torch_flops(dynamic, torch.randn(2, 64))
    assert fc.counted_ops == {"quantized.linear_dynamic": 2 * (64 * 256 + 256 * 10)}
    assert fc.missing_big_ops == []

    class _Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.conv, self.dequant = QuantStub(), nn.Conv2d(4, 8, 3, groups=2), DeQuantStub()

        def forward(self, x):
            return self.dequant(self.conv(self.quant(x)))

    model = _Conv().eval()
    model.qconfig = get_default_qconfig("fbgemm")
    prepared = prepare(model)
    prepared(torch.randn(2, 4, 8, 8))
    static = convert(prepared)
    fc = count_torch_flops(static, torch.randn(2, 4, 8, 8))
    assert fc.counted_ops == {"quantized.conv2d": 2 * (8 * 6 * 6) * (2 * 3 * 3)}  # output x (C / groups) x kernel
