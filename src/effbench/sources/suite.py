"""Suite files: what to measure, read from TOML (or YAML when PyYAML is installed), validated in one place.

    spec = load_suite("study.toml")          # -> SuiteSpec, or ConfigError naming the field
    spec.candidates[0].model                 # "/abs/path/models/resnet.onnx"

Every field is checked here, and every message names the field's path (``candidates[2].backends``),
what is allowed and what was given. Unknown keys are refused with a did-you-mean. Relative paths are
resolved against the suite file's folder. Nothing is loaded or measured here: the model and data
files are only checked to exist (and pickles to be trusted), so that a bad suite fails at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from effbench.errors import ConfigError
from effbench.sources.models import model_kind
from effbench.sources.words import did_you_mean, shown
from effbench.tasks.metrics import DEFAULT_METRICS, TASKS, get_metric
from effbench.validation import Interval, Options, check

__all__ = ["DATA_FORMATS", "EXAMPLE_SUITE", "CandidateSpec", "DataSpec", "SuiteSpec", "load_suite", "parse_data", "parse_suite"]

DATA_FORMATS = {".npz": "npz", ".npy": "npy", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


@dataclass(frozen=True)
class DataSpec:
    """``[data]``: the evaluation data, its task and metrics.

    ``path``: an .npz/.npy file, a CSV or Parquet table, or an image folder (one subfolder per
    class); None for synthetic, cost-only inputs (``input``, or the model's input signature).
    ``format``: ``npz``, ``npy``, ``csv``, ``parquet`` or ``images`` (from the path).
    ``labels``: the label array's name in an .npz (``y``). ``target`` / ``features``: the label
    column and the feature columns of a table (default: every other column). ``resize``
    (height, width), ``mean``, ``std``: how images are prepared (pixels scaled to [0, 1], then
    ``(x - mean) / std`` per channel). ``input``: a synthetic input spec (``3x224x224``,
    ``input_ids:int64:1x128,attention_mask:int64:1x128``). ``tolerance``: a regression's tolerance in
    the target's units, for the tail mode (an on-time answer within it of the target is good)."""

    path: Path | None = None
    task: str = "classification"
    metrics: tuple[str, ...] = ("accuracy",)
    format: str | None = None
    labels: str = "y"
    target: str | None = None
    features: tuple[str, ...] | None = None
    resize: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    input: str | None = None
    tolerance: float | None = None

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items() if k != "tolerance" or v is not None}  # as before when not set


@dataclass(frozen=True)
class CandidateSpec:
    """``[[candidates]]``: one model. ``model``: a file path (resolved), ``python:pkg.mod:factory``
    or ``hf:PATH`` (PATH resolved); ``kind``: what :func:`effbench.sources.models.model_kind` calls
    it. ``args``: keyword arguments of a factory (or of ``from_pretrained``). ``backends``: the
    backends to measure it on (None: its own). ``trust``: load a pickle/joblib file, or skops types
    outside skops' trusted list. ``weights``: ``"random"`` when the weights are random on purpose
    (cost figures valid, quality meaningless), else None. ``output``: which element of a tuple or
    dict output holds the scores (``"logits"``, or an index). ``training``: the name of a tracking
    (``effbench track NAME -- ...``) whose training time and energy the candidate takes (default: the
    latest complete tracking named as the candidate, if any)."""

    name: str
    model: str
    kind: str
    args: dict = field(default_factory=dict)
    backends: tuple[str, ...] | None = None
    trust: bool = False
    weights: str | None = None
    output: str | int | None = None
    training: str | None = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["backends"] = None if self.backends is None else list(self.backends)
        return d


@dataclass(frozen=True)
class SuiteSpec:
    """A whole suite file: ``name``, ``batch_sizes`` (whole numbers >= 1 and ``"all"``), ``threads``,
    ``device`` (``cpu``, ``cuda``, ``cuda:N``), ``timeout_s`` (the longest wait for one step of a
    candidate; None: scaled with the step's work), ``data`` (None: cost only, synthetic inputs) and the
    ``candidates``; ``source``: the file it was read from."""

    name: str
    candidates: tuple[CandidateSpec, ...]
    batch_sizes: tuple[int | str, ...] = (1, "all")
    threads: int = 1
    device: str = "cpu"
    data: DataSpec | None = None
    source: Path | None = None
    timeout_s: float | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "batch_sizes": list(self.batch_sizes), "threads": self.threads,
                "device": self.device, "timeout_s": self.timeout_s, "data": None if self.data is None else self.data.to_dict(),
                "candidates": [c.to_dict() for c in self.candidates],
                "source": None if self.source is None else str(self.source)}


