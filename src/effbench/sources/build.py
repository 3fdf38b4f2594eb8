"""From a suite's candidate to the candidates that are measured: load the model, wrap it on its own
backend, and convert it to every other backend the suite asks for.

    cands, provenance = build_candidates(spec.candidates[0], X_example, device=spec.device)

Each candidate's ``info`` records where its model came from (``source``, ``ref``, ``weights``,
``trusted``, ``converted_from``), so a run stores it beside the candidate's figures.
"""

from __future__ import annotations

from effbench.errors import ConfigError

__all__ = ["build_candidates", "check_device", "native_candidate", "onnx_providers"]

# model kinds -> the framework whose converters make the other backends' objects
_ARCHIVES = ("torch.export", "torchscript")


def native_candidate(name: str, model, provenance: dict, *, device: str = "cpu", output=None, info=None):
    """The candidate that runs ``model`` (as :func:`~effbench.sources.models.load_model` returned it)
    on its own backend: archives as :class:`TorchArchiveCandidate` (they reach worker processes as
    their bytes), ``hf:`` models as torch candidates reading ``output`` (default ``"logits"``),
    everything else through :func:`effbench.candidates.wrap`."""
    from effbench.candidates import registry, wrap

    kind = provenance["kind"]
    info = dict(info or {})
    if kind in _ARCHIVES:
        from effbench.candidates.torch_archive import TorchArchiveCandidate

        return TorchArchiveCandidate(name, provenance["path"], kind, device=device, output=output, info=info)
    if kind == "hf":
        output = "logits" if output is None else output
    backend = registry.for_object(model)
    kwargs = {}
    if backend is not None and backend.name == "torch":
        kwargs = {"device": device, "output": output}
    elif backend is not None and backend.name == "onnxruntime":
        kwargs = {"output": output, "providers": onnx_providers(device, name)}
    elif output is not None:
        raise ConfigError(f"candidate {name!r}: output applies to torch and ONNX models; this is a "
                          f"{backend.name if backend else type(model).__name__} model")
    return wrap(name, model, info=info, **kwargs)


def onnx_providers(device: str, name: str = "") -> tuple:
    """ONNX Runtime's providers for ``device``: the CPU provider, or CUDA (device id from ``cuda:N``,
    the CPU provider behind it for operators CUDA lacks) when ONNX Runtime has it; a ConfigError
    when CUDA is asked for and this ONNX Runtime has no CUDA provider."""
    if not device.startswith("cuda"):
        return ("CPUExecutionProvider",)
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise ConfigError(f"device: {device!r} for {name or 'an ONNX model'}: this ONNX Runtime has no CUDA provider "
                          f"(it has {', '.join(ort.get_available_providers())}); install onnxruntime-gpu or use device = \"cpu\"")
    device_id = int(device.split(":")[1]) if ":" in device else 0
    return (("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider")


def check_device(device: str, field: str = "device", *, torch_module=None) -> str:
    """``device`` when this machine can run it: ``cpu``, or a CUDA device that PyTorch sees. A
    ConfigError (one line) otherwise, raised before any model is loaded or anything measured.
    Without PyTorch, a CUDA device is left to ONNX Runtime's provider check (:func:`onnx_providers`)."""
    import re

    if not (isinstance(device, str) and re.fullmatch(r"cpu|cuda(:\d+)?", device)):
        raise ConfigError(f"{field}: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device == "cpu":
        return device
    torch = torch_module
    if torch is None:
        try:
            import torch
        except ImportError:
            return device
    if not torch.cuda.is_available():
        build = "a CPU-only build" if getattr(torch.version, "cuda", None) is None else f"built for CUDA {torch.version.cuda}"
        raise ConfigError(f"{field}: {device!r} needs an NVIDIA GPU, and PyTorch sees none on this machine (torch "
                          f"{torch.__version__}, {build}); use device = \"cpu\" (--device cpu)")
    index, count = int(device.split(":")[1]) if ":" in device else 0, torch.cuda.device_count()
    if index >= count:
        raise ConfigError(f"{field}: {device!r}: this machine has {count} CUDA GPU{'s' if count != 1 else ''} "
                          f"(cuda:0 to cuda:{count - 1})")
    return device


def build_candidates(spec, X_example, *, trust_pickle: bool = False, device: str = "cpu", field: str | None = None,
                     check=None):
    """``(candidates, provenance)`` for one :class:`~effbench.sources.suite.CandidateSpec`: the model
    on its own backend, then on every other backend in ``spec.backends`` through the registry's
    converters (``X_example``: a batch of inputs, which converters trace the model with). A backend
    that cannot take this model is a :class:`ConfigError` naming the field. ``check(provenance)``:
    called once the model is loaded, before it is wrapped or converted (the run's inputs against it)."""
    from effbench.candidates import registry
    from effbench.sources.models import load_model

    where = field or f"candidate {spec.name!r}"
    model, prov = load_model(spec.model, trust_pickle=trust_pickle or spec.trust, weights=spec.weights,
                             args=spec.args, field=f"{where}.model" if field else where)
    if check is not None:
        check(prov)
    info = {"source": prov["kind"], "ref": prov["ref"], "weights": prov["weights"], "trusted": prov["trusted"]}
    native = native_candidate(spec.name, model, prov, device=device, output=spec.output, info=info)
    if native.backend == "callable" and prov["kind"] == "python":  # a closure travels to workers as its recipe
        native.factory = (spec.model[len("python:"):], dict(spec.args or {}))
    wanted = list(spec.backends) if spec.backends else [native.backend]
    out = [native] if native.backend in wanted else []
    module = getattr(native, "module", model)  # an archive's loaded module
    for b in wanted:
        if b == native.backend:
            continue
        backend = registry.get(b)
        if native.backend not in backend.converters:
            raise ConfigError(f"{where}.backends: {spec.name!r} is a {native.backend} model; {b} can take models from "
                              f"{', '.join(backend.converters) or 'no other framework'}")
        try:
            converted = backend.converter(native.backend)(module, X_example)
        except Exception as exc:  # noqa: BLE001 - a model that does not export is the user's
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:240]
            raise ConfigError(f"{where}.backends: converting {spec.name!r} from {native.backend} to {b} failed: {reason}") from None
        kwargs = {"output": spec.output} if b in ("torch", "onnxruntime") and spec.output is not None else {}
        if b == "onnxruntime":
            kwargs["providers"] = onnx_providers(device, spec.name)
        elif b == "torch":
            kwargs["device"] = device
        out.append(backend.build(spec.name, converted, info={**info, "converted_from": native.backend}, **kwargs))
    for c in out:  # recorded beside the candidate's figures: where it ran (only torch and ONNX Runtime use a GPU)
        c.info["device"] = device if c.backend in ("torch", "onnxruntime") else "cpu"
    return out, prov
