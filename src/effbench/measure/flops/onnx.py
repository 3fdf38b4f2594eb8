"""FLOPs of ONNX graphs, counted node by node from the graph and its shapes (onnx is imported inside)."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.measure.flops.common import METHOD_ONNX, FlopCount, _coverage, _join_notes

__all__ = ["candidate_flops", "count_onnx_flops"]

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


def _graph_inputs(proto) -> list:
    initializers = {t.name for t in proto.graph.initializer}
    return [i for i in proto.graph.input if i.name not in initializers]


def _fix_input_shape(proto, sample_shape, input_name):
    """Set each fed input's shape to (batch, *its sample shape); batch = 1 unless the graph fixes it.

    ``sample_shape`` is one shape (for the graph's only input, or ``input_name``) or a dict
    ``{input name: shape of one sample}`` for a multi-input graph. Returns (batch, {input name: sample
    shape as a tuple of ints})."""
    inputs = _graph_inputs(proto)
    by_name = {i.name: i for i in inputs}
    names = list(by_name)
    if isinstance(sample_shape, dict):
        if input_name is not None:
            raise ConfigError("input_name must be None when sample_shape is a dict of input names to shapes")
        unknown = [k for k in sample_shape if k not in by_name]
        if unknown:
            raise ConfigError(f"sample_shape names inputs {unknown} that the graph does not have; its inputs are {names}")
        missing = [n for n in names if n not in sample_shape]
        if missing:
            raise ConfigError(f"sample_shape must give a shape for every graph input: missing {missing} (inputs {names})")
        wanted = dict(sample_shape)
    elif input_name is None:
        if len(inputs) != 1:
            raise ConfigError(
                f"the graph has several inputs {names}: give sample_shape as a dict {{input name: shape}} "
                "(or input_name for a graph whose other inputs are optional)"
            )
        wanted = {inputs[0].name: sample_shape}
    else:
        if input_name not in by_name:
            raise ConfigError(f"input_name must be one of the graph inputs {names}, got {input_name!r}")
        wanted = {input_name: sample_shape}
    batches, fixed = set(), {}
    for name, shape in wanted.items():
        batch, fixed[name] = _fix_one_input(by_name[name], shape)
        batches.add(batch)
    if len(batches) > 1:
        raise ConfigError(f"the graph fixes different batch sizes {sorted(batches)} on its inputs {list(wanted)}")
    return batches.pop(), fixed


def _fix_one_input(value, sample_shape):
    try:
        sample_shape = tuple(int(d) for d in sample_shape)
    except (TypeError, ValueError):
        raise ConfigError(f"sample_shape of input {value.name!r} must be a tuple of positive ints (shape of one sample), got {sample_shape!r}") from None
    if any(d < 1 for d in sample_shape):
        raise ConfigError(f"sample_shape of input {value.name!r} must be a tuple of positive ints (shape of one sample), got {sample_shape!r}")
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
    return batch, sample_shape


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


def _shapes_by_running(proto, shapes, names, input_shapes, notes) -> None:
    """Fill ``shapes`` for ``names`` that static inference left unknown (e.g. a Reshape whose target is
    computed with Div) by running the graph once in onnxruntime on zero inputs of ``input_shapes``
    (``{input name: full shape}``; zeros are valid token ids and masks too)."""
    try:
        import onnxruntime as ort
    except ImportError:
        notes.append("some shapes stayed unknown after onnx shape inference and onnxruntime is not installed to resolve them")
        return
    import onnx

    types = {i.name: i.type.tensor_type.elem_type for i in _graph_inputs(proto)}
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
        feed = {
            name: np.zeros(shape, dtype=onnx.helper.tensor_dtype_to_np_dtype(types[name]))
            for name, shape in input_shapes.items()
        }
        values = session.run(wanted, feed)
    except Exception as exc:  # onnxruntime raises its own exception types; recorded, not hidden
        notes.append(f"some shapes stayed unknown after onnx shape inference; running the graph to find them failed ({type(exc).__name__}: {exc})")
        return
    for n, v in zip(wanted, values):
        shapes[n] = tuple(int(d) for d in np.shape(v))
    notes.append(
        f"{len(wanted)} tensor shapes unknown to onnx shape inference were read by running the graph once "
        "in onnxruntime on zero inputs"
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


def _attention_flops(node, shapes):
    """ONNX ``Attention`` (opset 23): Q (B, Hq, Sq, D) or (B, Sq, Hq*D); K (B, Hkv, Skv, D) or 3-D;
    V (B, Hkv, Skv, Dv) or 3-D. 2 x MACs of QK^T and of the weights times V, per query head, dense
    (a causal or masked attention is counted in full, as the torch counter does)."""
    q, k, v = (_shape(shapes, node.input, i) for i in range(3))
    if q is None or k is None or v is None or len(q) not in (3, 4) or len(k) != len(q) or len(v) != len(q):
        return None
    if len(q) == 4:
        b, hq, sq, d = q
        skv, dv = k[2], v[3]
    else:
        hq = _attr(node, "q_num_heads")
        hkv = _attr(node, "kv_num_heads")
        if not hq or not hkv:
            return None
        b, sq, skv = q[0], q[1], k[1]
        d, dv = q[2] // hq, v[2] // hkv
    return 2.0 * b * hq * sq * skv * (d + dv)


def _ms_multi_head_attention_flops(node, shapes):
    """``com.microsoft.MultiHeadAttention`` with separate 3-D query (B, S, D), key (B, L, D), value
    (B, L, Dv): per head the products sum to the hidden sizes, so 2 x B x S x L x (D + Dv)."""
    q, k, v = (_shape(shapes, node.input, i) for i in range(3))
    if q is None or k is None or v is None or len(q) != 3 or len(k) != 3 or len(v) != 3:
        return None
    return 2.0 * q[0] * q[1] * k[1] * (q[2] + v[2])


_ONNX_COUNTERS: dict[str, Callable] = {
    "Attention": _attention_flops,
    "com.microsoft.MultiHeadAttention": _ms_multi_head_attention_flops,
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
    shape of one sample, without the batch (e.g. ``(64,)`` or ``(1, 8, 8)``), or for a multi-input
    graph a dict ``{input name: shape of one sample}`` (e.g. ``{"input_ids": (128,), "attention_mask":
    (128,)}``; any dtype, int64 ids included). The batch dimension is fixed to 1 (or to the graph's own
    static batch, then divided out) and ``onnx.shape_inference`` gives every tensor's shape. MatMul,
    Gemm, Conv (groups included), ConvTranspose, their integer/QLinear variants, ``Attention`` (opset
    23), ``com.microsoft.MultiHeadAttention`` and the ML-domain LinearClassifier/LinearRegressor/Scaler
    are counted with torch's convention; every other node type is listed in ``uncounted_ops`` (or
    ``zero_flop_ops``) with an estimate of its work (one FLOP per element of its largest tensor).
    Subgraphs (If/Loop/Scan bodies) are not walked.
    """
    import onnx

    proto = _load_onnx(model)
    batch, sample_shapes = _fix_input_shape(proto, sample_shape, input_name)
    notes = []
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False, data_prop=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as exc:
        inferred = proto
        notes.append(f"onnx shape inference failed ({exc}); only declared shapes were used")
    shapes = _onnx_shapes(inferred)
    # shapes still unknown where they matter: a counted node's, and an uncounted node's (its work estimate)
    unresolved = {
        name
        for node in inferred.graph.node
        if _onnx_key(node) not in _ONNX_ZERO_FLOP_OPS and _onnx_key(node) not in _ONNX_SUBGRAPH_OPS
        for name in list(node.input) + list(node.output)
        if name and shapes.get(name) is None
    }
    if unresolved:
        _shapes_by_running(inferred, shapes, unresolved, {k: (batch, *v) for k, v in sample_shapes.items()}, notes)

    counted: dict[str, float] = {}
    uncounted: Counter = Counter()
    uncounted_elements: dict[str, float | None] = {}
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
                uncounted_elements[key] = None
                notes.append(f"{key} node {node.name or node.output[0]!r}: shapes unknown after inference, not counted")
            else:
                counted[key] = counted.get(key, 0.0) + flops / batch
                n_counted += 1
        elif key in _ONNX_ZERO_FLOP_OPS:
            zero[key] += 1
        else:
            uncounted[key] += 1
            elements = _largest_numel(node, shapes)
            before = uncounted_elements.get(key, 0.0)
            uncounted_elements[key] = None if elements is None or before is None else before + elements / batch
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
        uncounted_elements={k: v for k, v in sorted(uncounted_elements.items()) if v is not None},
    )


def _largest_numel(node, shapes) -> int | None:
    """Elements of the largest tensor a node reads or writes (its estimated work, 1 FLOP each); None
    when a shape is unknown."""
    sizes = [shapes.get(n) for n in list(node.input) + list(node.output) if n]
    if any(s is None for s in sizes):
        return None
    return max((math.prod(s) for s in sizes), default=0)



def candidate_flops(candidate, X_example) -> FlopCount:
    """The registry's FLOP counter for the ``onnxruntime`` backend: the candidate's graph at the sample
    shape (a dict of named inputs gives one sample shape per input)."""
    if isinstance(X_example, dict):
        return count_onnx_flops(candidate.model_bytes, {k: tuple(np.shape(v)[1:]) for k, v in X_example.items()})
    return count_onnx_flops(candidate.model_bytes, tuple(np.asarray(X_example).shape[1:]))
