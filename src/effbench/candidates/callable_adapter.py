"""Any Python callable ``f(X) -> labels`` as a candidate.

Static costs a plain callable cannot report (parameters, FLOPs) are given by the user, or left
missing; they are never invented.

A callable made by a factory (``python:pkg.mod:factory`` with its keyword arguments, set as
:attr:`CallableCandidate.factory`) that cannot be pickled (a closure, a lambda) travels to a worker
process as that recipe and is made again there by calling the factory.
"""

from __future__ import annotations

import importlib
import pickle

import numpy as np

from effbench.candidates.base import Candidate
from effbench.errors import ConfigError


class CallableCandidate(Candidate):
    backend = "callable"

    def __init__(self, model: str, fn, *, params: int | None = None, flops_per_sample: float | None = None,
                 size_bytes: int | None = None, **kwargs):
        super().__init__(model, **kwargs)
        if not callable(fn):
            raise ConfigError(f"candidate {model!r}: a callable candidate needs a callable f(X) -> labels; got {type(fn).__name__}")
        self.fn = fn
        self.factory: tuple[str, dict] | None = None  # ("pkg.mod:factory", kwargs) that made fn, if any
        self.params = params
        self.flops_per_sample = flops_per_sample
        self.given_size_bytes = size_bytes

    def infer(self, prepared):
        return self.fn(prepared)

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.factory is not None:
            try:
                pickle.dumps(self.fn, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - a closure or lambda: made again from its factory where unpickled
                state["fn"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.fn is None and self.factory is not None:
            target, kwargs = self.factory
            module, _, name = target.partition(":")
            self.fn = getattr(importlib.import_module(module), name)(**kwargs)

    def to_labels(self, output):
        return np.asarray(output).reshape(len(output), -1).argmax(axis=1) if np.ndim(output) == 2 else np.asarray(output)

    def param_count(self):
        return self.params

    def serialized(self) -> bytes:
        return pickle.dumps(self.fn, protocol=pickle.HIGHEST_PROTOCOL)

    def size_bytes(self) -> int:
        # pickling a function stores a reference to it, not the model it runs: no size unless given
        if self.given_size_bytes is None:
            from effbench.errors import CandidateError

            raise CandidateError("a plain callable's size is unknown (its pickle is only a reference); give size_bytes= when you know it")
        return int(self.given_size_bytes)

    def serialization_format(self) -> str:
        return "given by the user" if self.given_size_bytes is not None else "unknown"

    def flops(self, X_example):
        if self.flops_per_sample is None:
            return None
        from effbench.measure.flops import FlopCount

        return FlopCount(
            flops_per_sample=float(self.flops_per_sample),
            method="user-given",
            counted_ops={"user-given": float(self.flops_per_sample)},
            uncounted_ops={},
            coverage=1.0,
            notes="given by the user, not counted by effbench",
        )
