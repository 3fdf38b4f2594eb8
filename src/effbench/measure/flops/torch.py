"""FLOPs of PyTorch modules, counted with ``torch.utils.flop_counter`` (torch is imported inside)."""

from __future__ import annotations

from collections import Counter

from effbench.errors import CandidateError, ConfigError
from effbench.measure.flops.common import (
    METHOD_TORCH,
    FlopCount,
    _coverage,
    _join_notes,
)

__all__ = ["candidate_flops", "count_torch_flops"]

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
    args = torch_args(example_input)
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



def candidate_flops(candidate, X_example) -> FlopCount:
    """The registry's FLOP counter for the ``torch`` backend: the candidate's module on its prepared input."""
    return count_torch_flops(candidate.module, candidate.prepare(X_example))
