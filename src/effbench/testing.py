"""The adapter conformance check, public so that a third-party backend can run it (scikit-learn's
``check_estimator``)::

    from effbench.testing import check_candidate
    check_candidate(MyCandidate("m", my_model), X)     # raises AssertionError naming the failing check

Every built-in backend passes it (``tests/candidates/test_conformance.py``). The checks, in order
(:data:`CHECKS`): the protocol (a :class:`~effbench.candidates.Candidate`, its key, its registered
adapter class), the trip to a worker process (pickle, then ``configure_threads(1)``), inference
(one integer label per row at batch sizes 1, 7 and all of ``X``; ``predict`` agrees), the static
costs (parameters, serialized bytes and size, FLOPs) and ``describe()``. The checks after the
pickle run on the unpickled copy: the candidate given is not changed.
"""

from __future__ import annotations

import pickle

import numpy as np

from effbench.errors import CandidateError

__all__ = ["CHECKS", "check_candidate"]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_protocol(c, X) -> None:
    from effbench.candidates import Candidate, registry

    _expect(isinstance(c, Candidate), f"expected an effbench Candidate, got {type(c).__name__}")
    _expect(isinstance(c.backend, str) and c.backend != "", f"backend must be a non-empty name, got {c.backend!r}")
    _expect(c.key == f"{c.model}/{c.backend}", f"key must be 'model/backend', got {c.key!r}")
    if c.backend in registry.names():
        adapter = registry.get(c.backend).adapter_class()
        _expect(isinstance(c, adapter), f"backend {c.backend!r} is registered with {adapter.__name__}, "
                                        f"but this candidate is a {type(c).__name__}")


def check_pickle_and_threads(c, X):
    """The candidate survives the trip to a worker process; its threads are fixed there. Returns the copy."""
    copy = pickle.loads(pickle.dumps(c))
    _expect(type(copy) is type(c) and copy.key == c.key, "the unpickled candidate is not the same kind or key")
    copy.configure_threads(1)
    settings = copy.thread_settings()
    _expect(isinstance(settings, dict) and settings.get("threads") == 1,
            f"thread_settings()['threads'] must be 1 after configure_threads(1), got {settings!r}")
    return copy


def check_inference(c, X) -> None:
    for b in sorted({1, min(7, len(X)), len(X)}):
        out = c.infer(c.prepare(X[:b]))
        c.sync()
        labels = np.asarray(c.to_labels(out))
        _expect(labels.shape == (b,), f"to_labels must give one label per row: batch {b}, got shape {labels.shape}")
        _expect(np.issubdtype(labels.dtype, np.integer), f"labels must be integers, got dtype {labels.dtype}")
    _expect(np.array_equal(c.predict(X), np.asarray(c.to_labels(c.infer(c.prepare(X))))),
            "predict(X) must equal to_labels(infer(prepare(X)))")


def check_static_costs(c, X) -> None:
    from effbench.candidates import Candidate
    from effbench.measure.flops import FlopCount

    params = c.param_count()
    _expect(params is None or (isinstance(params, int) and not isinstance(params, bool) and params >= 0),
            f"param_count() must be None or an int >= 0, got {params!r}")
    blob = c.serialized()
    _expect(isinstance(blob, bytes) and len(blob) > 0, f"serialized() must be non-empty bytes, got {type(blob).__name__}")
    _expect(isinstance(c.serialization_format(), str), "serialization_format() must be a string")
    if type(c).size_bytes is Candidate.size_bytes:
        _expect(c.size_bytes() == len(blob), f"size_bytes() must be len(serialized()) = {len(blob)}, got {c.size_bytes()!r}")
    else:  # an adapter that knows better (a plain callable: its pickle is only a reference) or does not know
        try:
            size = c.size_bytes()
        except CandidateError:
            size = None
        _expect(size is None or (isinstance(size, int) and size >= 0), f"size_bytes() must be an int >= 0, got {size!r}")
    f = c.flops(X[: min(4, len(X))])
    _expect(f is None or (isinstance(f, FlopCount) and f.flops_per_sample >= 0 and 0 <= f.coverage <= 1),
            f"flops() must be None or a FlopCount with flops_per_sample >= 0 and coverage in [0, 1], got {f!r}")


def check_describe(c, X) -> None:
    d = c.describe()
    _expect(isinstance(d, dict), f"describe() must return a dict, got {type(d).__name__}")
    _expect(d.get("key") == c.key and d.get("backend") == c.backend,
            f"describe() must hold the candidate's key and backend, got key={d.get('key')!r} backend={d.get('backend')!r}")


#: (name, check) in the order they run; ``pickle_and_threads`` returns the copy the later checks use.
CHECKS = (
    ("protocol", check_protocol),
    ("pickle_and_threads", check_pickle_and_threads),
    ("inference", check_inference),
    ("static_costs", check_static_costs),
    ("describe", check_describe),
)


def _default_X() -> np.ndarray:
    return np.random.default_rng(0).random((40, 64), dtype=np.float32)  # the digits task's shape


def check_candidate(candidate, X=None) -> None:
    """Run every conformance check (:data:`CHECKS`) on ``candidate`` with the float32 batch ``X``
    (default: 40 seeded random rows of 64 features, the digits task's shape).

    Raises :class:`AssertionError` ``"check_candidate(<key>): <check>: <what is wrong>"`` at the first
    check that fails; an exception the candidate raises is reported the same way (chained).
    """
    X = _default_X() if X is None else np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim < 2 or len(X) < 1:
        raise AssertionError(f"check_candidate: X must be a batch with at least one row, got shape {X.shape}")
    c = candidate
    for name, check in CHECKS:
        try:
            out = check(c, X)
        except AssertionError as exc:
            raise AssertionError(f"check_candidate({_key(candidate)}): {name}: {exc}") from None
        except Exception as exc:
            raise AssertionError(f"check_candidate({_key(candidate)}): {name}: raised {type(exc).__name__}: {exc}") from exc
        c = out if out is not None else c


def _key(candidate) -> str:
    return str(getattr(candidate, "key", type(candidate).__name__))
