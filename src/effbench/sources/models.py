"""Model sources: load what users bring, by the reference's suffix or prefix.

    model, provenance = load_model("models/resnet.onnx")
    model, provenance = load_model("python:mypkg.models:build", args={"width": 32})

=========================  ======================  ==================================================
reference                  kind                    loaded with, and returned as
=========================  ======================  ==================================================
``*.onnx``                 ``onnx``                checked by an ONNX Runtime session; the path (``wrap`` runs it)
``*.pt2``                  ``torch.export``        ``torch.export.load(...).module()`` (``eval()`` a no-op)
``*.pt``, ``*.ts``         ``torchscript``         ``torch.jit.load`` (a ScriptModule)
``python:pkg.mod:factory`` ``python``              ``factory(**args)``: a torch Module, a fitted estimator or a callable
``*.skops``                ``skops``               ``skops.io.load``, types outside skops' trusted list only with trust
``*.pkl``, ``*.pickle``    ``pickle``              ``pickle.load``, only with trust (recorded)
``*.joblib``               ``joblib``              ``joblib.load``, only with trust (recorded)
``hf:PATH``                ``hf``                  transformers ``from_pretrained(PATH, local_files_only=True)`` (extra ``effbench[hf]``)
=========================  ======================  ==================================================

The provenance dict records how it was loaded: ``kind``, ``ref``, ``path``, ``sha256`` of a file,
``loader``, ``trusted`` (a pickle or untrusted skops types loaded on trust), ``weights``
(``"file"``, ``"factory"`` or ``"random"``), ``args``, ``class`` and ``inputs`` (the input signature
when the file tells it: a list of :meth:`InputSpec.to_dict`); ``output_specs`` the same for the
outputs (ONNX: each; ``.pt2``: its one tensor; ``hf:`` sequence classifiers: the logits); for a
scikit-learn estimator ``estimator_type`` (``classifier``, ``regressor`` or None), ``n_features``
(``n_features_in_``) and ``feature_names`` (``feature_names_in_``, when fitted on a table) and, for a
classifier, ``n_classes`` and ``scores`` (whether it has ``predict_proba``); for a ``python:`` torch
Module ``forward``: its ``forward`` parameters, which are required and whether it takes ``**kwargs``. The checks of
:mod:`effbench.sources.checks` read them. Any failure is one
:class:`~effbench.errors.ConfigError` line naming the model and the reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError
from effbench.sources.signature import InputSpec

__all__ = ["PREFIXES", "SUFFIXES", "input_signature", "load_model", "model_kind"]

SUFFIXES = {".onnx": "onnx", ".pt2": "torch.export", ".pt": "torchscript", ".ts": "torchscript",
            ".skops": "skops", ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib"}
PREFIXES = {"python:": "python", "hf:": "hf"}
_RANDOM_OK = ("python", "hf")


def model_kind(ref, *, field: str = "model") -> str:
    """What kind of source ``ref`` is (see the module's table), or :class:`ConfigError` listing the allowed ones."""
    if not isinstance(ref, (str, Path)):
        raise ConfigError(f"{field}: expected a model file or reference (a string), got {type(ref).__name__}")
    text = str(ref)
    for prefix, kind in PREFIXES.items():
        if text.startswith(prefix):
            if kind == "python" and len(text[len(prefix):].split(":")) != 2:
                raise ConfigError(f"{field}: a factory is python:package.module:function, got {text!r}")
            if not text[len(prefix):]:
                raise ConfigError(f"{field}: {prefix} needs a path after it, got {text!r}")
            return kind
    kind = SUFFIXES.get(Path(text).suffix.lower())
    if kind is None:
        raise ConfigError(f"{field}: cannot tell what kind of model {text!r} is; expected a file ending in "
                          f"{', '.join(SUFFIXES)}, or python:package.module:factory, or hf:PATH")
    return kind


def load_model(ref, *, trust_pickle: bool = False, weights: str | None = None, args: dict | None = None,
               field: str = "model"):
    """Load ``ref`` (see the module's table) -> ``(model, provenance)``.

    ``trust_pickle``: allow pickle and joblib files, and skops files holding types outside skops'
    trusted list. ``weights="random"``: the weights are random on purpose (python factories: recorded
    as declared; ``hf:`` models: built from their config without loading weights). ``args``: keyword
    arguments of a factory or of ``from_pretrained``."""
    kind = model_kind(ref, field=field)
    text = str(ref)
    args = dict(args or {})
    if weights not in (None, "random"):
        raise ConfigError(f"{field}: weights: expected 'random' or None, got {weights!r}")
    if weights == "random" and kind not in _RANDOM_OK:
        raise ConfigError(f"{field}: weights = 'random' applies to python: and hf: models; {text!r} is a {kind} file "
                          "whose weights are what it holds")
    if args and kind not in ("python", "hf"):
        raise ConfigError(f"{field}: args apply to python: factories and hf: models; {text!r} is a {kind} file")
    prov = {"kind": kind, "ref": text, "args": args, "trusted": False,
            "weights": "random" if weights == "random" else ("factory" if kind == "python" else "file")}
    if kind == "python":
        obj = _load_python(text[len("python:"):], args, field)
        prov.update(loader="python factory")
        _forward_facts(obj, prov)
    elif kind == "hf":
        obj = _load_hf(Path(text[len("hf:"):]).expanduser(), args, weights, field, prov)
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"{field}: {text!r} does not exist" if not path.exists() else f"{field}: {text!r} is not a file")
        prov.update(path=str(path.resolve()), sha256=_sha256(path))
        loader = {"onnx": _load_onnx, "torch.export": _load_pt2, "torchscript": _load_torchscript,
                  "skops": _load_skops, "pickle": _load_pickle, "joblib": _load_pickle}[kind]
        obj = loader(path, trust_pickle, field, prov)
    prov["class"] = f"{type(obj).__module__}.{type(obj).__qualname__}"
    prov.setdefault("inputs", None)
    _estimator_facts(obj, prov)
    return obj, prov


