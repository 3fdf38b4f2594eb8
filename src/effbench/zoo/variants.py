"""Compressed variants of any PyTorch classifier: quantized, pruned, distilled, exported to ONNX Runtime.

Each variant is a candidate of its own (model name ``<source>.<suffix>``, e.g. ``cnn_wide.int8dyn``),
linked to its source by ``parent`` (the source candidate key), with the variant kind and its
parameters in the candidate info, so every analysis compares it with its source.

Variant kinds (suffixes of the default plan in brackets):

- dynamic int8 quantization of the ``nn.Linear`` layers (``int8dyn``):
  ``torch.ao.quantization.quantize_dynamic``; weights int8, activations quantized on the fly;
- static int8 quantization (``int8static``): FX graph mode (``prepare_fx`` / ``convert_fx``) with
  the engine's default qconfig mapping, calibrated on training inputs. The converted FX module cannot
  be pickled on torch 2.13 (``ConvReLU2d`` has no ``_modules`` when the graph is re-traced), so the
  candidate travels to its worker as its recipe (float source, calibration inputs, engine) and is
  rebuilt there, deterministically;
- unstructured magnitude pruning (``prune50u``, ``prune90u``): ``torch.nn.utils.prune.l1_unstructured``
  on every Conv/Linear weight, optional fine-tuning with the masks in place, then ``prune.remove``.
  The tensors stay dense: size, FLOPs counted by ``FlopCounterMode`` and latency do not shrink; the
  info records ``nonzero_params``, ``sparsity`` and the FLOPs a sparsity-aware counter would report;
- structured channel pruning (``prune50s``): the output channels with the smallest L1 norm
  (``prune.ln_structured``, n=1) are physically removed from a Conv/Linear layer and the matching
  inputs of the next layer (through activations, BatchNorm, pooling, flatten), so the dense
  kernels really are smaller; then optional fine-tuning;
- knowledge distillation (``distil``) into a smaller student (Hinton et al., 2015):
  ``loss = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``, and the same
  student, same initial weights and batch order, trained from the labels alone (``student``);
- ONNX Runtime export without graph optimisations (``ortnoopt``; the suite's ``<model>/onnxruntime``
  candidate is the export with every optimisation, ``graph_optimization="all"``).

torch is imported inside the functions (lazy heavy imports).
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from effbench.candidates.torch_adapter import TorchCandidate
from effbench.errors import CandidateError, ConfigError
from effbench.records import CandidateRecord
from effbench.validation import Options, check

# --variants groups -> the variant suffixes they add
VARIANT_GROUPS = {
    "quant": ("int8dyn", "int8static"),
    "prune": ("prune50u", "prune90u", "prune50s"),
    "distil": ("distil", "student"),
    "onnx-opt": ("ortnoopt",),
}
DISTILL_TEMPERATURE = 4.0
DISTILL_ALPHA = 0.7
CALIBRATION_EXAMPLES = 512
_PRUNABLE = ("Conv1d", "Conv2d", "Conv3d", "Linear")


@dataclass(frozen=True)
class VariantSpec:
    """One variant to build: its model-name suffix, kind, parameters and backend."""

    suffix: str
    kind: str            # quant-dynamic | quant-static | prune-unstructured | prune-structured | distil | student-labels | onnx
    params: dict = field(default_factory=dict)
    backend: str = "torch"


def check_sparsity(value, field_name: str = "sparsity") -> float:
    """A sparsity is a share of weights in [0, 1); anything else is a ConfigError."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field_name} must be a number in [0, 1); got {value!r}") from None
    if not (0.0 <= s < 1.0):
        raise ConfigError(f"{field_name} must lie in [0, 1) (the share of weights removed); got {value!r}")
    return s


