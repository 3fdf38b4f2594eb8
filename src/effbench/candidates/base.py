"""The one small protocol every candidate implements, whatever its backend.

A candidate is one model on one backend. The measuring loop only ever calls:

    prepared = c.prepare(X)     # numpy batch (an array or a dict of named arrays) -> native input (not timed)
    out = c.infer(prepared)     # the timed call
    c.sync()                    # wait for asynchronous work before a timestamp (GPU)
    labels = c.to_labels(out)   # native output -> numpy labels (not timed)

plus the static costs (:meth:`param_count`, :meth:`serialized`, :meth:`flops`) and
:meth:`configure_threads`, called once in the worker process before anything else.
Candidates are pickled to reach their worker process; heavy state (an inference session)
is rebuilt lazily there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

# the name rule lives at the bottom of the stack, so the store checks imported names by the same rule
from effbench.validation import NAME_RE as _NAME_RE, validate_name  # noqa: F401  (re-exported)
# the worker slices and converts inputs before any candidate code runs: the rule lives in measure/
from effbench.measure.inputs import as_batch  # noqa: F401  (re-exported)

__all__ = ["Candidate", "as_batch", "select_output", "validate_name"]


def select_output(out, output):
    """The part of a model's output that holds the scores: ``out[output]`` for a dict (or a
    transformers ModelOutput; an index picks its values in order) or a tuple/list; ``out`` itself when ``output`` is None and it is one
    array. A tuple or dict output without ``output`` is an error naming what to choose."""
    if output is None:
        if isinstance(out, dict):
            raise ValueError(f"the model returns a dict ({', '.join(map(str, out))}); choose the scores with output = \"NAME\"")
        if isinstance(out, (tuple, list)) and len(out) and np.ndim(out[0]) > 0:
            raise ValueError(f"the model returns a {type(out).__name__} of {len(out)} outputs; choose one with output = INDEX")
        return out
    if isinstance(out, dict):
        if isinstance(output, int) and not isinstance(output, bool) and output not in out and 0 <= output < len(out):
            return list(out.values())[output]  # by position, as the ONNX export of this dict numbers its outputs
        if output not in out:
            raise ValueError(f"output {output!r}: the model's outputs are {', '.join(map(str, out))}")
        return out[output]
    if isinstance(out, (tuple, list)):
        if isinstance(output, int) and 0 <= output < len(out):
            return out[output]
        if isinstance(output, str) and hasattr(out, output):  # a named tuple
            return getattr(out, output)
        raise ValueError(f"output {output!r}: the model returns a {type(out).__name__} of {len(out)} outputs; give an index")
    if isinstance(output, str) and hasattr(out, output):
        return getattr(out, output)
    raise ValueError(f"output {output!r}: the model returns one {type(out).__name__}, not a dict or tuple of outputs")


COMPRESSION = "zlib level 9 (DEFLATE) of the serialized artefact"
"""How :meth:`Candidate.compressed_size_bytes` compresses: zeros of a pruned model compress away."""


def compressed_length(data: bytes) -> int:
    """``len(zlib.compress(data, 9))``: the size of ``data`` as a general-purpose compressor ships it."""
    import zlib

    return len(zlib.compress(data, 9))


class Candidate(ABC):
    """One model on one backend, ready to run inference on numpy batches."""

    backend: str = ""

    def __init__(self, model: str, *, family: str = "", parent: str | None = None, info: dict | None = None):
        self.model = validate_name(model, "model name")
        self.family = family
        self.parent = parent
        self.info = dict(info or {})
        self.threads: int | None = None

    @property
    def key(self) -> str:
        """Unique within a run: model and backend."""
        return f"{self.model}/{self.backend}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"

    # -- inference ---------------------------------------------------------------------------
    def prepare(self, X: np.ndarray) -> Any:
        """Convert a numpy batch to the backend's native input (:func:`as_batch`). Not timed."""
        return as_batch(X)

    @abstractmethod
    def infer(self, prepared: Any) -> Any:
        """Run the model on a prepared batch. This is the call that is timed."""

    def sync(self) -> None:
        """Block until asynchronous work has finished (a no-op on CPU backends)."""

    @abstractmethod
    def to_labels(self, output: Any) -> np.ndarray:
        """Turn the native output into a 1-D numpy array of predicted labels. Not timed."""

    def to_outputs(self, output: Any) -> np.ndarray:
        """The native output as a numpy array as the model gave it (scores, probabilities or
        predicted values; the part ``self.output`` chooses, if any), for the metrics that read more
        than labels (top-k, regression). Not timed."""
        out = select_output(output, getattr(self, "output", None))
        if hasattr(out, "detach"):  # a torch tensor
            out = out.detach().cpu().numpy()
        return np.asarray(out)

    def scores_for(self, prepared: Any, output: Any) -> np.ndarray:
        """What the metrics that read more than labels score (top-k, regression): by default
        :meth:`to_outputs` of the timed call's ``output``; a backend whose timed call returns only
        labels (scikit-learn's ``predict``) gives its scores here. Not timed."""
        return self.to_outputs(output)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self.infer(self.prepare(X))
        self.sync()
        return np.asarray(self.to_labels(out))

    # -- static costs --------------------------------------------------------------------------
    @abstractmethod
    def param_count(self) -> int | None:
        """Number of learned parameters (None when the notion does not apply)."""

    @abstractmethod
    def serialized(self) -> bytes:
        """The artefact one would ship (its length is the reported size)."""

    def size_bytes(self) -> int:
        """The reported size: the length of :meth:`serialized`."""
        return len(self.serialized())

    def nonzero_param_count(self) -> int | None:
        """Parameters that are not exactly zero (what a sparse format stores); None when not counted."""
        return None

    def compressed_size_bytes(self) -> int | None:
        """The length of :meth:`serialized` compressed (see :data:`COMPRESSION`); None when not measured."""
        return None

    def serialization_format(self) -> str:
        return "pickle"

    def flops(self, X_example: np.ndarray):
        """A :class:`effbench.measure.flops.FlopCount` per sample, or None when it cannot be counted.

        By default: the FLOP counter its backend declares in the registry (None where it declares none)."""
        from effbench.candidates import registry

        if self.backend not in registry.names():
            return None
        return registry.get(self.backend).count_flops(self, X_example)

    # -- environment ---------------------------------------------------------------------------
    def configure_threads(self, threads: int) -> None:
        """Fix the backend's thread pools; called once in the worker before any inference."""
        self.threads = int(threads)

    def thread_settings(self) -> dict:
        """The thread settings in force, as the backend reports them."""
        return {"threads": self.threads}

    def describe(self) -> dict:
        return {
            "key": self.key,
            "model": self.model,
            "backend": self.backend,
            "family": self.family,
            "parent": self.parent,
            "class": type(self).__name__,
            **self.info,
        }
