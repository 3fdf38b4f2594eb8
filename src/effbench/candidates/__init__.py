"""Adapters that turn models into :class:`Candidate` objects: one small protocol for every backend."""

from __future__ import annotations

import os
import sys

from effbench.candidates.base import BACKENDS, Candidate
from effbench.errors import ConfigError

__all__ = ["BACKENDS", "Candidate", "wrap"]


def wrap(name: str, obj, **kwargs) -> Candidate:
    """Make a candidate from whatever the user has, picking the adapter by type.

    - a :class:`Candidate`: returned as is;
    - a ``torch.nn.Module``: :class:`TorchCandidate` (kwargs: ``device``);
    - an ONNX file path (``.onnx``) or the bytes of an ONNX model: :class:`OnnxCandidate`;
    - a fitted scikit-learn estimator (has ``predict`` and ``get_params``): :class:`SklearnCandidate`;
    - any other callable ``f(X) -> labels or scores``: :class:`CallableCandidate`
      (kwargs: ``params``, ``flops_per_sample`` when you know them).
    """
    if isinstance(obj, Candidate):
        return obj
    torch = sys.modules.get("torch")  # only look for torch types if torch is already imported
    if torch is not None and isinstance(obj, torch.nn.Module):
        from effbench.candidates.torch_adapter import TorchCandidate

        return TorchCandidate(name, obj, **kwargs)
    if isinstance(obj, (bytes, bytearray)) or (isinstance(obj, (str, os.PathLike)) and str(obj).endswith(".onnx")):
        from effbench.candidates.onnx_adapter import OnnxCandidate

        return OnnxCandidate(name, obj, **kwargs)
    if hasattr(obj, "predict") and hasattr(obj, "get_params"):
        from effbench.candidates.sklearn_adapter import SklearnCandidate

        return SklearnCandidate(name, obj, **kwargs)
    if callable(obj):
        from effbench.candidates.callable_adapter import CallableCandidate

        return CallableCandidate(name, obj, **kwargs)
    raise ConfigError(
        f"candidate {name!r}: cannot benchmark a {type(obj).__name__}; allowed: a torch.nn.Module, an ONNX file path "
        "or bytes, a fitted scikit-learn estimator, a callable f(X) -> labels, or an effbench Candidate"
    )
