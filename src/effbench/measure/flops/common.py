"""What every FLOP counter shares: the :class:`FlopCount` record, the convention, the method names.

See the package docstring (:mod:`effbench.measure.flops`) and ``docs/flops.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from effbench.validation import Interval, Options, check

__all__ = ["BIG_OP_PATTERN", "CONVENTION", "METHOD_ONNX", "METHOD_SKLEARN", "METHOD_TORCH", "FlopCount", "big_ops"]

#: Op names (torch aten/quantized ops, ONNX node types) whose work grows with a product of dimensions
#: (matmuls, convolutions, attention, recurrent cells): one of them left uncounted can hide most of a
#: model's FLOPs, which an estimate from element counts does not see. Matched case-insensitively.
BIG_OP_PATTERN = re.compile(r"attention|conv|matmul|gemm|einsum|linear|lstm|gru|rnn|mm$|mm[._]", re.IGNORECASE)


def big_ops(names) -> list[str]:
    """The names among ``names`` that look like matmul-like ops (:data:`BIG_OP_PATTERN`), sorted."""
    return sorted(n for n in names if BIG_OP_PATTERN.search(str(n)))

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
    #: op -> estimated FLOPs per sample of its uncounted calls: one FLOP per element of the largest
    #: tensor each call reads or writes (a lower bound for elementwise ops, normalisation, pooling,
    #: softmax; far below the work of a matmul-like op, which :attr:`missing_big_ops` names instead).
    uncounted_elements: dict[str, float] = field(default_factory=dict)

    @property
    def uncounted_work_flops(self) -> float | None:
        """Estimated FLOPs per sample left uncounted; None when some uncounted op has no estimate."""
        if any(op not in self.uncounted_elements for op in self.uncounted_ops):
            return None
        return float(sum(self.uncounted_elements.get(op, 0.0) for op in self.uncounted_ops))

    @property
    def uncounted_work_share(self) -> float | None:
        """Estimated uncounted work / (counted + estimated uncounted work), in [0, 1]; None when unknown."""
        est = self.uncounted_work_flops
        if est is None:
            return None
        total = float(self.flops_per_sample) + est
        return 0.0 if total == 0 else est / total

    @property
    def missing_big_ops(self) -> list[str]:
        """Uncounted ops that look matmul-like (attention, convolution, linear...): see :func:`big_ops`."""
        return big_ops(self.uncounted_ops)

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
            # added with schema-compatible new keys: older records do not have them
            "uncounted_work": {k: float(v) for k, v in self.uncounted_elements.items()},
            "uncounted_work_flops": self.uncounted_work_flops,
            "uncounted_work_share": self.uncounted_work_share,
            "missing_big_ops": self.missing_big_ops,
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

