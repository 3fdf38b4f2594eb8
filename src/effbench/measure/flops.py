"""FLOP counts per input sample, for PyTorch modules, ONNX graphs and scikit-learn estimators.

Every count is *analytic* (counted from the model, never measured) and says what it covered:

- ``counted_ops``: op type -> FLOPs per sample that were counted;
- ``uncounted_ops``: op type -> calls (torch) / graph nodes (ONNX) / formula terms (scikit-learn)
  executed per forward whose FLOPs were *not* counted (activations, pooling, softmax, exp, ...);
- ``zero_flop_ops``: ops that only move, reshape or allocate data (views, reshape, cat, cast...):
  they do no arithmetic, so they count neither for nor against ``coverage``;
- ``coverage``: the share of counted op calls / nodes / terms among those that do arithmetic.

Convention everywhere: FLOPs = 2 x MACs (``torch.utils.flop_counter``'s convention); bias adds fused
into a matmul or convolution are not counted (as torch's ``addmm`` count); a tree-node comparison is
one FLOP. See ``docs/flops.md``.

torch, onnx and scikit-learn are imported inside the functions (lazy heavy imports).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from effbench.errors import CandidateError, ConfigError, DataError

__all__ = [
    "CONVENTION",
    "FlopCount",
    "count_onnx_flops",
    "count_sklearn_flops",
    "count_torch_flops",
    "supported_sklearn_estimators",
]

CONVENTION = (
    "FLOPs = 2 x MACs (a multiply-accumulate is 2 FLOPs); bias/intercept adds fused into a matmul, "
    "Gemm or convolution are not counted (as torch.utils.flop_counter's addmm/convolution); "
    "a tree-node comparison = 1 FLOP; a squared-distance term (subtract, square, add) = 3 FLOPs per "
    "feature; scikit-learn preprocessing (scaler, PCA centering) counts 1 FLOP per elementwise "
    "arithmetic op; activations, normalisation, pooling, softmax, exp, argmax, voting and sorting "
    "are listed as uncounted; data movement (views, reshape, concat, cast, gather) is zero FLOPs"
)

METHOD_TORCH = "torch.utils.flop_counter.FlopCounterMode"
METHOD_ONNX = "onnx-graph"
METHOD_SKLEARN = "sklearn-analytic"


@dataclass(frozen=True)
class FlopCount:
    """FLOPs per input sample, with what was and was not counted. Provenance is always analytic."""

    flops_per_sample: float
    method: str
    counted_ops: dict[str, float]
    uncounted_ops: dict[str, int]
    coverage: float
    zero_flop_ops: dict[str, int] = field(default_factory=dict)
    provenance: str = "analytic"
    convention: str = CONVENTION
    notes: str = ""

    def __post_init__(self):
        if not (0.0 <= self.coverage <= 1.0):
            raise ConfigError(f"FlopCount.coverage must lie in [0, 1], got {self.coverage!r}")
        if not (self.flops_per_sample >= 0.0):
            raise ConfigError(f"FlopCount.flops_per_sample must be >= 0, got {self.flops_per_sample!r}")
        if self.provenance != "analytic":
            raise ConfigError(f"FlopCount.provenance must be 'analytic' (counted, not measured), got {self.provenance!r}")

    def to_dict(self) -> dict:
        return {
            "flops_per_sample": float(self.flops_per_sample),
            "method": self.method,
            "provenance": self.provenance,
            "convention": self.convention,
            "counted_ops": {k: float(v) for k, v in self.counted_ops.items()},
            "uncounted_ops": {k: int(v) for k, v in self.uncounted_ops.items()},
            "zero_flop_ops": {k: int(v) for k, v in self.zero_flop_ops.items()},
            "coverage": float(self.coverage),
            "notes": self.notes,
        }


def _coverage(n_counted: float, n_uncounted: float) -> float:
    total = n_counted + n_uncounted
    return 1.0 if total == 0 else float(n_counted) / float(total)


def _join_notes(notes) -> str:
    seen, out = set(), []
    for n in notes:
        if n and n not in seen:
            seen.add(n)
            out.append(n)
    return "; ".join(out)


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------

# Metadata queries: not computations at all, ignored.
_TORCH_METADATA_OPS = frozenset(
    {
        "aten.size", "aten.sym_size", "aten.stride", "aten.sym_stride", "aten.numel", "aten.sym_numel",
        "aten.dim", "aten.is_contiguous", "aten.sym_is_contiguous", "aten.storage_offset",
        "aten.sym_storage_offset", "aten.is_strides_like_format", "aten.is_non_overlapping_and_dense",
        "prim.layout", "prim.device",
    }
)
# Ops that allocate, copy or move data without arithmetic (views are detected with ``func.is_view``).
_TORCH_ZERO_FLOP_OPS = frozenset(
    {
        "aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty", "aten.new_empty_strided",
        "aten.zeros", "aten.zeros_like", "aten.new_zeros", "aten.ones", "aten.ones_like", "aten.new_ones",
        "aten.full", "aten.full_like", "aten.new_full", "aten.fill", "aten.fill_", "aten.zero_",
        "aten.clone", "aten.copy", "aten.copy_", "aten._to_copy", "aten.to", "aten.contiguous",
        "aten.detach", "aten.alias", "aten._unsafe_view", "aten.lift_fresh", "aten.lift_fresh_copy",
        "aten.cat", "aten.stack", "aten.split", "aten.split_with_sizes", "aten.unbind", "aten.chunk",
        "aten.index_select", "aten.gather", "aten.embedding", "aten.repeat", "aten.flip", "aten.roll",
        "aten.constant_pad_nd", "aten.scalar_tensor", "aten.arange", "aten._local_scalar_dense",
    }
)


def _torch_args(example_input):
    import torch

    if isinstance(example_input, torch.Tensor):
        args = (example_input,)
    elif isinstance(example_input, (tuple, list)) and example_input and all(
        isinstance(a, torch.Tensor) for a in example_input
    ):
        args = tuple(example_input)
    else:
        raise ConfigError(
            "example_input must be a torch.Tensor or a non-empty tuple of tensors with the batch on dim 0, "
            f"got {type(example_input).__name__}"
        )
    if args[0].dim() == 0 or args[0].shape[0] < 1:
        raise ConfigError(
            f"example_input must have a batch dimension of size >= 1 on dim 0, got shape {tuple(args[0].shape)}"
        )
    return args


def count_torch_flops(module, example_input) -> FlopCount:
    """Count FLOPs per sample of ``module(example_input)`` with ``torch.utils.flop_counter``.

    ``example_input`` is a batch (tensor, or tuple of tensors, batch on dim 0); the counts are divided
    by its batch size. The module runs once in eval mode under ``torch.no_grad()`` (its training flag
    is restored afterwards). A recording dispatch mode placed under the counter lists every aten op
    that the counter executed but has no formula for (``uncounted_ops``, calls per forward).
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    if not isinstance(module, torch.nn.Module) and not callable(module):
        raise ConfigError(f"module must be a torch.nn.Module or a callable, got {type(module).__name__}")
    args = _torch_args(example_input)
    batch = int(args[0].shape[0])

    class _OpRecorder(TorchDispatchMode):
        """Records the leaf aten ops that reach it (after the flop counter's decompositions)."""

        def __init__(self):
            super().__init__()
            self.counted: Counter = Counter()
            self.uncounted: Counter = Counter()
            self.zero: Counter = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            packet = getattr(func, "overloadpacket", func)
            name = str(packet)
            if name not in _TORCH_METADATA_OPS:
                if packet in flop_registry:
                    self.counted[name] += 1
                elif getattr(func, "is_view", False) or name in _TORCH_ZERO_FLOP_OPS:
                    self.zero[name] += 1
                else:
                    self.uncounted[name] += 1
            return func(*args, **(kwargs or {}))

    modes = {m: m.training for m in module.modules()} if isinstance(module, torch.nn.Module) else {}
    if isinstance(module, torch.nn.Module):
        module.eval()
    recorder = _OpRecorder()
    try:
        # The recorder is entered first, so it sits *under* the counter: it sees exactly the ops the
        # counter executes (after the counter has decomposed the ops it has no formula for).
        with torch.no_grad(), recorder, FlopCounterMode(display=False) as counter:
            module(*args)
    except (RuntimeError, TypeError, IndexError) as exc:
        raise CandidateError(
            f"{type(module).__name__} failed to run on example_input of shape {tuple(args[0].shape)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    finally:
        for m, training in modes.items():
            m.training = training

    counted_ops = {
        str(k): float(v) / batch for k, v in counter.get_flop_counts().get("Global", {}).items()
    }
    for name in recorder.counted:  # ops with a formula that gave 0 FLOPs still count as covered
        counted_ops.setdefault(name, 0.0)
    total = float(sum(counted_ops.values()))
    n_counted = sum(recorder.counted.values())
    n_uncounted = sum(recorder.uncounted.values())
    notes = [
        f"counted on a batch of {batch}, divided by {batch}",
        "uncounted_ops and zero_flop_ops are aten op calls per forward of that batch",
    ]
    return FlopCount(
        flops_per_sample=total,
        method=METHOD_TORCH,
        counted_ops=counted_ops,
        uncounted_ops=dict(sorted(recorder.uncounted.items())),
        zero_flop_ops=dict(sorted(recorder.zero.items())),
        coverage=_coverage(n_counted, n_uncounted),
        notes=_join_notes(notes),
    )


# --------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------

_ONNX_ZERO_FLOP_OPS = frozenset(
    {
        "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size",
        "Constant", "ConstantOfShape", "Gather", "GatherElements", "GatherND", "Concat", "Slice",
        "Split", "Expand", "Tile", "Pad", "Cast", "CastLike", "Dropout", "DepthToSpace", "SpaceToDepth",
        "ai.onnx.ml.ZipMap", "ai.onnx.ml.ArrayFeatureExtractor", "ai.onnx.ml.CastMap",
    }
)
# Ops whose cost depends on the data path (trees) or on kernels the graph does not expose.
_ONNX_DATA_DEPENDENT_OPS = frozenset(
    {
        "ai.onnx.ml.TreeEnsembleClassifier", "ai.onnx.ml.TreeEnsembleRegressor", "ai.onnx.ml.TreeEnsemble",
        "ai.onnx.ml.SVMClassifier", "ai.onnx.ml.SVMRegressor",
    }
)
_ONNX_SUBGRAPH_OPS = frozenset({"If", "Loop", "Scan"})


def _onnx_key(node) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"


def _load_onnx(model):
    import onnx

    if isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
        return proto
    if isinstance(model, (bytes, bytearray, memoryview)):
        try:
            return onnx.load_from_string(bytes(model))
        except Exception as exc:  # protobuf DecodeError and friends
            raise DataError(f"model bytes are not a valid ONNX ModelProto ({type(exc).__name__}: {exc})") from exc
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise ConfigError(f"model must be ONNX bytes, an onnx.ModelProto or an existing .onnx file, got missing path {path!r}")
        try:
            return onnx.load(path)
        except Exception as exc:
            raise DataError(f"file {path!r} is not a valid ONNX model ({type(exc).__name__}: {exc})") from exc
    raise ConfigError(f"model must be ONNX bytes, a path or an onnx.ModelProto, got {type(model).__name__}")


def _fix_input_shape(proto, sample_shape, input_name):
    """Set the input's shape to (batch, *sample_shape); batch = 1 unless the graph fixes it.

    Returns (batch, input name, sample_shape as a tuple of ints)."""
    initializers = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    names = [i.name for i in inputs]
    if input_name is None:
        if len(inputs) != 1:
            raise ConfigError(f"input_name is required when the graph has several inputs: one of {names}, got None")
        value = inputs[0]
    else:
        matches = [i for i in inputs if i.name == input_name]
        if not matches:
            raise ConfigError(f"input_name must be one of the graph inputs {names}, got {input_name!r}")
        value = matches[0]
    try:
        sample_shape = tuple(int(d) for d in sample_shape)
    except (TypeError, ValueError):
        raise ConfigError(f"sample_shape must be a tuple of positive ints (shape of one sample), got {sample_shape!r}") from None
    if any(d < 1 for d in sample_shape):
        raise ConfigError(f"sample_shape must be a tuple of positive ints (shape of one sample), got {sample_shape!r}")
    ttype = value.type.tensor_type
    dims = ttype.shape.dim if ttype.HasField("shape") else None
    if dims is not None and len(dims) and len(dims) != 1 + len(sample_shape):
        raise ConfigError(
            f"sample_shape must have rank {len(dims) - 1} for input {value.name!r} (graph rank {len(dims)} "
            f"with the batch), got {sample_shape!r}"
        )
    batch = 1
    if dims is not None and len(dims) and dims[0].HasField("dim_value") and dims[0].dim_value > 0:
        batch = int(dims[0].dim_value)
    if dims is not None and len(dims):
        for i, d in enumerate(dims[1:]):
            if d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != sample_shape[i]:
                raise ConfigError(
                    f"sample_shape[{i}] must be {d.dim_value} for input {value.name!r} (fixed in the graph), "
                    f"got {sample_shape!r}"
                )
    ttype.shape.Clear()
    for d in (batch, *sample_shape):
        ttype.shape.dim.add().dim_value = int(d)
    return batch, value.name, sample_shape


def _onnx_shapes(proto) -> dict[str, tuple[int, ...] | None]:
    shapes: dict[str, tuple[int, ...] | None] = {}

    def from_value_info(vi):
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            return None
        dims = []
        for d in t.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            else:
                return None
        return tuple(dims)

    g = proto.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = from_value_info(vi)
    for t in g.initializer:
        shapes[t.name] = tuple(int(d) for d in t.dims)
    for node in g.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = tuple(int(d) for d in a.t.dims)
    return shapes


def _shapes_by_running(proto, shapes, names, input_name, input_shape, notes) -> None:
    """Fill ``shapes`` for ``names`` that static inference left unknown (e.g. a Reshape whose target is
    computed with Div) by running the graph once in onnxruntime on a zero input of ``input_shape``."""
    try:
        import onnxruntime as ort
    except ImportError:
        notes.append("some shapes stayed unknown after onnx shape inference and onnxruntime is not installed to resolve them")
        return
    import onnx

    graph_inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(graph_inputs) != 1:
        notes.append("some shapes stayed unknown after onnx shape inference; the graph has several inputs, not run")
        return
    elem_type = graph_inputs[0].type.tensor_type.elem_type
    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    existing = {o.name for o in probe.graph.output}
    wanted = sorted(names)
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in wanted if n not in existing)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feed = {input_name: np.zeros(input_shape, dtype=onnx.helper.tensor_dtype_to_np_dtype(elem_type))}
        values = session.run(wanted, feed)
    except Exception as exc:  # onnxruntime raises its own exception types; recorded, not hidden
        notes.append(f"some shapes stayed unknown after onnx shape inference; running the graph to find them failed ({type(exc).__name__}: {exc})")
        return
    for n, v in zip(wanted, values):
        shapes[n] = tuple(int(d) for d in np.shape(v))
    notes.append(
        f"{len(wanted)} tensor shapes unknown to onnx shape inference were read by running the graph once "
        "in onnxruntime on a zero input"
    )


