"""Data files: the evaluation inputs and labels a suite's ``[data]`` names.

    ds = load_data(DataSpec(path=Path("val.npz"), format="npz", task="classification"))
    ds.inputs        # {"X": array} or one array per model input, dtypes kept (int64 ids stay int64)
    ds.y             # the labels, checked against the task
    ds.model_inputs(signature)   # the arrays matched to a model's inputs, or DataError naming the input

Formats: ``npz`` (one array per model input, or ``X``; labels ``y`` or ``data.labels``), ``npy`` (one
array, no labels: cost only), ``csv`` / ``parquet`` (pandas; ``target`` column, feature columns by name)
and ``images`` (a folder with one subfolder per class, read with Pillow, resized and normalised as
declared). Synthetic inputs for cost-only runs: :func:`effbench.sources.signature.synthetic_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from effbench.errors import DataError
from effbench.sources.signature import (
    InputSpec,
    parse_input_spec,
    resolve_shapes,
    shape_text,
    synthetic_inputs,
)
from effbench.sources.words import did_you_mean
from effbench.tasks.metrics import check_labels

__all__ = [
    "IMAGE_SUFFIXES",
    "Dataset",
    "load_data",
    "match_inputs",
    "parse_input_spec",
    "resolve_shapes",
    "synthetic_dataset",
    "synthetic_inputs",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Dataset:
    """Evaluation data: ``inputs`` (name -> array, one row per example; ``"X"`` for a single
    unnamed input), ``y`` (labels fit for ``task``, or None), and ``source`` (what was read: path,
    format, columns or classes, and how images were prepared)."""

    inputs: dict
    y: np.ndarray | None
    task: str
    source: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(next(iter(self.inputs.values())))

    @property
    def X(self):
        """The one input array, or the dict of named arrays when there are several."""
        return next(iter(self.inputs.values())) if len(self.inputs) == 1 else dict(self.inputs)

    def model_inputs(self, signature=None):
        """The inputs matched to a model's ``signature`` (see :func:`match_inputs`)."""
        return match_inputs(self.inputs, signature)


def load_data(spec) -> Dataset:
    """Read the data a :class:`~effbench.sources.suite.DataSpec` names; :class:`DataError` (one line,
    naming the file and what is wrong) when it cannot be used for the spec's task."""
    if spec.path is None:
        raise DataError("data.path: no data file; synthetic inputs come from synthetic_inputs()")
    path = Path(spec.path)
    fmt = spec.format or ("images" if path.is_dir() else {".npz": "npz", ".npy": "npy", ".csv": "csv",
                                                          ".parquet": "parquet", ".pq": "parquet"}.get(path.suffix.lower()))
    if not path.exists():
        raise DataError(f"data.path: {str(path)!r} does not exist")
    reader = {"npz": _npz, "npy": _npy, "csv": _table, "parquet": _table, "images": _images}.get(fmt)
    if reader is None:
        raise DataError(f"data.path: cannot read {str(path)!r}: expected .npz, .npy, .csv, .parquet or an image folder")
    inputs, y, label_field, source = reader(path, spec, fmt)
    n = {name: len(a) for name, a in inputs.items()}
    if len(set(n.values())) > 1:
        raise DataError(f"data.path: {path.name}: the input arrays have different numbers of rows: "
                        + ", ".join(f"{k} {v}" for k, v in n.items()))
    rows = next(iter(n.values()))
    if rows == 0:
        raise DataError(f"data.path: {path.name} holds no examples")
    if y is not None:
        y = check_labels(y, spec.task, field=label_field)
        if spec.task != "none" and len(y) != rows:
            raise DataError(f"{label_field}: {len(y)} labels for {rows} examples; they must match")
    elif spec.task != "none":
        raise DataError(f"data.path: {path.name} has no labels, which task {spec.task!r} needs; set task = \"none\" for cost only")
    source = {"path": str(path), "format": fmt, "n": rows,
              "inputs": {k: {"dtype": str(a.dtype), "shape": list(a.shape[1:])} for k, a in inputs.items()}, **source}
    return Dataset(inputs=inputs, y=y, task=spec.task, source=source)


# -- readers: (path, spec, fmt) -> (inputs, labels or None, the labels' field name, source info) ----