TOP_KEYS = ("name", "batch_sizes", "threads", "device", "timeout_s", "data", "candidates")
TOLERANCE = Interval(float, 0, None, unit="target units")
"""A regression's tolerance (``[data] tolerance``, ``tail measure --tolerance``, ``TailConfig.tolerance``)."""

DATA_KEYS = ("path", "task", "metrics", "labels", "target", "features", "resize", "mean", "std", "input", "tolerance")
CANDIDATE_KEYS = ("name", "model", "args", "backends", "trust", "weights", "output", "training")

EXAMPLE_SUITE = '''\
# An effbench suite: every candidate below is measured on the same data, at every batch size.
name = "my-study"
batch_sizes = [1, 8, "all"]      # whole numbers >= 1, and "all" (the whole data set in one call)
threads = 1                      # CPU threads each model may use
device = "cpu"                   # or "cuda", "cuda:1"
# timeout_s = 120                # longest wait for one step of a candidate (default: scaled with its work)

[data]
path = "val.npz"                 # .npz/.npy (arrays: X, or one per model input named as the input; y),
                                 # .csv/.parquet (with target = "label"), or an image folder (one subfolder per class)
task = "classification"          # classification | regression | none (cost only: no labels needed)
metrics = ["accuracy", "top5", "f1_macro"]   # also balanced_accuracy; mae, rmse, r2; python:module:function
                                 # (each stored with its direction; top-k needs class scores: logits or predict_proba)
# resize = [224, 224]            # images: resized to height x width, scaled to [0, 1], then
# mean = [0.485, 0.456, 0.406]   #   (x - mean) / std per channel
# std = [0.229, 0.224, 0.225]
# tolerance = 0.5                # regression: 'effbench tail measure' counts an on-time answer within
                                 #   this (the target's units) of the target as good

[[candidates]]
name = "resnet"
model = "models/resnet.onnx"     # ONNX, run by ONNX Runtime

[[candidates]]
name = "forest"
model = "models/forest.skops"    # scikit-learn, saved with skops (pickle/joblib need trust = true)

[[candidates]]
name = "tiny"
model = "python:mypkg.models:build"      # a factory returning a torch Module, an estimator or a callable
args = { width = 32 }                    # its keyword arguments
backends = ["torch", "onnxruntime"]      # also export to ONNX and measure both
# weights = "random"                     # say so when the weights are random: quality is then meaningless
# output = "logits"                      # which part of a tuple or dict output holds the scores
# training = "train-tiny"                # its training cost: 'effbench track train-tiny -- python train.py'
                                         # (default: the latest tracking named as the candidate, if any)
'''