def _attr(node, name, default=None):
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _shape(shapes, names, i):
    if i >= len(names) or not names[i]:
        return None
    return shapes.get(names[i])


def _matmul_flops(node, shapes, a_idx=0):
    a, y = _shape(shapes, node.input, a_idx), _shape(shapes, node.output, 0)
    if a is None or y is None or len(a) == 0:
        return None
    return 2.0 * math.prod(y) * a[-1]


def _gemm_flops(node, shapes):
    a, y = _shape(shapes, node.input, 0), _shape(shapes, node.output, 0)
    if a is None or y is None or len(a) != 2:
        return None
    k = a[0] if _attr(node, "transA", 0) else a[1]
    return 2.0 * math.prod(y) * k


def _conv_flops(node, shapes, w_idx=1):
    w, y = _shape(shapes, node.input, w_idx), _shape(shapes, node.output, 0)
    if w is None or y is None or len(w) < 3:
        return None
    # W is (M, C/group, k...): each output element is C/group x prod(k) MACs.
    return 2.0 * math.prod(y) * math.prod(w[1:])


def _conv_transpose_flops(node, shapes):
    x, w = _shape(shapes, node.input, 0), _shape(shapes, node.input, 1)
    if x is None or w is None or len(x) < 3:
        return None
    # torch's formula for transposed convolutions: every input element meets the whole (C, M/group, k...) kernel.
    return 2.0 * x[0] * math.prod(x[2:]) * math.prod(w)