def _estimator_facts(obj, prov) -> None:
    """For a scikit-learn estimator: ``estimator_type`` (``classifier``, ``regressor`` or None, by
    scikit-learn's own ``is_classifier``/``is_regressor``), and for a classifier ``n_classes`` and
    ``scores`` (whether it has ``predict_proba``, which top-k reads)."""
    if not (hasattr(obj, "predict") and hasattr(obj, "get_params")):
        return
    from sklearn.base import is_classifier, is_regressor

    kind = "classifier" if is_classifier(obj) else "regressor" if is_regressor(obj) else None
    prov["estimator_type"] = kind
    classes = getattr(obj, "classes_", None)
    if kind == "classifier" and getattr(classes, "ndim", None) == 1:  # one output (multi-output: a list of arrays)
        prov.update(n_classes=len(classes), scores=hasattr(obj, "predict_proba"))
    n_features = getattr(obj, "n_features_in_", None)  # set by fit (a Pipeline: its first step's)
    if isinstance(n_features, (int, np.integer)) and not isinstance(n_features, bool):
        prov["n_features"] = int(n_features)
    names = getattr(obj, "feature_names_in_", None)  # fitted on a DataFrame: its column names, in order
    if names is not None:
        prov["feature_names"] = [str(n) for n in names]


def _forward_facts(obj, prov) -> None:
    """For a torch Module: the parameters of its ``forward`` (``inspect.signature``), which the named
    inputs a run gives it are checked against (:func:`effbench.sources.checks.check_inputs_fit`):
    ``params`` (names, in order), ``required`` (those without a default), ``var_keyword`` (it takes
    ``**kwargs``). Nothing when the signature cannot be read (a C-implemented or scripted forward)."""
    import inspect
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.nn.Module) or isinstance(obj, torch.jit.ScriptModule):
        return
    try:
        params = inspect.signature(obj.forward).parameters.values()
    except (TypeError, ValueError):
        return
    named = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    prov["forward"] = {"params": [p.name for p in named],
                       "required": [p.name for p in named if p.default is p.empty],
                       "var_keyword": any(p.kind == p.VAR_KEYWORD for p in params),
                       "var_positional": any(p.kind == p.VAR_POSITIONAL for p in params)}


