"""Adapters that turn models into :class:`Candidate` objects: one small protocol for every backend.

Which adapter runs which object is declared once, in :mod:`effbench.candidates.registry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from effbench.candidates import registry
from effbench.errors import ConfigError

if TYPE_CHECKING:
    from effbench.candidates.base import Candidate

__all__ = ["BACKENDS", "Candidate", "registry", "wrap"]


def __getattr__(name):
    # BACKENDS follows the registry: a backend registered later is listed too. Candidate (and numpy
    # with it) is imported on first use, so that the registry can be read by ``effbench --help``.
    if name == "BACKENDS":
        return registry.names()
    if name == "Candidate":
        from effbench.candidates.base import Candidate

        return Candidate
    raise AttributeError(f"module 'effbench.candidates' has no attribute {name!r}")


def wrap(name: str, obj, **kwargs) -> Candidate:
    """Make a candidate from whatever the user has, picking the adapter by type.

    A :class:`Candidate` is returned as is. Otherwise the registered backends are asked in priority
    order (:func:`effbench.candidates.registry.for_object`); the built-in ones:

    - a ``torch.nn.Module``: :class:`TorchCandidate` (kwargs: ``device``);
    - an ONNX file path (``.onnx``) or the bytes of an ONNX model: :class:`OnnxCandidate`;
    - a fitted scikit-learn estimator (has ``predict`` and ``get_params``): :class:`SklearnCandidate`;
    - any other callable ``f(X) -> labels or scores``: :class:`CallableCandidate`
      (kwargs: ``params``, ``flops_per_sample`` when you know them).
    """
    from effbench.candidates.base import Candidate

    if isinstance(obj, Candidate):
        return obj
    backend = registry.for_object(obj)
    if backend is not None:
        return backend.build(name, obj, **kwargs)
    allowed = ", ".join(b.description or f"a {b.name} model" for b in registry.by_priority())
    raise ConfigError(f"candidate {name!r}: cannot benchmark a {type(obj).__name__}; allowed: {allowed}, or an effbench Candidate")