def _linear_ml_flops(node, shapes):
    coefficients = _attr(node, "coefficients")
    x = _shape(shapes, node.input, 0)
    if coefficients is None or x is None or len(x) == 0:
        return None
    rows = math.prod(x[:-1]) if len(x) > 1 else 1
    return 2.0 * len(coefficients) * rows


def _scaler_ml_flops(node, shapes):
    x = _shape(shapes, node.input, 0)
    return None if x is None else 2.0 * math.prod(x)  # (x - offset) * scale


_ONNX_COUNTERS: dict[str, Callable] = {
    "MatMul": _matmul_flops,
    "MatMulInteger": _matmul_flops,
    "QLinearMatMul": lambda n, s: _matmul_flops(n, s, a_idx=0),
    "Gemm": _gemm_flops,
    "Conv": _conv_flops,
    "ConvInteger": _conv_flops,
    "QLinearConv": lambda n, s: _conv_flops(n, s, w_idx=3),
    "ConvTranspose": _conv_transpose_flops,
    "ai.onnx.ml.LinearClassifier": _linear_ml_flops,
    "ai.onnx.ml.LinearRegressor": _linear_ml_flops,
    "ai.onnx.ml.Scaler": _scaler_ml_flops,
}


def count_onnx_flops(model, sample_shape, *, input_name=None) -> FlopCount:
    """Count FLOPs per sample of an ONNX graph by walking its nodes.

    ``model``: ONNX bytes, a path or an ``onnx.ModelProto`` (not modified). ``sample_shape``: the
    shape of one sample, without the batch (e.g. ``(64,)`` or ``(1, 8, 8)``). The batch dimension is
    fixed to 1 (or to the graph's own static batch, then divided out) and ``onnx.shape_inference`` gives
    every tensor's shape. MatMul, Gemm, Conv (groups included), ConvTranspose, their integer/QLinear
    variants and the ML-domain LinearClassifier/LinearRegressor/Scaler are counted with torch's
    convention; every other node type is listed in ``uncounted_ops`` (or ``zero_flop_ops``).
    Subgraphs (If/Loop/Scan bodies) are not walked.
    """
    import onnx

    proto = _load_onnx(model)
    batch, input_name, sample_shape = _fix_input_shape(proto, sample_shape, input_name)
    notes = []
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False, data_prop=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as exc:
        inferred = proto
        notes.append(f"onnx shape inference failed ({exc}); only declared shapes were used")
    shapes = _onnx_shapes(inferred)
    unresolved = {
        name
        for node in inferred.graph.node
        if _onnx_key(node) in _ONNX_COUNTERS and _ONNX_COUNTERS[_onnx_key(node)](node, shapes) is None
        for name in list(node.input) + list(node.output)
        if name and shapes.get(name) is None
    }
    if unresolved:
        _shapes_by_running(inferred, shapes, unresolved, input_name, (batch, *sample_shape), notes)

    counted: dict[str, float] = {}
    uncounted: Counter = Counter()
    zero: Counter = Counter()
    n_counted = 0
    # Tensors known before any input data flows: initializers, Constant outputs, shapes of tensors,
    # and whatever is computed from those only (e.g. c // groups for a channel shuffle's Reshape).
    static = {t.name for t in inferred.graph.initializer}
    n_shape_nodes = 0
    for node in inferred.graph.node:
        key = _onnx_key(node)
        if node.op_type in ("Shape", "Size", "Constant") or (
            node.input and all((not i) or i in static for i in node.input)
        ):
            static.update(node.output)
            if key not in _ONNX_ZERO_FLOP_OPS and key not in _ONNX_COUNTERS:
                zero[f"{key} (shape)"] += 1
                n_shape_nodes += 1
                continue
        counter = _ONNX_COUNTERS.get(key)
        if counter is not None:
            flops = counter(node, shapes)
            if flops is None:
                uncounted[key] += 1
                notes.append(f"{key} node {node.name or node.output[0]!r}: shapes unknown after inference, not counted")
            else:
                counted[key] = counted.get(key, 0.0) + flops / batch
                n_counted += 1
        elif key in _ONNX_ZERO_FLOP_OPS:
            zero[key] += 1
        else:
            uncounted[key] += 1
            if key in _ONNX_DATA_DEPENDENT_OPS:
                notes.append(
                    f"{key}: cost depends on the path each sample takes (trees) or on kernel internals (SVM); "
                    "not countable from the graph alone, use count_sklearn_flops on the source estimator"
                )
            elif key in _ONNX_SUBGRAPH_OPS:
                notes.append(f"{key}: its subgraph is not walked, the FLOPs inside it are not counted")
    if "ai.onnx.ml.LinearClassifier" in counted:
        notes.append(
            "LinearClassifier counts every coefficient row it holds; skl2onnx writes 2 rows for a binary "
            "classifier, so its count is twice scikit-learn's 1-row decision function"
        )
    if n_shape_nodes:
        notes.append(
            f"{n_shape_nodes} nodes compute only on constants or tensor shapes (listed as 'op (shape)' in "
            "zero_flop_ops): no per-sample arithmetic"
        )
    if batch != 1:
        notes.append(f"the graph fixes the batch to {batch}; counts divided by {batch}")
    notes.append("uncounted_ops and zero_flop_ops are graph nodes per forward (top-level graph)")
    return FlopCount(
        flops_per_sample=float(sum(counted.values())),
        method=METHOD_ONNX,
        counted_ops=counted,
        uncounted_ops=dict(sorted(uncounted.items())),
        zero_flop_ops=dict(sorted(zero.items())),
        coverage=_coverage(n_counted, sum(uncounted.values())),
        notes=_join_notes(notes),
    )


