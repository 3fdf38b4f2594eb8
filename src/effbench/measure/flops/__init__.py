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

One module per backend: :mod:`.torch`, :mod:`.onnx`, :mod:`.sklearn`; :mod:`.common` holds
:class:`FlopCount`. Each backend's counter is declared in :mod:`effbench.candidates.registry`.
torch, onnx and scikit-learn are imported inside the functions (lazy heavy imports).
"""

from __future__ import annotations

from effbench.measure.flops.common import (
    CONVENTION,
    METHOD_ONNX,
    METHOD_SKLEARN,
    METHOD_TORCH,
    FlopCount,
)
from effbench.measure.flops.onnx import count_onnx_flops
from effbench.measure.flops.sklearn import (
    count_sklearn_flops,
    supported_sklearn_estimators,
)
from effbench.measure.flops.torch import count_torch_flops

__all__ = [
    "CONVENTION",
    "METHOD_ONNX",
    "METHOD_SKLEARN",
    "METHOD_TORCH",
    "FlopCount",
    "count_onnx_flops",
    "count_sklearn_flops",
    "count_torch_flops",
    "supported_sklearn_estimators",
]
