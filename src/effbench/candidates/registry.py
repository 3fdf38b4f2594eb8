"""The backend registry: one declaration per backend, and every place that lists backends reads it.

A :class:`Backend` says what effbench needs to know about a backend without importing it:

- ``name``: the backend's name in keys and records (``"torch"`` in ``cnn_small/torch``);
- ``adapter``: its :class:`~effbench.candidates.Candidate` class, or ``"module:Class"`` imported on
  first use (so that registering torch does not import torch);
- ``accepts(obj)``: whether a Python object is a model this backend runs. It must not import heavy
  libraries (look in ``sys.modules`` instead). :func:`for_object` asks the backends in ``priority``
  order (lower first; ties in registration order), so a specific backend (torch) is asked before a
  general one (any callable);
- ``suffixes``: the model files it loads (``".onnx"``); a path with one of them is accepted too;
- ``libraries``: the distributions whose versions the run's environment records; ``runtime``, the
  one the text report's setup line shows (default: the first);
- ``flops``: its FLOP counter ``(candidate, X_example) -> FlopCount | None``, a callable or
  ``"module:function"``; :meth:`Candidate.flops` calls it;
- ``converters``: ``{framework: (model, X_example) -> object this backend accepts}``, how a model
  trained in another framework reaches this backend (the digits suite exports to ONNX this way);
- ``description``: what it accepts, in words, for messages.

The built-in backends are registered below. A new backend is one module (its adapter class and
``register(Backend(...))``) plus its test: see docs/adding-a-backend.md.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from effbench.errors import ConfigError
from effbench.validation import Options, check, validate_name

__all__ = [
    "Backend",
    "backends",
    "by_priority",
    "for_object",
    "get",
    "library_names",
    "names",
    "register",
    "resolve",
    "unregister",
    "validate_name",
]


def _never(obj) -> bool:
    return False


def resolve(ref):
    """A callable or class given as itself or as ``"module:attribute"`` (imported now)."""
    if not isinstance(ref, str):
        return ref
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"reference: expected 'module:attribute', got {ref!r}")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class Backend:
    """How effbench finds, builds and describes one backend (see the module docstring)."""

    name: str
    adapter: Any                                   # a Candidate subclass or "module:Class"
    accepts: Callable[[Any], bool] = _never
    priority: int = 50
    suffixes: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    runtime: str | None = None
    flops: Any = None                              # (candidate, X_example) -> FlopCount | None, or "module:function"
    converters: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        validate_name(self.name, "backend name")
        check("priority", self.priority, int)
        for s in self.suffixes:
            if not (isinstance(s, str) and s.startswith(".") and len(s) > 1):
                raise ConfigError(f"suffixes: expected file suffixes such as '.onnx', got {s!r}")
        object.__setattr__(self, "suffixes", tuple(self.suffixes))
        object.__setattr__(self, "libraries", tuple(self.libraries))
        if self.runtime is None and self.libraries:
            object.__setattr__(self, "runtime", self.libraries[0])

    def claims(self, obj) -> bool:
        """True when this backend runs ``obj``: ``accepts(obj)``, or a path with one of its suffixes."""
        if self.suffixes and isinstance(obj, (str, os.PathLike)) and str(obj).endswith(self.suffixes):
            return True
        return bool(self.accepts(obj))

    def adapter_class(self) -> type:
        return resolve(self.adapter)

    def build(self, model: str, obj, **kwargs):
        """The candidate: ``adapter(model, obj, **kwargs)``."""
        return self.adapter_class()(model, obj, **kwargs)

    def count_flops(self, candidate, X_example):
        """The FLOP count per sample of ``candidate``, or None when this backend has no counter."""
        return None if self.flops is None else resolve(self.flops)(candidate, X_example)

    def converter(self, framework: str) -> Callable:
        """``(model, X_example) -> object this backend accepts``, for a model trained in ``framework``."""
        check("framework", framework, Options(self.converters))
        return resolve(self.converters[framework])


_REGISTRY: dict[str, Backend] = {}


def register(backend: Backend, *, replace: bool = False) -> Backend:
    """Add ``backend``; a name already registered is an error unless ``replace=True``."""
    if not isinstance(backend, Backend):
        raise ConfigError(f"backend: expected a Backend, got {type(backend).__name__}")
    if backend.name in _REGISTRY and not replace:
        raise ConfigError(f"backend {backend.name!r} is already registered (pass replace=True to replace it)")
    _REGISTRY[backend.name] = backend
    return backend


def unregister(name: str) -> Backend:
    """Remove a backend and return its declaration."""
    get(name)
    return _REGISTRY.pop(name)


def get(name: str) -> Backend:
    if name not in _REGISTRY:
        check("backend", name, Options(_REGISTRY))
    return _REGISTRY[name]


def names() -> tuple[str, ...]:
    """The registered backends' names, in registration order."""
    return tuple(_REGISTRY)


def backends() -> tuple[Backend, ...]:
    """The registered backends, in registration order."""
    return tuple(_REGISTRY.values())


def by_priority() -> tuple[Backend, ...]:
    """The registered backends in the order :func:`for_object` asks them."""
    order = {name: i for i, name in enumerate(_REGISTRY)}
    return tuple(sorted(_REGISTRY.values(), key=lambda b: (b.priority, order[b.name])))


def for_object(obj) -> Backend | None:
    """The first backend, in priority order, that claims ``obj``; None when none does."""
    return next((b for b in by_priority() if b.claims(obj)), None)


def library_names() -> tuple[str, ...]:
    """Every backend's libraries, in registration order, each once."""
    return tuple(dict.fromkeys(lib for b in _REGISTRY.values() for lib in b.libraries))


# -- the built-in backends ----------------------------------------------------------------------

def _is_torch_module(obj) -> bool:
    import sys

    torch = sys.modules.get("torch")  # a torch module exists only if torch is already imported
    return torch is not None and isinstance(obj, torch.nn.Module)


def _is_model_bytes(obj) -> bool:
    return isinstance(obj, (bytes, bytearray))


def _is_fitted_estimator(obj) -> bool:
    return hasattr(obj, "predict") and hasattr(obj, "get_params")


register(Backend(
    "sklearn", "effbench.candidates.sklearn_adapter:SklearnCandidate", _is_fitted_estimator, priority=30,
    libraries=("scikit-learn",), flops="effbench.measure.flops.sklearn:candidate_flops",
    description="a fitted scikit-learn estimator",
))
register(Backend(
    "torch", "effbench.candidates.torch_adapter:TorchCandidate", _is_torch_module, priority=10,
    libraries=("torch",), flops="effbench.measure.flops.torch:candidate_flops", description="a torch.nn.Module",
))
register(Backend(
    "onnxruntime", "effbench.candidates.onnx_adapter:OnnxCandidate", _is_model_bytes, priority=20,
    suffixes=(".onnx",), libraries=("onnx", "onnxruntime", "skl2onnx"), runtime="onnxruntime",
    flops="effbench.measure.flops.onnx:candidate_flops",
    converters={"torch": "effbench.candidates.onnx_convert:onnx_from_torch",
                "sklearn": "effbench.candidates.onnx_convert:onnx_from_sklearn"},
    description="an ONNX file path or bytes",
))
register(Backend(
    "callable", "effbench.candidates.callable_adapter:CallableCandidate", callable, priority=100,
    description="a callable f(X) -> labels",
))
