"""FLOPs of PyTorch modules, counted with ``torch.utils.flop_counter`` (torch is imported inside)."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import numpy as np

from effbench.errors import CandidateError, ConfigError
from effbench.measure.flops.common import (
    METHOD_TORCH,
    FlopCount,
    _coverage,
    _join_notes,
)

__all__ = ["candidate_flops", "count_torch_flops", "mha_fastpath_off"]

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


def torch_args(example_input) -> tuple:
    """``example_input`` as a tuple of tensors, each with a batch dimension (dim 0), the first with at
    least one row; what the FLOP counter and the ONNX exporter both call the model with."""
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
    if any(a.dim() == 0 for a in args):
        raise ConfigError("example_input tensors must have a batch dimension on dim 0, got a 0-d tensor")
    if args[0].shape[0] < 1:
        raise ConfigError(
            f"example_input must have a batch dimension of size >= 1 on dim 0, got shape {tuple(args[0].shape)}"
        )
    return args


# SDPA kernels the counter may see, device by device. torch's own registry covers the CUDA ones
# (flash, efficient, cudnn); the CPU flash kernel, the XPU/HPU "overrideable" kernel and the MPS math
# kernel have no formula there. The math path (``_scaled_dot_product_attention_math``) and
# ``scaled_dot_product_attention`` itself are composite: they decompose into bmm, counted as such, and
# are listed here only in case a dispatch mode sees them whole.
_SDPA_OPS = (
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_fused_attention_overrideable",
    "_scaled_dot_product_attention_math_for_mps",
    "_scaled_dot_product_attention_math",
    "scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
)


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """2 x MACs of QK^T and of (softmax) x V, per head: ``2 b h s_q s_k d_qk + 2 b h s_q s_k d_v``.

    Causal and masked attention are counted dense, as torch counts its CUDA kernels (a causal kernel
    may skip about half of the products; the mask add, scaling and softmax are not counted). Key and
    value heads may be fewer than the query's (grouped-query attention): the kernel broadcasts them.
    """
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


# Quantised linear and convolution ops (torch.ao.nn.quantized, dynamic and static): integer or fp16
# arithmetic counted with the float formula, as ONNX's MatMulInteger/ConvInteger are. Their weights are
# packed in a ScriptObject; ``unpack()[0]`` is the (out, in / groups, *kernel) weight.
_QUANTIZED_OPS = (
    "linear", "linear_relu", "linear_dynamic", "linear_relu_dynamic", "linear_dynamic_fp16",
    "linear_relu_dynamic_fp16", "conv1d", "conv2d", "conv3d", "conv1d_relu", "conv2d_relu", "conv3d_relu",
)


def _quantized_flops(x, packed, *args, out_val=None, **kwargs) -> int:
    """2 x prod(output shape) x (in / groups) x prod(kernel): the dense formula on the packed weight."""
    import math

    weight = packed.unpack()[0]
    return 2 * math.prod(out_val.shape) * math.prod(weight.shape[1:])


_quantized_flops._get_raw = True  # FlopCounterMode passes the tensors and the packed weights, not shapes


def _custom_formulas() -> dict:
    """The formulas this counter adds to torch's registry (without changing it): SDPA on every device,
    and the quantised linear and convolution ops."""
    import torch
    from torch.utils.flop_counter import flop_registry

    out = {}
    for name in _SDPA_OPS:
        packet = getattr(torch.ops.aten, name, None)
        if packet is not None and packet not in flop_registry:
            out[packet] = _sdpa_flops
    for name in _QUANTIZED_OPS:
        packet = getattr(torch.ops.quantized, name, None)
        if packet is not None and packet not in flop_registry:
            out[packet] = _quantized_flops
    return out


@contextmanager
def mha_fastpath_off():
    """Turn off the fused multi-head attention fast path (``torch.backends.mha``) inside the block, so
    that ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` run as separate projections and
    attention (the same arithmetic): what the FLOP counter can count and the ONNX exporter can export."""
    import torch

    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def _call_inputs(example_input):
    """``(args, kwargs, batch)`` to call the model with: a dict of named inputs (tensors or numpy
    arrays, int64 ids included) becomes keyword arguments, anything else goes through :func:`torch_args`."""
    import torch

    if not isinstance(example_input, dict):
        args = torch_args(example_input)
        return args, {}, int(args[0].shape[0])
    if not example_input:
        raise ConfigError("example_input must not be an empty dict: give one array per named model input")
    kwargs = {}
    for name, value in example_input.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor) or value.dim() == 0:
            raise ConfigError(
                f"example_input[{name!r}] must be a tensor or numpy array with the batch on dim 0, got "
                f"{type(value).__name__}" + (" of 0 dimensions" if isinstance(value, torch.Tensor) else "")
            )
        kwargs[str(name)] = value
    batches = {k: int(v.shape[0]) for k, v in kwargs.items()}
    if len(set(batches.values())) != 1 or min(batches.values()) < 1:
        raise ConfigError(f"example_input's arrays must share one batch size >= 1 on dim 0, got {batches}")
    return (), kwargs, next(iter(batches.values()))


def count_torch_flops(module, example_input) -> FlopCount:
    """Count FLOPs per sample of ``module(example_input)`` with ``torch.utils.flop_counter``.

    ``example_input`` is a batch (tensor, or tuple of tensors, batch on dim 0), or a dict of named
    inputs (tensors or numpy arrays, any dtype: int64 token ids stay integers), passed as keyword
    arguments; the counts are divided by its batch size. The module runs once in eval mode under
    ``torch.no_grad()`` (its training flag is restored afterwards), with the fused multi-head attention
    fast path off so that its projections and attention reach the counter as separate ops (the same
    arithmetic). Scaled-dot-product attention is counted on every device's kernel (:func:`_sdpa_flops`).
    A recording dispatch mode placed under the counter lists every aten op that the counter executed
    but has no formula for (``uncounted_ops``, calls per forward) with an estimate of its work
    (``uncounted_work_share``, see :mod:`effbench.measure.flops.common`).
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    if not isinstance(module, torch.nn.Module) and not callable(module):
        raise ConfigError(f"module must be a torch.nn.Module or a callable, got {type(module).__name__}")
    args, kwargs, batch = _call_inputs(example_input)
    custom = _custom_formulas()
    formulas = set(flop_registry) | set(custom)

    class _OpRecorder(TorchDispatchMode):
        """Records the leaf aten ops that reach it (after the flop counter's decompositions)."""

        def __init__(self):
            super().__init__()
            self.counted: Counter = Counter()
            self.uncounted: Counter = Counter()
            self.uncounted_elements: Counter = Counter()
            self.zero: Counter = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            packet = getattr(func, "overloadpacket", func)
            name = str(packet)
            if name not in _TORCH_METADATA_OPS:
                if packet in formulas:
                    self.counted[name] += 1
                elif getattr(func, "is_view", False) or name in _TORCH_ZERO_FLOP_OPS:
                    self.zero[name] += 1
                else:
                    self.uncounted[name] += 1
                    self.uncounted_elements[name] += _largest_numel((args, kwargs, out))
            return out

    modes = {m: m.training for m in module.modules()} if isinstance(module, torch.nn.Module) else {}
    if isinstance(module, torch.nn.Module):
        module.eval()
    recorder = _OpRecorder()
    try:
        # The recorder is entered first, so it sits *under* the counter: it sees exactly the ops the
        # counter executes (after the counter has decomposed the ops it has no formula for).
        with torch.no_grad(), mha_fastpath_off(), recorder, FlopCounterMode(display=False, custom_mapping=custom) as counter:
            module(*args, **kwargs)
    except (RuntimeError, TypeError, IndexError, ValueError) as exc:
        shapes = {k: tuple(v.shape) for k, v in kwargs.items()} if kwargs else tuple(args[0].shape)
        raise CandidateError(
            f"{type(module).__name__} failed to run on example_input of shape {shapes}: "
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
        uncounted_elements={k: v / batch for k, v in sorted(recorder.uncounted_elements.items())},
    )


def _largest_numel(tree) -> int:
    """Elements of the largest tensor among an op's inputs and outputs (its estimated work, 1 FLOP each)."""
    import torch
    from torch.utils._pytree import tree_leaves

    return max((t.numel() for t in tree_leaves(tree) if isinstance(t, torch.Tensor)), default=0)


def candidate_flops(candidate, X_example) -> FlopCount:
    """The registry's FLOP counter for the ``torch`` backend: the candidate's module on its prepared input."""
    return count_torch_flops(candidate.module, candidate.prepare(X_example))