# --------------------------------------------------------------------------------------------
# scikit-learn (analytic formulas, averaged over the rows of X where the path is data-dependent)
# --------------------------------------------------------------------------------------------


@dataclass
class _Terms:
    counted: dict[str, float] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _is_classifier(est) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(est))


def _linear_terms(est, X) -> _Terms:
    coef = est.coef_
    shape = coef.shape if hasattr(coef, "shape") else np.shape(coef)
    n_out, n_features = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
    t = _Terms(counted={"matmul": 2.0 * n_features * n_out})
    t.notes.append(f"{type(est).__name__}: X @ coef_.T is 2 x {n_features} features x {n_out} outputs; intercept add not counted")
    if _is_classifier(est):
        has_proba = hasattr(est, "predict_proba")
        if n_out == 1:
            t.uncounted["threshold"] = 1
            if has_proba:
                t.uncounted["sigmoid"] = 1
        else:
            t.uncounted["argmax"] = 1
            if has_proba:
                t.uncounted["softmax"] = 1
        t.notes.append("predict uses argmax/threshold, predict_proba softmax/sigmoid: both listed uncounted")
    return t


def _decision_path_internal_nodes(est, X, n_trees):
    """Mean number of internal nodes (comparisons) visited per sample over all trees."""
    path = est.decision_path(X)
    indicator = path[0] if isinstance(path, tuple) else path
    nodes_per_sample = np.asarray(indicator.sum(axis=1)).ravel()
    return float(nodes_per_sample.mean()) - n_trees  # one leaf per tree is visited, not compared