def standard_variants(suffixes=None) -> list[VariantSpec]:
    """The default plan: the specs for the given suffixes (all of VARIANT_GROUPS when None)."""
    table = {
        "int8dyn": VariantSpec("int8dyn", "quant-dynamic", {"dtype": "qint8", "layers": "Linear"}),
        "int8static": VariantSpec("int8static", "quant-static", {"mode": "fx", "calibration_examples": CALIBRATION_EXAMPLES}),
        "prune50u": VariantSpec("prune50u", "prune-unstructured", {"sparsity": 0.5, "finetune_epochs": 2}),
        "prune90u": VariantSpec("prune90u", "prune-unstructured", {"sparsity": 0.9, "finetune_epochs": 2}),
        "prune50s": VariantSpec("prune50s", "prune-structured", {"sparsity": 0.5, "finetune_epochs": 2}),
        "distil": VariantSpec("distil", "distil", {"temperature": DISTILL_TEMPERATURE, "alpha": DISTILL_ALPHA}),
        "student": VariantSpec("student", "student-labels", {}),
        "ortnoopt": VariantSpec("ortnoopt", "onnx", {"graph_optimization": "disable"}, backend="onnxruntime"),
    }
    if suffixes is None:
        suffixes = [s for group in VARIANT_GROUPS.values() for s in group]
    return [table[s] for s in suffixes]


def parse_variant_groups(value) -> tuple[str, ...]:
    """'all' | 'none' | 'quant,prune,distil,onnx-opt' (a string or a list) -> the group names."""
    if value is None:
        return ()
    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if str(v).strip()]
    if items in (["none"], []):
        return ()
    if items == ["all"]:
        return tuple(VARIANT_GROUPS)
    unknown = [v for v in items if v not in VARIANT_GROUPS]
    if unknown:
        raise ConfigError(f"--variants: unknown variant group {unknown[0]!r}; allowed: all, none, {', '.join(VARIANT_GROUPS)}")
    return tuple(dict.fromkeys(items))


# -- candidates -------------------------------------------------------------------------------------

class VariantTorchCandidate(TorchCandidate):
    """A torch variant. Quantized modules hold packed weights that are not ``nn.Parameter`` and that
    torch's FLOP counter does not see: their parameter count and FLOPs are those of the float source
    (same operations, int8 arithmetic), which the FLOP count's notes say."""

    def __init__(self, model, module, *, float_source=None, param_count=None, **kwargs):
        super().__init__(model, module, **kwargs)
        self.float_source = float_source
        self._param_count = param_count

    def param_count(self):
        return int(self._param_count) if self._param_count is not None else super().param_count()

    def flops(self, X_example):
        if self.float_source is None:
            return super().flops(X_example)
        from effbench.measure.flops import count_torch_flops

        f = count_torch_flops(self.float_source, self.prepare(X_example))
        note = "counted on the float source model: the quantized model runs the same operations in int8"
        return replace(f, notes=(f.notes + "; " if f.notes else "") + note)