def _npz(path, spec, fmt):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # noqa: BLE001 - an unreadable file is the user's
        raise DataError(f"data.path: {path.name} is not a readable .npz file: {' '.join(str(exc).split())}") from None
    y = arrays.pop(spec.labels, None)
    if y is None and spec.task != "none":
        raise DataError(f"data.labels: {path.name} has no array {spec.labels!r}{did_you_mean(spec.labels, arrays)} (arrays: {', '.join(arrays) or 'none'}); "
                        "name the label array with data.labels, or set task = \"none\"")
    if not arrays:
        raise DataError(f"data.path: {path.name} holds labels but no input arrays (X, or one per model input)")
    for name, a in arrays.items():
        _check_input_array(f"{path.name}: array {name!r}", a)
    return arrays, y, "data.labels", {"arrays": list(arrays), "labels": spec.labels}


def _npy(path, spec, fmt):
    if spec.task != "none":
        raise DataError(f"data.path: {path.name}: a .npy file holds one array (the inputs) and no labels; use an .npz "
                        f"with the labels as y, or set task = \"none\"")
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"data.path: {path.name} is not a readable .npy file: {' '.join(str(exc).split())}") from None
    _check_input_array(path.name, a)
    return {"X": a}, None, "data.labels", {}


def _check_input_array(what, a):
    if a.ndim == 0:
        raise DataError(f"data.path: {what} is a single value; inputs need one row per example")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise DataError(f"data.path: {what} has dtype {a.dtype}; inputs must be numbers or bools")


def _table(path, spec, fmt):
    import pandas as pd

    try:
        df = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"data.path: reading {path.name} needs a Parquet engine (pip install pyarrow): {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"data.path: {path.name} is not a readable {fmt} table: {' '.join(str(exc).split())}") from None
    columns = [str(c) for c in df.columns]
    df.columns = columns
    target = spec.target
    if target is not None and target not in columns:
        raise DataError(f"data.target: {path.name} has no column {target!r}{did_you_mean(target, columns)} "
                        f"(columns: {_listed(columns)})")
    features = list(spec.features) if spec.features else [c for c in columns if c != target]
    for i, col in enumerate(features):
        if col not in columns:
            raise DataError(f"data.features[{i}]: {path.name} has no column {col!r}{did_you_mean(col, columns)} "
                            f"(columns: {_listed(columns)})")
        if col == target:
            raise DataError(f"data.features[{i}]: {col!r} is the target column; it cannot also be a feature")
        kind = df[col].dtype
        if not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)):
            raise DataError(f"data.features: column {col!r} of {path.name} holds {kind} values; feature columns must be "
                            "numbers or bools (encode it first, or leave it out with data.features)")
        missing = int(df[col].isna().sum())
        if missing:
            raise DataError(f"data.features: column {col!r} of {path.name} has {missing} missing value(s)")
    if not features:
        raise DataError(f"data.features: {path.name} has no feature columns besides the target {target!r}")
    X = df[features].to_numpy()
    y = None
    if target is not None:
        y = df[target].to_numpy()
        if y.dtype == object:
            y = y.astype(str)
    return {"X": X}, y, "data.target", {"features": features, "target": target}