def _tree_terms(est, X) -> _Terms:
    estimators = getattr(est, "estimators_", None)
    n_trees = len(estimators) if estimators is not None else 1
    t = _Terms(counted={"node_comparisons": _decision_path_internal_nodes(est, X, n_trees)})
    t.notes.append(
        f"{type(est).__name__}: internal nodes visited per sample (decision_path), averaged over {len(X)} rows; "
        "1 comparison = 1 FLOP; leaf lookup is a memory read"
    )
    if _is_classifier(est):
        n_classes = est.n_classes_
        width = int(np.sum(n_classes)) if np.ndim(n_classes) else int(n_classes)
        t.uncounted["argmax"] = 1
    else:
        width = int(getattr(est, "n_outputs_", 1))
    if estimators is not None:
        # sklearn accumulates each tree's output (n_trees x width adds) then divides by n_trees (width divs).
        t.counted["average_adds"] = float(n_trees * width + width)
        t.notes.append(f"averaging {n_trees} trees: {n_trees} x {width} adds + {width} divisions")
    return t


_HGB_FIELDS = ("feature_idx", "num_threshold", "left", "right", "is_leaf", "missing_go_to_left")


def _hgb_traverse(nodes, X):
    """Route every row of X down one HistGradientBoosting TreePredictor (raw, non-binned data).

    Mirrors ``_predict_one_from_raw_data``: NaN follows ``missing_go_to_left``, else ``x <= num_threshold``
    goes left. Returns (leaf index per row, comparisons per row).
    """
    feat = nodes["feature_idx"].astype(np.intp)
    thr = nodes["num_threshold"]
    left = nodes["left"].astype(np.intp)
    right = nodes["right"].astype(np.intp)
    is_leaf = nodes["is_leaf"].astype(bool)
    mgl = nodes["missing_go_to_left"].astype(bool)
    n = X.shape[0]
    idx = np.zeros(n, dtype=np.intp)
    comps = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(~is_leaf[idx])
    while active.size:
        node = idx[active]
        v = X[active, feat[node]]
        go_left = np.where(np.isnan(v), mgl[node], v <= thr[node])
        idx[active] = np.where(go_left, left[node], right[node])
        comps[active] += 1
        active = active[~is_leaf[idx[active]]]
    return idx, comps


