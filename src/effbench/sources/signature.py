"""A model's inputs: names, dtypes and shapes; synthetic inputs from a spec or a signature.

An :class:`InputSpec` is one named input; ``shape`` holds whole numbers and ``None`` for a dynamic
dimension. A spec written by hand (``--input`` or ``data.input``)::

    3x224x224                                          one unnamed float32 input, one example's shape
    input_ids:int64:1x128,attention_mask:int64:1x128   named inputs with dtype and shape
    x:float32:Nx16                                     N (or B, ?) marks the batch dimension

The batch dimension: where the spec marks it (``N``, ``B`` or ``?``), there; else, when the model's
signature is known and has one dimension more than the spec, the spec is one example's shape and the
batch comes first; when it has as many, the spec's first dimension is the batch (``1x128`` for
``input_ids`` of shape ``(batch, sequence)``); with no signature, the spec is one example's shape.
From a signature alone, a dynamic first dimension becomes the batch size; any other dynamic
dimension needs a shape from the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as _field

import numpy as np

from effbench.errors import ConfigError

__all__ = ["DTYPES", "InputSpec", "fixed_batch", "parse_input_spec", "resolve_shapes", "shape_text", "synthetic_inputs"]

DTYPES = ("float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool")
_BATCH = {"N", "B", "?", "n", "b"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class InputSpec:
    """One model input: ``name`` (None: the model's only input), ``dtype`` (a numpy dtype name) and
    ``shape`` (whole numbers; ``None`` for a dynamic dimension, or the batch marker in a hand-written spec).
    ``dtype_given``: False when a hand-written spec left the dtype out (float32 then, or the model's own
    dtype when its signature is known)."""

    name: str | None
    dtype: str
    shape: tuple
    dtype_given: bool = _field(default=True, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


def parse_input_spec(text: str, *, field: str = "input") -> tuple[InputSpec, ...]:
    """Parse ``3x224x224`` or ``name:dtype:shape,...`` into :class:`InputSpec` objects (``None`` in a
    shape marks the batch dimension)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{field}: expected a shape such as 3x224x224 or name:dtype:shape,..., got {text!r}")
    specs = []
    for part in text.split(","):
        bits = part.strip().split(":")
        if len(bits) == 1:
            name, dtype, shape = None, None, bits[0]
        elif len(bits) == 2:
            name, dtype, shape = bits[0], None, bits[1]
        elif len(bits) == 3:
            name, dtype, shape = bits
        else:
            raise ConfigError(f"{field}: {part.strip()!r} is not SHAPE, NAME:SHAPE or NAME:DTYPE:SHAPE (e.g. input_ids:int64:1x128)")
        if name is not None and not _NAME.match(name):
            raise ConfigError(f"{field}: {name!r} is not an input name (letters, digits, _ . -)")
        given, dtype = dtype is not None, dtype or "float32"
        if dtype not in DTYPES:
            raise ConfigError(f"{field}: dtype of {name or 'the input'}: expected one of {', '.join(DTYPES)}, got {dtype!r}")
        dims = []
        for d in shape.strip().lower().split("x") if shape.strip() else []:
            if d.upper() in _BATCH:
                dims.append(None)
            elif d.isdigit() and int(d) >= 1:
                dims.append(int(d))
            else:
                raise ConfigError(f"{field}: shape of {name or 'the input'}: {shape!r} must be whole numbers >= 1 "
                                  "joined by x (N marks the batch dimension), e.g. 3x224x224")
        if not dims or dims.count(None) > 1:
            raise ConfigError(f"{field}: shape of {name or 'the input'}: {shape!r} must be whole numbers >= 1 "
                              "joined by x, with at most one batch marker N")
        specs.append(InputSpec(name, dtype, tuple(dims), dtype_given=given))
    if len(specs) > 1 and any(s.name is None for s in specs):
        raise ConfigError(f"{field}: several inputs must each be named (name:dtype:shape), got {text!r}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{field}: an input is named twice in {text!r}")
    return tuple(specs)


def resolve_shapes(specs, signature=None, *, field: str = "input") -> tuple[InputSpec, ...]:
    """Specs whose shapes have their batch dimension marked (``None`` first or where marked), using
    the model's ``signature`` (a sequence of :class:`InputSpec`) to tell one example's shape from a
    batch's. With ``specs`` None, the signature itself (a dynamic first dimension is the batch)."""
    sig = {s.name: s for s in (signature or ())}
    if specs is None:
        if not sig:
            raise ConfigError(f"{field}: the model's inputs are not known from its file; give a shape (e.g. --input 3x224x224)")
        out = []
        for s in signature:
            rest = [i for i, d in enumerate(s.shape) if d is None and i > 0]
            if rest:
                raise ConfigError(f"{field}: input {s.name!r} has dynamic dimension(s) {rest} besides the batch "
                                  f"(shape {shape_text(s.shape)}); give its shape, e.g. {s.name}:{s.dtype}:"
                                  f"{'x'.join('N' if i == 0 else '128' if d is None else str(d) for i, d in enumerate(s.shape))}")
            out.append(InputSpec(s.name, s.dtype, (None, *s.shape[1:]) if s.shape else ()))
        return tuple(out)
    out = []
    for s in specs:
        model = _model_input(sig, s)
        if sig and model is None:
            raise ConfigError(f"{field}: the model has no input {s.name!r}; its inputs: {', '.join(map(str, sig))}")
        shape = s.shape
        if None not in shape:
            if model is not None and len(model.shape) == len(shape):
                shape = (None, *shape[1:])
            else:
                shape = (None, *shape)
        dtype = s.dtype
        if model is not None:
            _check_against(model, shape, s, field)
            dtype = s.dtype if s.dtype_given else model.dtype  # a spec without a dtype takes the model's
        out.append(InputSpec(s.name, dtype, shape))
    if sig:
        missing = [] if len(out) == 1 and out[0].name is None else [n for n in sig if n not in {s.name for s in out}]
        if missing:
            raise ConfigError(f"{field}: the model also needs input(s) {', '.join(map(repr, missing))}; give each a shape")
    return tuple(out)


def _model_input(sig: dict, spec: InputSpec):
    """The model's input (in ``sig``, by name) that ``spec`` describes: by its name, or the only one for an
    unnamed spec; None when there is none."""
    return sig.get(spec.name) if spec.name is not None or len(sig) != 1 else next(iter(sig.values()))


def _check_against(model: InputSpec, shape: tuple, spec: InputSpec, field: str) -> None:
    """A hand-written spec (its batch dimension marked in ``shape``) agrees with the model's input:
    the same number of dimensions, every fixed size of the model (a dynamic one takes any), and the
    dtype when the spec gives one; else a ConfigError naming the input and what the model expects."""
    what = f"{field}: input {model.name!r} of the model"
    if len(model.shape) != len(shape):
        raise ConfigError(f"{what} has {len(model.shape)} dimensions {shape_text(model.shape)}; the spec gives "
                          f"{len(shape)} {shape_text(shape)}")
    for i, (want, got) in enumerate(zip(model.shape, shape)):
        if want is not None and got is not None and want != got:
            raise ConfigError(f"{what} has size {want} in dimension {i} {shape_text(model.shape)}; the spec gives {got} "
                              "(only a dynamic dimension, ?, takes another size)")
    if spec.dtype_given and spec.dtype != model.dtype:
        raise ConfigError(f"{what} takes {model.dtype}; the spec gives {spec.dtype} (leave the dtype out to use the model's)")


def fixed_batch(signature, specs=None):
    """``(input name, size, model shape)`` when the model's ``signature`` fixes the size of the batch
    dimension of one of its inputs, else None: the dimension ``specs`` (from :func:`resolve_shapes`)
    mark with ``None``, or the first one (data rows). Such a model runs only at that batch size."""
    sig = {s.name: s for s in (signature or ())}
    for s in specs if specs is not None else sig.values():
        model = _model_input(sig, s)
        if model is None or not model.shape or len(model.shape) != len(s.shape):
            continue
        size = model.shape[s.shape.index(None) if specs is not None and None in s.shape else 0]
        if size is not None:
            return model.name, size, model.shape
    return None


def synthetic_inputs(specs, batch_size: int, *, seed: int = 0):
    """Random inputs for ``specs`` (from :func:`resolve_shapes`) at ``batch_size``: floats standard
    normal, integers 0 or 1 (valid ids in any vocabulary), inputs named ``*mask*`` ones, bools True.
    One input: an array; several: a dict ``{name: array}``."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in specs:
        shape = tuple(batch_size if d is None else d for d in s.shape)
        dt = np.dtype(s.dtype)
        if dt == bool:
            a = np.ones(shape, dtype=bool)
        elif np.issubdtype(dt, np.integer):
            a = np.ones(shape, dtype=dt) if s.name and "mask" in s.name else rng.integers(0, 2, size=shape).astype(dt)
        else:
            a = rng.standard_normal(shape).astype(dt)
        out[s.name] = a
    return next(iter(out.values())) if len(out) == 1 else out


def shape_text(shape) -> str:
    """A shape in messages: ``(?, 3, 224, 224)``, ``?`` for a dynamic dimension."""
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