def load_suite(path, *, trust_pickle: bool = False) -> SuiteSpec:
    """Read and validate a suite file (``.toml``; ``.yaml``/``.yml`` when PyYAML is installed)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"suite file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{path}: reading a YAML suite needs PyYAML (pip install 'effbench[yaml]'); "
                              "or write the suite in TOML") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    elif path.suffix.lower() == ".toml":
        import tomllib

        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    else:
        raise ConfigError(f"suite file {str(path)!r}: expected a .toml file (or .yaml/.yml), got {path.suffix or 'no suffix'!r}")
    return parse_suite(raw, base_dir=path.resolve().parent, source=path.resolve(), trust_pickle=trust_pickle)


def parse_suite(raw, *, base_dir=".", source=None, trust_pickle: bool = False) -> SuiteSpec:
    """Validate a suite given as a mapping (what a TOML or YAML file holds); paths are resolved against ``base_dir``."""
    base = Path(base_dir)
    _mapping("suite", raw)
    _known_keys("", raw, TOP_KEYS)
    name = _text("name", raw.get("name", source.stem if source else "suite"))
    batch_sizes = _batch_sizes(raw.get("batch_sizes", [1, "all"]))
    threads = check("threads", raw.get("threads", 1), Interval(int, 1, None))
    device = raw.get("device", "cpu")
    if not (isinstance(device, str) and _DEVICE.match(device)):
        raise ConfigError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    timeout_s = check("timeout_s", raw.get("timeout_s"), Interval(float, 0, None, closed="neither", unit="seconds"), None)
    data = None if raw.get("data") is None else _data(raw["data"], base)
    cands = raw.get("candidates")
    if not isinstance(cands, list) or not cands:
        raise ConfigError(f"candidates: expected a list of at least one [[candidates]] table, got {shown(cands)}")
    candidates = tuple(_candidate(i, c, base, trust_pickle) for i, c in enumerate(cands))
    seen = {}
    for i, c in enumerate(candidates):
        if c.name in seen:
            raise ConfigError(f"candidates[{i}].name: {c.name!r} is already the name of candidates[{seen[c.name]}]; "
                              "names must be unique")
        seen[c.name] = i
    return SuiteSpec(name=name, candidates=candidates, batch_sizes=batch_sizes, threads=threads, device=device,
                     data=data, source=None if source is None else Path(source), timeout_s=timeout_s)


# -- the parts ------------------------------------------------------------------------------------

def _batch_sizes(value) -> tuple:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"batch_sizes: expected a non-empty list of whole numbers >= 1 and \"all\", got {shown(value)}")
    out = []
    for i, b in enumerate(value):
        out.append(b if b == "all" else check(f"batch_sizes[{i}]", b, Interval(int, 1, None), Options({"all"})))
        if out[-1] in out[:-1]:
            raise ConfigError(f"batch_sizes[{i}]: {b!r} is listed twice")
    return tuple(out)


def parse_data(raw, base_dir=".") -> DataSpec:
    """A ``[data]`` table on its own (what ``effbench run MODEL... --data`` builds), validated as in a
    suite file; relative paths are resolved against ``base_dir``."""
    return _data(raw, Path(base_dir))


def _data(raw, base: Path) -> DataSpec:
    _mapping("data", raw)
    _known_keys("data.", raw, DATA_KEYS)
    task = check("data.task", raw.get("task", "classification"), Options(TASKS))
    metrics = raw.get("metrics", list(DEFAULT_METRICS[task]))
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"data.metrics: expected a list of metric names, got {shown(metrics)}")
    for i, m in enumerate(metrics):
        get_metric(m, task, field=f"data.metrics[{i}]")
        if m in metrics[:i]:
            raise ConfigError(f"data.metrics[{i}]: {m!r} is listed twice")
    path = fmt = None
    if raw.get("path") is not None:
        path = _path("data.path", raw["path"], base)
        if path.is_dir():
            fmt = "images"
        elif path.is_file():
            fmt = DATA_FORMATS.get(path.suffix.lower())
            if fmt is None:
                raise ConfigError(f"data.path: expected a file ending in {', '.join(DATA_FORMATS)} or an image folder, "
                                  f"got {str(path)!r}")
        else:
            raise ConfigError(f"data.path: {str(path)!r} does not exist")
    synthetic = None if raw.get("input") is None else _text("data.input", raw["input"])
    if synthetic is not None:
        from effbench.sources.signature import parse_input_spec

        parse_input_spec(synthetic, field="data.input")
        if path is not None:
            raise ConfigError("data.input: synthetic inputs replace the data; give either data.path or data.input, not both")
    if path is None and task != "none":
        raise ConfigError(f"data.path: task {task!r} needs labelled data; give a path, or set task = \"none\" (cost only)")
    allowed_by_format = {"target": ("csv", "parquet"), "features": ("csv", "parquet"), "labels": ("npz",),
                         "resize": ("images",), "mean": ("images",), "std": ("images",)}
    for key, formats in allowed_by_format.items():
        if raw.get(key) is not None and fmt not in formats:
            raise ConfigError(f"data.{key}: applies to {' and '.join(formats)} data only; the data is "
                              f"{fmt or 'synthetic'}")
    target = None if raw.get("target") is None else _text("data.target", raw["target"])
    if fmt in ("csv", "parquet") and target is None and task != "none":
        raise ConfigError(f"data.target: a {fmt} table needs the name of its label column (target = \"label\") "
                          f"for task {task!r}")
    features = raw.get("features")
    if features is not None:
        if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
            raise ConfigError(f"data.features: expected a non-empty list of column names, got {shown(features)}")
        features = tuple(features)
    resize = raw.get("resize")
    if resize is not None:
        if is_whole_positive(resize):
            resize = (resize, resize)
        elif isinstance(resize, list) and len(resize) == 2:
            resize = tuple(check(f"data.resize[{i}]", r, Interval(int, 1, None)) for i, r in enumerate(resize))
        else:
            raise ConfigError(f"data.resize: expected [height, width] (whole numbers >= 1) or one size, got {shown(resize)}")
    mean, std = (_floats(f"data.{k}", raw.get(k), positive=k == "std") for k in ("mean", "std"))
    if mean is not None and std is not None and len(mean) != len(std):
        raise ConfigError(f"data.std: expected one value per channel like data.mean ({len(mean)}), got {len(std)}")
    tolerance = raw.get("tolerance")
    if tolerance is not None:
        if task != "regression":
            raise ConfigError(f"data.tolerance: applies to task \"regression\" only (the tail mode's good answer: within "
                              f"the tolerance of the target); the task is {task!r}")
        tolerance = check("data.tolerance", tolerance, TOLERANCE)
    return DataSpec(path=path, task=task, metrics=tuple(metrics), format=fmt,
                    labels=_text("data.labels", raw.get("labels", "y")), target=target, features=features,
                    resize=resize, mean=mean, std=std, input=synthetic, tolerance=tolerance)


def is_whole_positive(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _floats(name, value, *, positive=False):
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{name}: expected a list of numbers, one per channel, got {shown(value)}")
    iv = Interval(float, 0, None, closed="neither") if positive else Interval(float)
    return tuple(check(f"{name}[{i}]", v, iv) for i, v in enumerate(value))


def _candidate(i: int, raw, base: Path, trust_pickle: bool) -> CandidateSpec:
    where = f"candidates[{i}]"
    _mapping(where, raw)
    _known_keys(f"{where}.", raw, CANDIDATE_KEYS)
    for key in ("name", "model"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}: required, missing")
    from effbench.candidates.registry import names, validate_name

    name = _text(f"{where}.name", raw["name"])
    validate_name(name, f"{where}.name:")
    ref = _text(f"{where}.model", raw["model"])
    kind = model_kind(ref, field=f"{where}.model")
    if kind == "python":
        model = ref
    elif kind == "hf":
        model = "hf:" + str(_path(f"{where}.model", ref[3:], base))
    else:
        model = str(_path(f"{where}.model", ref, base))
        if not Path(model).is_file():
            raise ConfigError(f"{where}.model: {model!r} does not exist")
    if kind == "hf" and not Path(model[3:]).is_dir():
        raise ConfigError(f"{where}.model: {model[3:]!r} is not a folder (hf:PATH names a local model folder, "
                          "saved with save_pretrained)")
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise ConfigError(f"{where}.args: expected a table of keyword arguments, got {shown(args)}")
    if args and kind not in ("python", "hf"):
        raise ConfigError(f"{where}.args: applies to python: factories and hf: models only; the model is a {kind} file")
    backends = raw.get("backends")
    if backends is not None:
        if not isinstance(backends, list) or not backends:
            raise ConfigError(f"{where}.backends: expected a non-empty list of backends ({', '.join(names())}), "
                              f"got {shown(backends)}")
        for j, b in enumerate(backends):
            check(f"{where}.backends[{j}]", b, Options(names()))
        backends = tuple(dict.fromkeys(backends))
    trust = raw.get("trust", False)
    if not isinstance(trust, bool):
        raise ConfigError(f"{where}.trust: expected true or false, got {shown(trust)}")
    if trust and kind not in ("pickle", "joblib", "skops"):
        raise ConfigError(f"{where}.trust: applies to pickle, joblib and skops files only; the model is {kind}")
    if kind in ("pickle", "joblib") and not (trust or trust_pickle):
        raise ConfigError(f"{where}.trust: {Path(model).name!r} is a {kind} file, which runs any code it holds when "
                          "loaded; set trust = true (or --trust-pickle) if you trust it, or save the model with skops")
    weights = check(f"{where}.weights", raw.get("weights"), Options({"random"}), None)
    output = raw.get("output")
    if output is not None:
        if not (isinstance(output, str) and output) and not Interval(int, 0, None).accepts(output):
            raise ConfigError(f"{where}.output: expected an output name or index (a whole number >= 0), got {shown(output)}")
        output = output if isinstance(output, str) else int(output)
    training = raw.get("training")
    if training is not None:
        validate_name(_text(f"{where}.training", training), f"{where}.training:")
    return CandidateSpec(name=name, model=model, kind=kind, args=dict(args), backends=backends,
                         trust=bool(trust or (trust_pickle and kind in ("pickle", "joblib", "skops"))), weights=weights,
                         output=output, training=training)


# -- helpers --------------------------------------------------------------------------------------

def _mapping(name: str, value) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a table of keys and values, got {shown(value)}")


def _known_keys(prefix: str, raw: dict, allowed) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}: unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})")


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: expected a non-empty string, got {shown(value)}")
    return value


def _path(name: str, value, base: Path) -> Path:
    p = Path(_text(name, value)).expanduser()
    return (p if p.is_absolute() else base / p).resolve()