class StaticQuantTorchCandidate(VariantTorchCandidate):
    """FX static-int8 model; pickled as its recipe and rebuilt (deterministically) where it is loaded."""

    def __init__(self, model, float_module, calibration, engine, **kwargs):
        self._recipe = (float_module, np.ascontiguousarray(calibration, dtype=np.float32), engine)
        qmodule, _ = _fx_static(float_module, calibration, engine)
        super().__init__(model, qmodule, float_source=float_module, **kwargs)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["module"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.module = _fx_static(*self._recipe)[0]

    def serialized(self) -> bytes:
        buf = io.BytesIO()
        self._torch().save(self.module.state_dict(), buf)
        return buf.getvalue()


# -- building blocks (usable on any module) ----------------------------------------------------------

def _quiet():
    """torch.ao.quantization warns that it is deprecated (in favour of torchao) on every call."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
    warnings.filterwarnings("ignore", message=r".*reduce_range will be deprecated.*")
    warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*")
    warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated.*")
    return ctx


def _count_layers(module) -> dict:
    import torch

    q = f = 0
    for m in module.modules():
        name = type(m).__name__
        if type(m).__module__.startswith("torch.ao.nn.quantized.reference"):
            f += 1  # a "reference" quantized layer dequantizes, runs the float kernel, quantizes again
        elif type(m).__module__.startswith("torch.ao.nn.quantized") or type(m).__module__.startswith("torch.ao.nn.intrinsic.quantized"):
            if name not in ("Quantize", "DeQuantize") and "PackedParams" not in name:
                q += 1
        elif isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            f += 1
    return {"quantized_layers": q, "float_layers": f}


def quantize_dynamic_int8(module):
    """Dynamic int8 quantization of the Linear layers (a copy). Returns (module, info)."""
    import torch

    ctx = _quiet()
    try:
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(module).eval(), {torch.nn.Linear}, dtype=torch.qint8)
    finally:
        ctx.__exit__(None, None, None)
    info = {"api": "torch.ao.quantization.quantize_dynamic", "dtype": "qint8", "layers": "Linear",
            "quantized_engine": torch.backends.quantized.engine, **_count_layers(q)}
    if info["quantized_layers"] == 0:
        raise CandidateError("dynamic int8 quantization: the model has no nn.Linear layer to quantize")
    return q, info


def _fx_static(float_module, calibration, engine):
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    ctx = _quiet()
    try:
        torch.backends.quantized.engine = engine
        X = torch.from_numpy(np.ascontiguousarray(calibration, dtype=np.float32))
        prepared = prepare_fx(copy.deepcopy(float_module).eval(), get_default_qconfig_mapping(engine), (X[:2],))
        with torch.no_grad():
            for start in range(0, len(X), 128):
                prepared(X[start:start + 128])
        q = convert_fx(prepared)
    finally:
        ctx.__exit__(None, None, None)
    return q, _count_layers(q)


def quantize_static_int8(module, calibration_X):
    """Static int8 quantization in FX graph mode, calibrated on ``calibration_X``. Returns (module, info).

    Raises CandidateError when the model cannot be traced by torch.fx or nothing could be quantized.
    """
    import torch

    engine = torch.backends.quantized.engine
    try:
        q, counts = _fx_static(module, calibration_X, engine)
    except Exception as exc:  # noqa: BLE001 - torch.fx raises many kinds of errors on untraceable models
        raise CandidateError(f"static int8 quantization (FX graph mode) failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if counts["quantized_layers"] == 0:
        raise CandidateError("static int8 quantization (FX graph mode): no layer of this model was quantized")
    info = {"api": "torch.ao.quantization.quantize_fx (prepare_fx/convert_fx)", "qconfig": f"get_default_qconfig_mapping({engine!r})",
            "calibration_examples": int(len(calibration_X)), "quantized_engine": engine, **counts}
    return q, info


def _prunable(module):
    return [(name, m) for name, m in module.named_modules() if type(m).__name__ in _PRUNABLE and getattr(m, "weight", None) is not None]


def sparsity_facts(module) -> dict:
    """Parameters, non-zero parameters and the zero share of the prunable (Conv/Linear) weights."""
    import torch

    params = sum(p.numel() for p in module.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in module.parameters())
    w = [m.weight for _, m in _prunable(module)]
    w_total = sum(t.numel() for t in w)
    w_zero = sum(int((t == 0).sum()) for t in w)
    return {"params": int(params), "nonzero_params": int(nonzero), "prunable_weights": int(w_total),
            "weight_sparsity": (w_zero / w_total) if w_total else 0.0,
            "sparsity": 1.0 - nonzero / params if params else 0.0}


def sparse_aware_flops(module, example_input) -> dict:
    """FLOPs per sample of the Conv/Linear layers counted two ways: every weight (what a dense kernel and
    torch's FlopCounterMode do), and only the non-zero weights (what a sparsity-aware counter reports).
    FLOPs = 2 x MACs; per layer 2 x weights x output positions."""
    import torch

    dense = nonzero = 0.0
    hooks = []

    def hook(m, inp, out):
        nonlocal dense, nonzero
        channels = m.out_features if isinstance(m, torch.nn.Linear) else m.out_channels
        positions = out[0].numel() // channels  # output positions per sample: each weight is used once at each
        dense += 2.0 * m.weight.numel() * positions
        nonzero += 2.0 * float(torch.count_nonzero(m.weight)) * positions

    for _, m in _prunable(module):
        hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            module.eval()(example_input[:1])
    finally:
        for h in hooks:
            h.remove()
    return {"conv_linear_flops_per_sample_dense": dense, "conv_linear_flops_per_sample_nonzero": nonzero}


def prune_unstructured(module, sparsity: float, *, finetune=None):
    """L1 magnitude pruning of every Conv/Linear weight, layer by layer, at ``sparsity`` (a copy).

    ``finetune``: optional callable(module) that trains with the masks in place (the pruned
    weights stay zero). The pruning is made permanent (``prune.remove``). Returns (module, info).
    """
    from torch.nn.utils import prune

    s = check_sparsity(sparsity)
    m = copy.deepcopy(module).eval()
    layers = _prunable(m)
    if not layers:
        raise CandidateError("unstructured pruning: the model has no Conv/Linear layer")
    for _, layer in layers:
        prune.l1_unstructured(layer, "weight", amount=s)
    facts = {}
    if finetune is not None:
        facts = finetune(m) or {}
    for _, layer in layers:
        prune.remove(layer, "weight")
    info = {"method": "torch.nn.utils.prune.l1_unstructured per layer, then prune.remove", "target_sparsity": s,
            "layers": [n for n, _ in layers], **sparsity_facts(m)}
    if facts:
        info["finetune"] = facts
    return m.eval(), info


def prune_structured(module, sparsity: float, example_input, *, finetune=None):
    """Remove ``sparsity`` of the output channels of every Conv/Linear layer whose output feeds exactly one
    next Conv/Linear through channel-preserving ops (activations, BatchNorm, pooling, dropout, flatten).

    Channels are chosen by ``prune.ln_structured`` (L1 norm of each output filter) and then physically
    removed, with the matching inputs of the next layer and the BatchNorm statistics in between.
    Returns (module, info); CandidateError when no layer can be pruned this way.
    """
    s = check_sparsity(sparsity)
    m = copy.deepcopy(module).eval()
    graph = _ChannelGraph(_trace_with_shapes(m, example_input))
    pairs = graph.pairs()
    if not pairs:
        raise CandidateError("structured pruning: no Conv/Linear layer feeds exactly one next layer through channel-preserving ops")
    keep_out, keep_in = _channels_to_keep(graph.mods, pairs, s)
    before = sparsity_facts(m)
    channels = _remove_channels(m, graph.mods, keep_out, keep_in)
    _check_runs(m, example_input)
    facts = finetune(m) if finetune is not None else None
    after = sparsity_facts(m)
    info = {"method": "prune.ln_structured (n=1, dim=0) picks the channels; they are physically removed",
            "target_sparsity": s, "channels": channels, "params_before": before["params"], "params": after["params"],
            "nonzero_params": after["nonzero_params"], "sparsity": after["sparsity"],
            "params_removed_share": 1.0 - after["params"] / before["params"] if before["params"] else 0.0}
    if facts:
        info["finetune"] = facts
    return m.eval(), info


def _first_line(exc) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def _trace_with_shapes(m, example_input):
    """The torch.fx graph of ``m`` with each node's output shape (``meta["tensor_meta"]``)."""
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        gm = fx.symbolic_trace(m)
        ShapeProp(gm).propagate(example_input[:2])
    except Exception as exc:  # noqa: BLE001
        raise CandidateError(f"structured pruning needs a model torch.fx can trace: {type(exc).__name__}: {_first_line(exc)}") from None
    return gm


class _ChannelGraph:
    """Which layers' output channels can be removed: each Conv/Linear followed, node by node, through the
    ops that keep channels apart (activations, BatchNorm, pooling, dropout, one flatten) to the one next
    Conv/Linear that reads them."""

    def __init__(self, gm):
        import torch
        import torch.nn.functional as F
        from torch import nn

        self.gm = gm
        self.mods = dict(gm.named_modules())
        self._nn = nn
        self._flatten_fn = torch.flatten
        self._batchnorm = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        self._passthrough_mod = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.Dropout, nn.Identity,
                                 nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
        self._passthrough_fn = {torch.relu, F.relu, torch.sigmoid, torch.tanh, F.gelu, F.max_pool2d, F.avg_pool2d}

    def pairs(self) -> list[tuple]:
        """(producer name, consumer name, [BatchNorm names], per-channel block size in the consumer's input)."""
        found = (self.follow(node) for node in self.gm.graph.nodes if self.is_layer(node))
        return [pair for pair in found if pair is not None]

    def is_layer(self, node) -> bool:
        """A Linear, or a Conv that is not grouped."""
        if node.op != "call_module":
            return False
        mod = self.mods[node.target]
        if isinstance(mod, (self._nn.Conv1d, self._nn.Conv2d, self._nn.Conv3d)):
            return mod.groups == 1
        return isinstance(mod, self._nn.Linear)

    def follow(self, node):
        """The pair that starts at layer ``node``, or None when its channels do not reach exactly one next layer."""
        cur, bns, block, flattened = node, [], 1, False
        while True:
            users = list(cur.users)
            if len(users) != 1:
                return None
            u = users[0]
            if self.is_layer(u):
                return (node.target, u.target, bns, block) if self._reads_channels(u, cur, flattened) else None
            if self._keeps_channels(u, cur):
                cur = u
            elif u.op == "call_module" and isinstance(self.mods[u.target], self._batchnorm):
                bns.append(u.target)
                cur = u
            elif self._is_flatten(u) and not flattened:
                if self._flatten_start(u) != 1:
                    return None
                shape = cur.meta.get("tensor_meta").shape
                block = int(np.prod(shape[2:])) if len(shape) > 2 else 1
                flattened, cur = True, u
            else:
                return None

    def _reads_channels(self, consumer, cur, flattened) -> bool:
        """A Linear after a flatten, a Conv before one, a Linear on a 2-d output."""
        is_linear = isinstance(self.mods[consumer.target], self._nn.Linear)
        if flattened:
            return is_linear
        return not is_linear or len(cur.meta.get("tensor_meta").shape) == 2

    def _keeps_channels(self, u, cur) -> bool:
        if u.op == "call_module":
            return isinstance(self.mods[u.target], self._passthrough_mod)
        return u.op == "call_function" and u.target in self._passthrough_fn and bool(u.args) and u.args[0] is cur

    def _is_flatten(self, u) -> bool:
        return ((u.op == "call_function" and u.target is self._flatten_fn)
                or (u.op == "call_module" and isinstance(self.mods[u.target], self._nn.Flatten))
                or (u.op == "call_method" and u.target == "flatten"))

    def _flatten_start(self, u) -> int:
        if u.op == "call_module":
            return self.mods[u.target].start_dim
        return u.args[1] if len(u.args) > 1 else u.kwargs.get("start_dim", 0)


def _channels_to_keep(mods, pairs, s):
    """The output channels each producer (and its BatchNorms) keeps, by ``prune.ln_structured``, and the
    (channels, block size) each consumer's input keeps. At least the strongest channel is kept."""
    import torch
    from torch.nn.utils import prune

    keep_out: dict = {}
    keep_in: dict = {}
    for prod, cons, bns, block in pairs:
        layer = mods[prod]
        n_out = layer.weight.shape[0]
        probe = copy.deepcopy(layer)
        prune.ln_structured(probe, "weight", amount=s, n=1, dim=0)
        kept = torch.nonzero(probe.weight_mask.reshape(n_out, -1).sum(dim=1) > 0).flatten()
        if len(kept) == 0:
            kept = layer.weight.detach().reshape(n_out, -1).abs().sum(dim=1).argmax().reshape(1)
        keep_out[prod] = kept
        keep_in[cons] = (kept, block)
        for bn in bns:
            keep_out[bn] = kept
    return keep_out, keep_in


def _remove_channels(m, mods, keep_out, keep_in) -> dict:
    """Replace every affected layer of ``m`` by a smaller copy; returns {layer: [channels before, after]}."""
    from torch import nn

    channels = {}
    for name in dict.fromkeys(list(keep_out) + list(keep_in)):
        old = mods[name]
        if isinstance(old, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            new = _sliced_batchnorm(old, keep_out[name])
        else:
            new = _sliced_layer(old, keep_in.get(name), keep_out.get(name))
            if name in keep_out:
                channels[name] = [int(old.weight.shape[0]), int(new.weight.shape[0])]
        _set_submodule(m, name, new)
    return channels


def _sliced_batchnorm(old, kept):
    """A copy of BatchNorm ``old`` over the ``kept`` channels (affine parameters and running statistics)."""
    from torch import nn

    new = copy.deepcopy(old)
    new.num_features = len(kept)
    for attr in ("weight", "bias"):
        if getattr(old, attr) is not None:
            setattr(new, attr, nn.Parameter(getattr(old, attr).detach()[kept].clone()))
    for attr in ("running_mean", "running_var"):
        if getattr(old, attr) is not None:
            setattr(new, attr, getattr(old, attr)[kept].clone())
    return new


def _sliced_layer(old, keep_in, kept_out):
    """A copy of Conv/Linear ``old`` with only the kept inputs ((channels, block size), or None for all)
    and the kept output channels (None for all)."""
    import torch
    from torch import nn

    new = copy.deepcopy(old)
    w = old.weight.detach()
    b = old.bias.detach() if old.bias is not None else None
    if keep_in is not None:
        k, block = keep_in
        idx = (k[:, None] * block + torch.arange(block)[None, :]).flatten() if block > 1 else k
        w = w[:, idx]
    if kept_out is not None:
        w = w[kept_out]
        b = b[kept_out] if b is not None else None
    new.weight = nn.Parameter(w.clone())
    if b is not None:
        new.bias = nn.Parameter(b.clone())
    if isinstance(old, nn.Linear):
        new.in_features, new.out_features = w.shape[1], w.shape[0]
    else:
        new.in_channels, new.out_channels = w.shape[1], w.shape[0]
    return new


def _check_runs(m, example_input) -> None:
    import torch

    try:
        with torch.no_grad():
            m.eval()(example_input[:2])
    except Exception as exc:  # noqa: BLE001
        raise CandidateError(f"structured pruning produced a model that does not run: {type(exc).__name__}: {exc}") from None


def _set_submodule(root, name, new):
    parent = root
    *path, last = name.split(".")
    for p in path:
        parent = getattr(parent, p)
    setattr(parent, last, new)


def distillation_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y) (Hinton et al., 2015)."""
    import torch.nn.functional as F

    T = temperature
    kl = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.log_softmax(teacher_logits / T, dim=1), reduction="batchmean", log_target=True)
    return alpha * T * T * kl + (1.0 - alpha) * F.cross_entropy(student_logits, labels)


def distil(teacher, student, X, y, *, temperature: float = DISTILL_TEMPERATURE, alpha: float = DISTILL_ALPHA, epochs: int = 10,
           lr: float = 3e-3, batch_size: int = 64, seed: int = 0, threads: int | None = None):
    """Train ``student`` on the teacher's soft targets and the labels; same optimiser (Adam), batch
    order and seeding as :func:`effbench.zoo.training.train_torch_classifier`, so a student trained
    from labels alone with the same arguments differs only by the loss. Returns (student, facts)."""
    import torch

    if not temperature > 0:
        raise ConfigError(f"distillation temperature must be > 0; got {temperature!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"distillation alpha must lie in [0, 1]; got {alpha!r}")
    if threads:
        torch.set_num_threads(threads)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    with torch.no_grad():
        teacher_logits = teacher.eval()(Xt)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    student.train()
    n, last = len(Xt), float("nan")
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = distillation_loss(student(Xt[idx]), teacher_logits[idx], yt[idx], temperature, alpha)
            loss.backward()
            opt.step()
            last = float(loss.detach())
    student.eval()
    return student, {"epochs": epochs, "optimizer": "Adam", "lr": lr, "batch_size": batch_size, "seed": seed,
                     "temperature": temperature, "alpha": alpha, "final_batch_loss": last,
                     "loss": "alpha*T^2*KL(softmax(t/T)||softmax(s/T)) + (1-alpha)*CE"}


# -- the plan for one source model -------------------------------------------------------------------

@dataclass
class VariantFailure:
    """A variant that could not be built: the suite goes on, the failure is recorded with its reason."""

    model: str
    backend: str
    parent: str
    kind: str
    params: dict
    error: str
    family: str = ""

    @property
    def key(self) -> str:
        return f"{self.model}/{self.backend}"

    def to_dict(self) -> dict:
        return {"variant": self.key, "model": self.model, "backend": self.backend, "parent": self.parent, "family": self.family,
                "kind": self.kind, "params": dict(self.params), "error": self.error}

    def to_record(self):
        """A failed CandidateRecord for the store (status 'failed', error = the reason)."""
        return CandidateRecord(self.key, self.model, self.backend, self.family, self.parent, "failed", self.error,
                               info={"variant": {"kind": self.kind, **self.params}, "build_error": self.error})


def failed_records(training: dict) -> list:
    """Failed CandidateRecords (status 'failed', error = the reason) for every variant that could not be
    built, read from the ``variant_failures`` lists in the suite's training facts."""
    out = []
    for facts in training.values():
        for d in facts.get("variant_failures", ()):
            out.append(VariantFailure(d["model"], d["backend"], d["parent"], d["kind"], d.get("params", {}), d["error"],
                                      family=d.get("family", "")).to_record())
    return out


@dataclass
class SourceModel:
    """What variants need to know about their source: the trained module and its data."""

    name: str
    module: object
    X_train: np.ndarray
    y_train: np.ndarray
    family: str = "neural-network"
    parent_key: str | None = None            # default: "<name>/torch"
    student_factory: object = None           # () -> nn.Module, for distil/student
    train_epochs: int = 10
    lr: float = 3e-3
    seed: int = 0
    threads: int | None = 1
    info: dict = field(default_factory=dict)

    @property
    def parent(self) -> str:
        return self.parent_key or f"{self.name}/torch"


def build_variant(src: SourceModel, spec: VariantSpec):
    """Build one variant of ``src``: returns (candidate, facts). Raises on failure (see :func:`build_variants`)."""
    kind = check("variant kind", spec.kind, Options(_BUILDERS))
    return _BUILDERS[kind](_VariantBuild(src, spec))


class _VariantBuild:
    """What every kind of variant needs: its name, the info and links it inherits, an example input."""

    def __init__(self, src: SourceModel, spec: VariantSpec):
        import torch

        self.src, self.spec = src, spec
        self.name = f"{src.name}.{spec.suffix}"
        self.base_info = {"variant": {"kind": spec.kind, "of": src.parent, **spec.params}, **src.info}
        self.common = {"family": src.family, "parent": src.parent}
        self.example = torch.from_numpy(np.ascontiguousarray(src.X_train[:2], dtype=np.float32))

    def source_params(self) -> int:
        return sum(p.numel() for p in self.src.module.parameters())

    def train(self, module, epochs: int):
        """``train_torch_classifier`` on the source's training data and settings; returns (module, facts)."""
        from effbench.zoo.training import train_torch_classifier

        src = self.src
        return train_torch_classifier(module, src.X_train, src.y_train, epochs=epochs, lr=src.lr, seed=src.seed, threads=src.threads)

    def finetuner(self):
        """callable(module) -> facts that fine-tunes for the spec's ``finetune_epochs``, or None for none."""
        epochs = self.spec.params.get("finetune_epochs", 0)
        if not epochs:
            return None
        return lambda m: self.train(m, epochs)[1]


def _build_quant_dynamic(b: _VariantBuild):
    q, info = quantize_dynamic_int8(b.src.module)
    return VariantTorchCandidate(b.name, q, float_source=b.src.module, param_count=b.source_params(),
                                 info={**b.base_info, "quantization": info}, **b.common), {}


def _build_quant_static(b: _VariantBuild):
    calibration = b.src.X_train[:int(b.spec.params.get("calibration_examples", CALIBRATION_EXAMPLES))]
    _, info = quantize_static_int8(b.src.module, calibration)
    return StaticQuantTorchCandidate(b.name, b.src.module, calibration, info["quantized_engine"], param_count=b.source_params(),
                                     info={**b.base_info, "quantization": info}, **b.common), {}


def _build_pruned(b: _VariantBuild):
    sparsity = b.spec.params.get("sparsity", 0.5)
    if b.spec.kind == "prune-unstructured":
        m, info = prune_unstructured(b.src.module, sparsity, finetune=b.finetuner())
        info.update(sparse_aware_flops(m, b.example))
    else:
        m, info = prune_structured(b.src.module, sparsity, b.example, finetune=b.finetuner())
    return VariantTorchCandidate(b.name, m, info={**b.base_info, "pruning": info, "nonzero_params": info["nonzero_params"],
                                                  "sparsity": info["sparsity"]}, **b.common), {}


def _build_student(b: _VariantBuild):
    """The student architecture distilled from the source (``distil``) or trained from the labels alone."""
    import torch

    src, spec = b.src, b.spec
    if src.student_factory is None:
        raise CandidateError(f"{spec.kind}: no student architecture is defined for {src.name!r}")
    torch.manual_seed(src.seed)
    student = src.student_factory()
    epochs = int(spec.params.get("epochs", src.train_epochs))
    if spec.kind == "distil":
        student, facts = distil(src.module, student, src.X_train, src.y_train, temperature=spec.params.get("temperature", DISTILL_TEMPERATURE),
                                alpha=spec.params.get("alpha", DISTILL_ALPHA), epochs=epochs, lr=src.lr, seed=src.seed, threads=src.threads)
        relation = "distilled from the parent's soft targets"
    else:
        student, facts = b.train(student, epochs)
        relation = f"the {src.name}.distil student architecture trained from the labels alone (no teacher), for comparison"
    info = {**b.base_info, "student": {"architecture": repr(student).splitlines()[0], "params": int(sum(p.numel() for p in student.parameters())),
                                       "relation": relation, "training": facts}}
    return VariantTorchCandidate(b.name, student, info=info, **b.common), facts


def _build_onnx(b: _VariantBuild):
    from effbench.candidates.onnx_adapter import OnnxCandidate
    from effbench.candidates.onnx_convert import torch_to_onnx_bytes

    data = torch_to_onnx_bytes(b.src.module, b.example[:1])
    return OnnxCandidate(b.name, data, graph_optimization=b.spec.params.get("graph_optimization", "disable"), info=b.base_info, **b.common), {}


_BUILDERS = {
    "quant-dynamic": _build_quant_dynamic,
    "quant-static": _build_quant_static,
    "prune-unstructured": _build_pruned,
    "prune-structured": _build_pruned,
    "distil": _build_student,
    "student-labels": _build_student,
    "onnx": _build_onnx,
}


def build_variants(src: SourceModel, specs, *, on_progress=None, clock=time.perf_counter):
    """Build every variant of ``src``; a variant that fails is returned as a :class:`VariantFailure`.

    Returns (candidates, training, failures): training maps variant model name -> facts with
    ``train_time_s`` (wall time of building it from the trained source: quantizing, pruning and
    fine-tuning, distilling; not the source's own training).
    """
    candidates, training, failures = [], {}, []
    for spec in specs:
        name = f"{src.name}.{spec.suffix}"
        if on_progress:
            on_progress(f"building variant {name}")
        t0 = clock()
        try:
            cand, facts = build_variant(src, spec)
        except (ConfigError,):
            raise
        except Exception as exc:  # noqa: BLE001 - a failing variant must not stop the suite; the reason is kept
            msg = str(exc).splitlines()[0] if str(exc) else ""
            failures.append(VariantFailure(name, spec.backend, src.parent, spec.kind, dict(spec.params),
                                           f"variant build failed: {type(exc).__name__}: {msg}" if not isinstance(exc, CandidateError) else f"variant build failed: {msg}",
                                           family=src.family))
            if on_progress:
                on_progress(f"variant {name} failed: {failures[-1].error}")
            continue
        training[name] = {"train_time_s": clock() - t0, "framework": "torch", "variant_of": src.parent, "variant_kind": spec.kind,
                          "note": "wall time of building this variant from its trained source (quantizing, pruning and fine-tuning, "
                                  "distilling or exporting), not including the source's own training", **facts}
        candidates.append(cand)
    return candidates, training, failures
