"""What every FLOP counter shares: the :class:`FlopCount` record, the convention, the method names.

See the package docstring (:mod:`effbench.measure.flops`) and ``docs/flops.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from effbench.validation import Interval, Options, check

__all__ = ["CONVENTION", "METHOD_ONNX", "METHOD_SKLEARN", "METHOD_TORCH", "FlopCount"]

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
        check("FlopCount.coverage", self.coverage, Interval(float, 0, 1))
        check("FlopCount.flops_per_sample", self.flops_per_sample, Interval(float, 0, None, allow_inf=True))
        check("FlopCount.provenance", self.provenance, Options({"analytic"}))  # counted, never measured

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