def _images(path, spec, fmt):
    from PIL import Image, UnidentifiedImageError

    if spec.task == "regression":
        raise DataError("data.task: an image folder gives class labels (one subfolder per class); task must be "
                        "classification or none")
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"data.path: {path.name} has no subfolders; an image folder has one subfolder per class")
    files, labels = [], []
    for i, cls in enumerate(classes):
        found = sorted(p for p in (path / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [i] * len(found)
    if not files:
        raise DataError(f"data.path: {path.name} has no images ({', '.join(IMAGE_SUFFIXES)}) in its class subfolders")
    channels = len(spec.mean) if spec.mean else len(spec.std) if spec.std else 3
    if channels not in (1, 3):
        raise DataError(f"data.mean: images have 1 (grey) or 3 (RGB) channels; got {channels} values")
    mode = "L" if channels == 1 else "RGB"
    arrays, first_size = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert(mode)
                if spec.resize is not None:
                    im = im.resize((spec.resize[1], spec.resize[0]), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"data.path: {f.relative_to(path)} is not a readable image: {exc}") from None
        if first_size is None:
            first_size = (a.shape, files[0])
        elif a.shape != first_size[0]:
            raise DataError(f"data.resize: {f.relative_to(path)} is {a.shape[1]}x{a.shape[0]} but "
                            f"{first_size[1].relative_to(path)} is {first_size[0][1]}x{first_size[0][0]}; "
                            "set resize = [height, width]")
        arrays.append(a.reshape(a.shape[0], a.shape[1], channels))
    X = np.stack(arrays).transpose(0, 3, 1, 2)  # (n, channels, height, width)
    mean = np.asarray(spec.mean or [0.0] * channels, dtype=np.float32).reshape(1, channels, 1, 1)
    std = np.asarray(spec.std or [1.0] * channels, dtype=np.float32).reshape(1, channels, 1, 1)
    X = np.ascontiguousarray((X - mean) / std, dtype=np.float32)
    return {"X": X}, np.asarray(labels, dtype=np.int64), "data.path", {
        "classes": classes, "layout": "NCHW", "mode": mode, "resize": None if spec.resize is None else list(spec.resize),
        "mean": list(mean.ravel().tolist()), "std": list(std.ravel().tolist()), "scale": "pixels / 255"}


def _listed(names, most=12) -> str:
    return ", ".join(names[:most]) + (f", ... ({len(names)} in all)" if len(names) > most else "")


def synthetic_dataset(spec_text, signature, n: int, *, seed: int = 0, field: str = "input") -> Dataset:
    """A cost-only :class:`Dataset` of ``n`` random examples (task ``none``, no labels), shaped by
    ``spec_text`` (``3x224x224``, ``input_ids:int64:1x128,...``; see
    :mod:`effbench.sources.signature`) or, when it is None, by the model's ``signature``."""
    specs = resolve_shapes(None if spec_text is None else parse_input_spec(spec_text, field=field), signature, field=field)
    arrays = synthetic_inputs(specs, n, seed=seed)
    inputs = arrays if isinstance(arrays, dict) else {specs[0].name or "X": arrays}
    return Dataset(inputs=inputs, y=None, task="none", source={
        "format": "synthetic", "n": n, "seed": seed, "spec": spec_text,
        "inputs": {k: {"dtype": str(a.dtype), "shape": list(a.shape[1:])} for k, a in inputs.items()}})


# -- matching data to a model's inputs -----------------------------------------------------------

def match_inputs(inputs: dict, signature=None):
    """The data's arrays as the model takes them: one array for a one-input model, else a dict
    ``{input name: array}`` in the signature's order. With a ``signature`` (a sequence of
    :class:`InputSpec`), every input must have an array (named as the input; a lone array serves a
    lone input) of the same number of dimensions, the same fixed sizes, and a dtype that converts
    without loss of meaning: floats to the model's float type, integers and bools to floats,
    integers to the model's integer type; never floats to integers. Otherwise :class:`DataError`
    naming the input and what differs."""
    if not signature:
        return next(iter(inputs.values())) if len(inputs) == 1 else dict(inputs)
    sig = list(signature)
    if len(sig) == 1 and len(inputs) == 1:
        pairs = [(sig[0], next(iter(inputs.items())))]
    else:
        names = [s.name for s in sig]
        extra = [k for k in inputs if k not in names]
        if extra:
            raise DataError(f"data: array {extra[0]!r} is not an input of the model (its inputs: {', '.join(names)})")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise DataError(f"data: the model's input {missing[0]!r} has no array in the data (arrays: {', '.join(inputs)}); "
                            "name one array per input")
        pairs = [(s, (s.name, inputs[s.name])) for s in sig]
    out = {}
    for s, (name, a) in pairs:
        out[s.name] = _conform(s, name, a)
    return next(iter(out.values())) if len(out) == 1 else out


def _conform(s: InputSpec, name: str, a: np.ndarray) -> np.ndarray:
    label = f"input {s.name!r}" + (f" (array {name!r})" if name != s.name else "")
    if a.ndim != len(s.shape):
        raise DataError(f"data: {label}: the model takes {len(s.shape)} dimensions {shape_text(s.shape)}, the data has "
                        f"{a.ndim} {shape_text((None, *a.shape[1:]))}")
    for i, (want, got) in enumerate(zip(s.shape, a.shape)):
        if i > 0 and want is not None and want != got:
            raise DataError(f"data: {label}: dimension {i} is {got} in the data but {want} in the model "
                            f"{shape_text(s.shape)}")
    want = np.dtype(s.dtype)
    if a.dtype == want:
        return a
    if np.issubdtype(want, np.floating) and (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return a.astype(want)
    if np.issubdtype(want, np.integer) and (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        return a.astype(want)
    raise DataError(f"data: {label}: the model takes {want}, the data holds {a.dtype}"
                    + ("; ids and indices must be integers" if np.issubdtype(want, np.integer) else ""))