def _hgb_predictors(est):
    predictors = getattr(est, "_predictors", None)
    if not isinstance(predictors, list) or not predictors or not all(isinstance(p, list) for p in predictors):
        import sklearn

        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__}: the private attribute _predictors (list of lists of "
            f"TreePredictor) is missing or changed in scikit-learn {sklearn.__version__}"
        )
    for it in predictors:
        for p in it:
            nodes = getattr(p, "nodes", None)
            names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
            missing = [f for f in _HGB_FIELDS if f not in names]
            if missing:
                raise CandidateError(
                    f"cannot count FLOPs of {type(est).__name__}: TreePredictor.nodes lacks fields {missing} "
                    "in this scikit-learn version"
                )
            if "is_categorical" in names and np.any(nodes["is_categorical"]):
                raise CandidateError(
                    f"cannot count FLOPs of {type(est).__name__}: categorical splits are not supported, "
                    "only numeric thresholds"
                )
    return predictors


def _hgb_raw_X(est, X):
    preprocess = getattr(est, "_preprocess_X", None)
    raw = preprocess(X, reset=False) if callable(preprocess) else X
    return np.ascontiguousarray(raw, dtype=np.float64)


def _hgb_terms(est, X) -> _Terms:
    predictors = _hgb_predictors(est)
    Xr = _hgb_raw_X(est, X)
    comps = np.zeros(Xr.shape[0], dtype=np.float64)
    for it in predictors:
        for p in it:
            comps += _hgb_traverse(p.nodes, Xr)[1]
    n_iter, k = len(predictors), len(predictors[0])
    t = _Terms(
        counted={
            "node_comparisons": float(comps.mean()),
            "leaf_value_adds": float(n_iter * k + k),  # one add per tree + the baseline per output
        }
    )
    t.notes.append(
        f"{type(est).__name__}: {n_iter} iterations x {k} trees; internal nodes visited per sample traversed "
        f"on _predictors[i][k].nodes, averaged over {len(X)} rows; 1 comparison = 1 FLOP"
    )
    if _is_classifier(est):
        if k == 1:
            t.uncounted.update({"sigmoid": 1, "threshold": 1})
        else:
            t.uncounted.update({"softmax": 1, "argmax": 1})
    elif getattr(est, "loss", None) in ("poisson", "gamma"):
        t.uncounted["exp"] = 1
    return t


