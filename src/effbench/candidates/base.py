"""The one small protocol every candidate implements, whatever its backend.

A candidate is one model on one backend. The measuring loop only ever calls:

    prepared = c.prepare(X)     # numpy float32 batch -> native input (not timed)
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

BACKENDS = ("sklearn", "torch", "onnxruntime", "callable")


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
        """Convert a numpy batch to the backend's native input. Not timed."""
        return np.ascontiguousarray(X, dtype=np.float32)

    @abstractmethod
    def infer(self, prepared: Any) -> Any:
        """Run the model on a prepared batch. This is the call that is timed."""

    def sync(self) -> None:
        """Block until asynchronous work has finished (a no-op on CPU backends)."""

    @abstractmethod
    def to_labels(self, output: Any) -> np.ndarray:
        """Turn the native output into a 1-D numpy array of predicted labels. Not timed."""

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

    def serialization_format(self) -> str:
        return "pickle"

    def flops(self, X_example: np.ndarray):
        """A :class:`effbench.measure.flops.FlopCount` per sample, or None when it cannot be counted."""
        return None

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