def input_signature(provenance: dict) -> tuple[InputSpec, ...] | None:
    """The input signature recorded in a provenance dict, as :class:`InputSpec` objects (None when unknown)."""
    inputs = provenance.get("inputs")
    if not inputs:
        return None
    return tuple(InputSpec(i["name"], i["dtype"], tuple(i["shape"])) for i in inputs)


# -- one loader per kind --------------------------------------------------------------------------

def _failed(field, path, what, exc) -> ConfigError:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(reason) > 240:
        reason = reason[:237] + "..."
    return ConfigError(f"{field}: {str(path)!r} does not load as {what}: {reason}")


_ORT_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
               "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
               "tensor(bool)": "bool"}


def _load_onnx(path, trust, field, prov):
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - any failure to load is the user's file
        raise _failed(field, path, "an ONNX model (ONNX Runtime)", exc) from None
    prov["loader"] = "onnxruntime.InferenceSession"
    prov["inputs"] = [InputSpec(i.name, _ORT_DTYPES.get(i.type, i.type),
                                tuple(d if isinstance(d, int) else None for d in i.shape)).to_dict()
                      for i in session.get_inputs()]
    prov["outputs"] = [o.name for o in session.get_outputs()]
    prov["output_specs"] = [_spec(o.name, _ORT_DTYPES.get(o.type, o.type), o.shape) for o in session.get_outputs()]
    return str(path)


def _spec(name, dtype, shape) -> dict:
    """An input or output as a dict (:meth:`InputSpec.to_dict`), ``None`` for every dimension that is not a whole number."""
    return InputSpec(name, dtype, tuple(d if isinstance(d, int) else None for d in (shape or ()))).to_dict()


def _torch_dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _load_pt2(path, trust, field, prov):
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, "a torch.export archive (torch.export.load)", exc) from None
    user_inputs = list(program.graph_signature.user_inputs)
    inputs = []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs and hasattr(node.meta.get("val"), "shape"):
            val = node.meta["val"]
            inputs.append(_spec(node.name, _torch_dtype_name(val.dtype), val.shape))
    prov.update(loader="torch.export.load", inputs=inputs or None)
    if program.call_spec.out_spec is not None and program.call_spec.out_spec.is_leaf():  # one tensor: its dtype and shape
        out = next(n for n in program.graph.nodes if n.op == "output").args[0][-1]
        val = out.meta.get("val")
        if hasattr(val, "shape"):
            prov["output_specs"] = [_spec(out.name, _torch_dtype_name(val.dtype), val.shape)]
    from effbench.candidates.torch_archive import exported_module

    return exported_module(program)


def _load_torchscript(path, trust, field, prov):
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001
        hint = " (a .pt file must be saved with torch.jit.save; for a torch.save file use a python: factory)"
        raise ConfigError(str(_failed(field, path, "TorchScript (torch.jit.load)", exc)) + hint) from None
    names = [a.name for a in module.forward.schema.arguments[1:]]  # self first
    prov.update(loader="torch.jit.load", input_names=names)
    return module


def _load_skops(path, trust, field, prov):
    try:
        import skops.io as sio
    except ImportError:
        raise ConfigError(f"{field}: loading {path.name!r} needs skops (pip install skops)") from None
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, "a skops file", exc) from None
    if untrusted and not trust:
        raise ConfigError(f"{field}: {path.name!r} holds types outside skops' trusted list: {', '.join(untrusted)}; "
                          "set trust = true (or --trust-pickle) if you trust the file")
    try:
        obj = sio.load(str(path), trusted=list(untrusted) or None)
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, "a skops file (skops.io.load)", exc) from None
    prov.update(loader="skops.io.load", trusted=bool(untrusted), trusted_types=list(untrusted))
    return obj