def _svm_terms(est, X) -> _Terms:
    kernel = est.kernel
    if not isinstance(kernel, str) or kernel == "precomputed":
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__} with kernel={kernel!r}: "
            "supported kernels are 'rbf', 'linear', 'poly', 'sigmoid'"
        )
    n_sv, n_features = est.support_vectors_.shape
    t = _Terms()
    if kernel == "rbf":
        t.counted["kernel_sq_distance"] = 3.0 * n_features * n_sv  # (x - sv)^2 summed: sub, mul, add
        t.counted["kernel_gamma_scale"] = float(n_sv)
        t.uncounted["exp"] = n_sv
    elif kernel == "linear":
        t.counted["kernel_dot"] = 2.0 * n_features * n_sv
    else:  # poly: (gamma <x,sv> + coef0)^degree ; sigmoid: tanh(gamma <x,sv> + coef0)
        t.counted["kernel_dot"] = 2.0 * n_features * n_sv
        t.counted["kernel_affine"] = 2.0 * n_sv
        t.uncounted["pow" if kernel == "poly" else "tanh"] = n_sv
    dual = est.dual_coef_
    t.counted["dual_coef_mac"] = 2.0 * int(np.prod(dual.shape))
    t.notes.append(
        f"{type(est).__name__}(kernel={kernel!r}): one kernel value per support vector ({n_sv}) per sample"
    )
    if _is_classifier(est):
        n_classes = len(est.classes_)
        n_pairs = n_classes * (n_classes - 1) // 2
        t.uncounted["ovo_vote"] = n_pairs
        t.notes.append(
            f"one-vs-one (libsvm): {n_pairs} class pairs, each sums coef x kernel over the support vectors of "
            "its two classes, so all pairs together make dual_coef_.size = (n_classes - 1) x n_SV multiply-adds; "
            "intercept subtraction not counted, voting listed uncounted; decision_function_shape='ovr' only "
            "reshapes decision_function, predict is one-vs-one"
        )
    return t


def _knn_method(est) -> str:
    method = getattr(est, "_fit_method", None)
    if method is None:
        if est.algorithm in ("brute", "kd_tree", "ball_tree"):
            return est.algorithm
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__}: the private attribute _fit_method (what "
            f"algorithm='auto' picked) is missing in this scikit-learn version"
        )
    return method


def _knn_terms(est, X) -> _Terms:
    metric = getattr(est, "effective_metric_", est.metric)
    params = getattr(est, "effective_metric_params_", {}) or {}
    if not (metric == "euclidean" or (metric == "minkowski" and params.get("p", 2) == 2)):
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__} with metric={metric!r}: only the euclidean metric "
            "(minkowski with p=2) is supported"
        )
    method = _knn_method(est)
    n_train = int(est.n_samples_fit_)
    n_features = int(X.shape[1])
    k = int(est.n_neighbors)
    t = _Terms()
    if method == "brute":
        t.counted["dot_products"] = 2.0 * n_features * n_train  # -2 X @ Y.T as one GEMM
        t.counted["query_sq_norm"] = 2.0 * n_features
        t.counted["norm_combination"] = 2.0 * n_train  # |x|^2 + (-2 x.y) + |y|^2
        t.notes.append(
            f"{type(est).__name__}: algorithm={est.algorithm!r} ran as 'brute' ({n_train} training rows, "
            f"{n_features} features); squared distances by the GEMM decomposition |x|^2 - 2x.y + |y|^2; "
            f"the training-set norms (2 x {n_features} x {n_train} FLOPs) are recomputed once per predict call "
            "and are not counted per sample"
        )
    else:
        tree = getattr(est, "_tree", None)
        if tree is None or not hasattr(tree, "get_n_calls"):
            raise CandidateError(
                f"cannot count FLOPs of {type(est).__name__}: its {method} index (private _tree) is missing"
            )
        tree.reset_n_calls()
        est.kneighbors(X)
        per_sample = tree.get_n_calls() / len(X)
        tree.reset_n_calls()
        t.counted["point_distances"] = 3.0 * n_features * per_sample
        t.notes.append(
            f"{type(est).__name__}: algorithm={est.algorithm!r} ran as {method!r}; {per_sample:.1f} point "
            f"distances per sample (the tree's own counter, averaged over {len(X)} rows) x 3 x {n_features} FLOPs; "
            "node-bound distances during the descent are not counted"
        )
    t.uncounted["k_selection"] = 1
    t.uncounted["sqrt"] = k
    t.uncounted["vote" if _is_classifier(est) else "mean"] = 1
    return t


def _standard_scaler_terms(est, X) -> _Terms:
    n_features = X.shape[1]
    ops = (est.with_mean and getattr(est, "mean_", None) is not None) + (
        est.with_std and getattr(est, "scale_", None) is not None
    )
    return _Terms(counted={"standardize": float(ops * n_features)},
                  notes=[f"StandardScaler: subtract mean, divide by scale: {ops} x {n_features} FLOPs"])


def _minmax_scaler_terms(est, X) -> _Terms:
    return _Terms(counted={"scale_shift": 2.0 * X.shape[1]}, notes=["MinMaxScaler: x * scale_ + min_"])


def _pca_terms(est, X) -> _Terms:
    n_comp, n_features = est.components_.shape
    t = _Terms(counted={"projection": 2.0 * n_features * n_comp})
    if getattr(est, "mean_", None) is not None:
        t.counted["center"] = float(n_features)
    if getattr(est, "whiten", False):
        t.counted["whiten"] = float(n_comp)
    t.notes.append(f"{type(est).__name__}: center, project on {n_comp} components")
    return t


