"""Convert PyTorch modules and scikit-learn estimators to ONNX bytes with a dynamic batch axis.

Both converters name the (first) input ``"input"``. torch, onnx and skl2onnx are imported inside
the functions.
"""

from __future__ import annotations

import io
import warnings

from effbench.errors import CandidateError
from effbench.validation import Interval, Options, check

__all__ = ["onnx_from_sklearn", "onnx_from_torch", "output_names", "sklearn_to_onnx_bytes", "torch_to_onnx_bytes"]

_DTYPES = ("float32", "float64")


def _export_legacy(torch, module, args, input_names, output_names, dynamic_axes, opset) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter works here but announces its deprecation on every call.
        warnings.filterwarnings(
            "ignore", message=r"You are using the legacy TorchScript-based ONNX export", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore", message=r"The feature will be removed", category=DeprecationWarning, module=r"torch\.onnx"
        )
        torch.onnx.export(
            module,
            args,
            buffer,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return buffer.getvalue()


def _export_dynamo(torch, module, args, input_names, output_names, dynamic_axes, opset) -> bytes:
    batch = torch.export.Dim("batch")
    # torch.export specialises a dimension of size 1: trace with a batch of at least 2.
    args = tuple(torch.cat([a, a]) if a.shape[0] == 1 else a for a in args)
    program = torch.onnx.export(
        module,
        args,
        input_names=input_names,
        output_names=output_names,
        dynamic_shapes=tuple({0: batch} for _ in args),
        opset_version=opset,
        dynamo=True,
        verbose=False,
    )
    return program.model_proto.SerializeToString()


def _legacy_exporter_available() -> bool:
    import importlib.util
    import inspect

    import torch

    try:
        has_flag = "dynamo" in inspect.signature(torch.onnx.export).parameters
    except (TypeError, ValueError):
        has_flag = False
    try:
        has_module = importlib.util.find_spec("torch.onnx._internal.torchscript_exporter") is not None
    except ModuleNotFoundError:
        has_module = False
    return has_flag and (has_module or hasattr(torch.onnx, "utils"))


def torch_to_onnx_bytes(module, example_input, *, opset: int = 17, input_names=None) -> bytes:
    """Export ``module`` to ONNX bytes: input ``"input"`` (more inputs: ``input_1``...), batch axis 0 dynamic.
    The outputs keep the names the module gives them (:func:`output_names`): one tensor is ``"output"``,
    a dict or Hugging Face ``ModelOutput`` its keys, a named tuple its fields, a plain tuple ``"output"``,
    ``"output_1"``...; so ``output = "logits"`` reads the same scores on torch and on ONNX Runtime.
    The module is exported in eval mode (its training flag is restored).

    Uses the TorchScript exporter (``dynamo=False``, its DeprecationWarning silenced) and falls back to
    the ``torch.export`` exporter (``dynamo=True``) when the TorchScript one is not available.
    """
    import torch

    opset = check("opset", opset, Interval(int, 7, 30))
    from effbench.measure.flops.torch import mha_fastpath_off, torch_args

    args = torch_args(example_input)
    input_names = list(input_names or ["input"] + [f"input_{i}" for i in range(1, len(args))])
    dynamic_axes = {name: {0: "batch"} for name in input_names}
    modes = {m: m.training for m in module.modules()} if isinstance(module, torch.nn.Module) else {}
    if isinstance(module, torch.nn.Module):
        module.eval()
    try:
        with torch.no_grad(), mha_fastpath_off():  # the fused attention kernel has no ONNX export
            out = module(*args)
            flat = _flat_outputs(out)
            output_names = [name for name, _ in flat]
            dynamic_axes.update({name: {0: "batch"} for name, t in flat if t.dim() > 0})
            if _legacy_exporter_available():
                try:
                    return _export_legacy(torch, module, args, input_names, output_names, dynamic_axes, opset)
                except ImportError:  # the TorchScript exporter was removed from this build
                    pass
            return _export_dynamo(torch, module, args, input_names, output_names, dynamic_axes, opset)
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
        raise CandidateError(f"torch.onnx.export failed for {type(module).__name__}: {type(exc).__name__}: {exc}") from exc
    finally:
        for m, training in modes.items():
            m.training = training


def output_names(out) -> list:
    """The ONNX output names of a module's output ``out``, in the order the export flattens it: one
    tensor ``["output"]``; a dict (or Hugging Face ``ModelOutput``) its keys; a named tuple its fields;
    a plain tuple or list ``output``, ``output_1``, ...; nested containers ``key.field`` or ``key.1``.
    Entries that are not tensors (``None``, numbers) are left out. Both exporters flatten an output in
    this order (the TorchScript one by value order, ``torch.export`` by its pytree), so the names given
    to them line up with the graph's outputs."""
    return [name for name, _ in _flat_outputs(out)]


def _flat_outputs(out, prefix=None) -> list:
    """``[(name, tensor), ...]`` of ``out`` by the rule of :func:`output_names`."""
    import torch

    if isinstance(out, torch.Tensor):
        return [(prefix or "output", out)]
    if isinstance(out, dict):
        items = [(str(k), v) for k, v in out.items()]
    elif isinstance(out, tuple) and hasattr(out, "_fields"):  # a named tuple
        items = list(zip(out._fields, out))
    elif isinstance(out, (tuple, list)):
        items = [(str(i) if prefix is not None else "output" if i == 0 else f"output_{i}", v) for i, v in enumerate(out)]
    else:
        return []
    return [p for name, v in items for p in _flat_outputs(v, name if prefix is None else f"{prefix}.{name}")]


def sklearn_to_onnx_bytes(estimator, n_features: int, *, dtype: str = "float32") -> bytes:
    """Convert a fitted scikit-learn estimator or Pipeline to ONNX bytes with skl2onnx.

    Input ``"input"`` of shape (batch, n_features) with a dynamic batch. Classifiers (or a Pipeline
    ending in one) are converted with ``zipmap=False``: outputs ``label`` and ``probabilities`` are
    plain tensors.
    """
    n_features = check("n_features", n_features, Interval(int, 1, None))
    check("dtype", dtype, Options(_DTYPES))
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.base import is_classifier
    from sklearn.pipeline import Pipeline

    tensor_type = FloatTensorType if dtype == "float32" else DoubleTensorType
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    options = {id(final): {"zipmap": False}} if is_classifier(final) else None
    try:
        with warnings.catch_warnings():
            # skl2onnx reads SVC.probA_/probB_, deprecated in scikit-learn 1.9: not the user's doing.
            warnings.filterwarnings("ignore", message=r"Attribute `prob[AB]_` was deprecated", category=FutureWarning)
            onx = convert_sklearn(
                estimator,
                initial_types=[("input", tensor_type([None, n_features]))],
                options=options,
            )
    except Exception as exc:  # skl2onnx raises many types (RuntimeError, NotImplementedError, ValueError...)
        root = exc
        while (root.__cause__ or root.__context__) is not None:
            root = root.__cause__ or root.__context__
        first_line = (str(exc).splitlines() or [""])[0][:200]
        cause = "" if root is exc else f" (root cause {type(root).__name__}: {str(root)[:200]})"
        raise CandidateError(
            f"skl2onnx cannot convert {type(estimator).__name__}: {type(exc).__name__}: {first_line}{cause}"
        ) from exc
    return onx.SerializeToString()


def onnx_from_torch(module, X_example) -> bytes:
    """The ``onnxruntime`` backend's converter from ``torch``: export with one numpy row as the example.

    A dict of named inputs (``module(**inputs)``) is exported with the names as the graph's input
    names, in the order of the module's ``forward`` parameters, so ONNX Runtime is fed by name."""
    import torch

    from effbench.measure.inputs import as_batch

    if not isinstance(X_example, dict):
        return torch_to_onnx_bytes(module, torch.from_numpy(as_batch(X_example[:1])))
    names = _forward_order(module, list(X_example))
    args = tuple(torch.from_numpy(as_batch(X_example[k][:1])) for k in names)
    return torch_to_onnx_bytes(_by_name(module, names), args, input_names=names)


def _forward_order(module, names: list) -> list:
    """``names`` in the order of ``module.forward``'s parameters (the rest after, as given)."""
    import inspect

    try:
        params = list(inspect.signature(module.forward).parameters)
    except (TypeError, ValueError):
        return names
    return [p for p in params if p in names] + [n for n in names if n not in params]


def _by_name(module, names):
    """``module``, which takes named inputs, as a module that takes them positionally (for the exporter)."""
    import torch

    class Named(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *args):
            return self.inner(**dict(zip(names, args)))

    return Named()


def onnx_from_sklearn(estimator, X_example) -> bytes:
    """The ``onnxruntime`` backend's converter from ``sklearn``: the input width is ``X_example``'s."""
    return sklearn_to_onnx_bytes(estimator, X_example.shape[1])