def _load_pickle(path, trust, field, prov):
    kind = prov["kind"]
    if not trust:
        raise ConfigError(f"{field}: {path.name!r} is a {kind} file, which runs any code it holds when loaded; "
                          "load it only with trust = true (or --trust-pickle), or save the model with skops")
    try:
        if kind == "joblib":
            import joblib

            obj = joblib.load(path)
        else:
            import pickle

            with open(path, "rb") as f:
                obj = pickle.load(f)
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, f"a {kind} file", exc) from None
    prov.update(loader=f"{kind}.load", trusted=True)
    return obj


def _load_python(target: str, args: dict, field: str):
    from effbench.tasks.metrics import import_attribute

    module_name, attr = target.split(":")
    try:
        factory = import_attribute(module_name, attr)
    except ConfigError as exc:
        raise ConfigError(f"{field}: {exc}") from None
    if not callable(factory):
        raise ConfigError(f"{field}: python:{target} is a {type(factory).__name__}, not a factory function")
    try:
        obj = factory(**args)
    except Exception as exc:  # noqa: BLE001 - the user's factory failed; say how, in one line
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:240]
        raise ConfigError(f"{field}: python:{target}({', '.join(f'{k}={v!r}' for k, v in args.items())}) failed: {reason}") from None
    _check_made(obj, f"python:{target}", field)
    return obj


def _check_made(obj, what, field) -> None:
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.nn.Module):
        return
    if hasattr(obj, "predict") and hasattr(obj, "get_params"):
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(obj)
        except NotFittedError:
            raise ConfigError(f"{field}: {what} returned an unfitted {type(obj).__name__}; fit it in the factory") from None
        except TypeError:  # not a scikit-learn estimator after all; predict() is what is called
            pass
        return
    if not callable(obj):
        raise ConfigError(f"{field}: {what} returned a {type(obj).__name__}; expected a torch Module, a fitted "
                          "scikit-learn estimator or a callable f(X)")


_HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


def _load_hf(path: Path, args: dict, weights, field, prov):
    if not path.is_dir():
        raise ConfigError(f"{field}: hf:{path} is not a folder (hf:PATH names a local model folder saved with save_pretrained)")
    try:
        import transformers
    except ImportError:
        raise ConfigError(f"{field}: hf: models need transformers: pip install 'effbench[hf]'") from None
    try:
        config = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, "a Hugging Face model folder (config.json)", exc) from None
    archs = list(getattr(config, "architectures", None) or [])
    auto = (transformers.AutoModelForSequenceClassification if any(a.endswith("ForSequenceClassification") for a in archs)
            else transformers.AutoModel)
    has_weights = any((path / f).is_file() for f in _HF_WEIGHTS)
    try:
        if weights == "random":
            import torch

            torch.manual_seed(0)
            model = auto.from_config(config, **args)
        elif not has_weights:
            raise ConfigError(f"{field}: hf:{path} has no weights ({' or '.join(_HF_WEIGHTS[:2])}); set "
                              "weights = \"random\" to measure its cost with random weights")
        else:
            model = auto.from_pretrained(str(path), local_files_only=True, **args)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _failed(field, path, f"a Hugging Face model ({auto.__name__})", exc) from None
    model.eval()
    import inspect

    params = inspect.signature(model.forward).parameters
    names = [model.main_input_name] + [n for n in ("attention_mask", "token_type_ids") if n in params]
    prov.update(loader=f"transformers.{auto.__name__}." + ("from_config" if weights == "random" else "from_pretrained"),
                path=str(path.resolve()), model_type=getattr(config, "model_type", None), architectures=archs,
                transformers_version=transformers.__version__,
                inputs=None if model.main_input_name != "input_ids" else  # token ids: (batch, sequence)
                [InputSpec(n, "int64", (None, None)).to_dict() for n in names])
    if auto is transformers.AutoModelForSequenceClassification:  # the logits its candidate reads: one per label
        prov["output_specs"] = [_spec("logits", "float32", (None, int(config.num_labels)))]
    return model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