# Linear models whose prediction is X @ coef_.T + intercept_ (GLMs with a log link are left out).
_LINEAR_MODEL_NAMES = (
    "LogisticRegression", "LogisticRegressionCV", "RidgeClassifier", "RidgeClassifierCV", "SGDClassifier",
    "SGDRegressor", "Perceptron", "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars",
    "LarsCV", "LassoLars", "LassoLarsCV", "LassoLarsIC", "OrthogonalMatchingPursuit", "BayesianRidge",
    "ARDRegression", "HuberRegressor", "QuantileRegressor", "TheilSenRegressor",
)


def _sklearn_handlers():
    """(classes, name list, handler) in dispatch order: first isinstance match wins."""
    from sklearn import ensemble, linear_model, neighbors, preprocessing, svm, tree
    from sklearn.decomposition import PCA

    linear_classes = tuple(
        cls
        for cls in (getattr(linear_model, name, None) for name in _LINEAR_MODEL_NAMES)
        if cls is not None
    ) + (svm.LinearSVC, svm.LinearSVR)
    return [
        ((tree.DecisionTreeClassifier, tree.DecisionTreeRegressor, tree.ExtraTreeClassifier,
          tree.ExtraTreeRegressor, ensemble.RandomForestClassifier, ensemble.RandomForestRegressor,
          ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor), _tree_terms),
        ((ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor), _hgb_terms),
        ((svm.SVC, svm.NuSVC, svm.SVR, svm.NuSVR, svm.OneClassSVM), _svm_terms),
        ((neighbors.KNeighborsClassifier, neighbors.KNeighborsRegressor), _knn_terms),
        ((preprocessing.StandardScaler,), _standard_scaler_terms),
        ((preprocessing.MinMaxScaler,), _minmax_scaler_terms),
        ((PCA,), _pca_terms),
        (linear_classes, _linear_terms),
    ]


def supported_sklearn_estimators() -> list[str]:
    """Names of the scikit-learn estimators :func:`count_sklearn_flops` knows (plus Pipeline)."""
    names = {"Pipeline"}
    for classes, _ in _sklearn_handlers():
        names.update(c.__name__ for c in classes)
    return sorted(names)


def _estimator_terms(est, X) -> _Terms:
    for classes, handler in _sklearn_handlers():
        if isinstance(est, classes):
            return handler(est, X)
    raise CandidateError(
        f"cannot count FLOPs of estimator type {type(est).__module__}.{type(est).__name__}; supported: "
        + ", ".join(supported_sklearn_estimators())
    )


def _as_2d(X) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be a numeric 2-D array (n_samples, n_features), got unconvertible {type(X).__name__}: {exc}") from exc
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise DataError(f"X must be a numeric 2-D array with at least one row, got shape {arr.shape}")
    return arr


def count_sklearn_flops(estimator, X) -> FlopCount:
    """Analytic FLOPs per sample of a fitted scikit-learn estimator or Pipeline on the rows of ``X``.

    Data-dependent costs (tree paths, kd-tree searches) are averaged over the rows of ``X``. A
    Pipeline sums its steps, each counted on the output of the previous ones; its op names are
    prefixed by the step name. ``coverage`` is the share of formula terms that were counted.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    X = _as_2d(X)
    try:
        check_is_fitted(estimator)
    except NotFittedError as exc:
        raise CandidateError(f"cannot count FLOPs of {type(estimator).__name__}: it is not fitted") from exc
    except TypeError as exc:  # not an estimator at all
        raise CandidateError(
            f"cannot count FLOPs of estimator type {type(estimator).__name__}: not a scikit-learn estimator; "
            "supported: " + ", ".join(supported_sklearn_estimators())
        ) from exc
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is not None and n_in != X.shape[1]:
        raise DataError(f"X must have {n_in} columns (the estimator's n_features_in_), got {X.shape[1]}")

    if isinstance(estimator, Pipeline):
        parts = []
        steps = [(n, s) for n, s in estimator.steps if s is not None and s != "passthrough"]
        for i, (name, step) in enumerate(steps):
            parts.append((name, _estimator_terms(step, X)))
            if i < len(steps) - 1:
                X = _as_2d(step.transform(X))
        counted, uncounted, notes = {}, {}, []
        for name, t in parts:
            counted.update({f"{name}.{k}": v for k, v in t.counted.items()})
            uncounted.update({f"{name}.{k}": v for k, v in t.uncounted.items()})
            notes.extend(f"{name}: {n}" for n in t.notes)
        terms = _Terms(counted, uncounted, notes)
    else:
        terms = _estimator_terms(estimator, X)
    terms.notes.append("uncounted_ops are formula terms with their calls per sample; coverage = share of terms counted")
    return FlopCount(
        flops_per_sample=float(sum(terms.counted.values())),
        method=METHOD_SKLEARN,
        counted_ops={k: float(v) for k, v in terms.counted.items()},
        uncounted_ops={k: int(v) for k, v in terms.uncounted.items()},
        coverage=_coverage(len(terms.counted), len(terms.uncounted)),
        notes=_join_notes(terms.notes),
    )

