"""Tasks and their quality metrics: one registry, name -> (function, direction, tasks).

Three tasks: ``classification`` (integer class labels; a model's scores or probabilities become
labels by argmax), ``regression`` (real targets) and ``none`` (cost only: no labels, no metric).

Every metric records its direction (``"max"``: higher is better; ``"min"``: lower is better), so the
analyses know which way to optimise it::

    m = get_metric("rmse", task="regression")
    m.direction                        # "min"
    m.score(y_true, y_pred)            # a float

Built in: ``accuracy``, ``topK`` (``top1``, ``top5``, ... on scores), ``f1_macro``,
``balanced_accuracy`` (classification); ``mae``, ``rmse``, ``r2`` (regression). A custom metric is
``python:package.module:function``, a function ``f(y_true, y_pred) -> float``; its direction is its
``direction`` attribute (``"max"`` when it has none) and it applies to the task it is asked for
(``tasks`` attribute, a collection of task names, to restrict it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from effbench.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_METRICS",
    "TASKS",
    "MetricDef",
    "builtin_metrics",
    "check_labels",
    "check_top_k_labels",
    "get_metric",
    "import_attribute",
    "labels_from_output",
    "metric_names",
    "regression_values",
    "top_k",
    "top_k_accuracy",
]

TASKS = ("classification", "regression", "none")
_TOPK = re.compile(r"^top(\d+)$")


@dataclass(frozen=True)
class MetricDef:
    """A quality metric: its name, ``fn(y_true, y_pred) -> float``, ``direction`` (``"max"`` or
    ``"min"``), the tasks it applies to, and what it reads from the model's output: ``"labels"``
    (classification labels, argmax of scores) or ``"values"`` (regression predictions) or
    ``"scores"`` (the whole (n, classes) score matrix, for top-k)."""

    name: str
    fn: Callable
    direction: str
    tasks: frozenset
    needs: str = "labels"
    custom: bool = False

    def score(self, y_true, output) -> float:
        """The metric of a model's ``output`` (labels, predictions or scores) against ``y_true``."""
        y_true = np.asarray(y_true)
        if self.needs == "scores":
            out = _as_array(output)
            if out.ndim != 2:
                raise DataError(f"metric {self.name!r} needs one score per class and example ((n, classes)); "
                                f"the model returned shape {out.shape}")
            pred = out
        elif self.needs == "values":
            pred = regression_values(output, len(y_true))
        else:
            pred = labels_from_output(output, len(y_true))
        try:
            return float(self.fn(y_true, pred))
        except (TypeError, ValueError) as exc:
            raise DataError(f"metric {self.name!r} cannot score the predictions: {exc}") from None

    def to_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "tasks": sorted(self.tasks), "needs": self.needs,
                "custom": self.custom}


def _as_array(output) -> np.ndarray:
    if hasattr(output, "detach"):  # a torch tensor
        output = output.detach().cpu().numpy()
    return np.asarray(output)


def labels_from_output(output, n: int) -> np.ndarray:
    """Class labels from a model's output: labels as they are, (n, classes) scores by argmax."""
    out = _as_array(output)
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)
    out = out.reshape(-1) if out.ndim == 2 else out
    if out.ndim != 1 or len(out) != n:
        raise DataError(f"expected one label (or one row of scores) per example ({n}); the model returned shape {out.shape}")
    return out


def regression_values(output, n: int) -> np.ndarray:
    """One real prediction per example from a model's output ((n,) or (n, 1))."""
    out = _as_array(output)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or len(out) != n:
        raise DataError(f"expected one prediction per example ({n}); the model returned shape {out.shape}")
    return out.astype(np.float64)


# -- the built-in metrics -------------------------------------------------------------------------

def _accuracy(y, p):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, p)


def _f1_macro(y, p):
    from sklearn.metrics import f1_score

    return f1_score(y, p, average="macro")


def _balanced_accuracy(y, p):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, p)


def _mae(y, p):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, p)


def _rmse(y, p):
    from sklearn.metrics import mean_squared_error

    return float(np.sqrt(mean_squared_error(y, p)))


def _r2(y, p):
    from sklearn.metrics import r2_score

    return r2_score(y, p)


def top_k_accuracy(k: int) -> Callable:
    """``f(y_true, scores)``: the share of examples whose true class is among the k highest scores
    (ties broken by class index, as a stable sort orders them)."""

    def fn(y_true, scores):
        scores = np.asarray(scores)
        y_true = np.asarray(y_true).astype(np.int64)
        if k > scores.shape[1]:
            raise ValueError(f"top{k} needs at least {k} classes; the scores have {scores.shape[1]}")
        if y_true.min() < 0 or y_true.max() >= scores.shape[1]:
            raise ValueError(f"labels must be class indices in [0, {scores.shape[1] - 1}] to match the score columns")
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return float((top == y_true[:, None]).any(axis=1).mean())

    fn.__name__ = f"top{k}_accuracy"
    return fn


_CLS = frozenset({"classification"})
_REG = frozenset({"regression"})
_BUILTIN = {
    "accuracy": MetricDef("accuracy", _accuracy, "max", _CLS),
    "f1_macro": MetricDef("f1_macro", _f1_macro, "max", _CLS),
    "balanced_accuracy": MetricDef("balanced_accuracy", _balanced_accuracy, "max", _CLS),
    "mae": MetricDef("mae", _mae, "min", _REG, needs="values"),
    "rmse": MetricDef("rmse", _rmse, "min", _REG, needs="values"),
    "r2": MetricDef("r2", _r2, "max", _REG, needs="values"),
}
DEFAULT_METRICS = {"classification": ("accuracy",), "regression": ("rmse",), "none": ()}


def builtin_metrics() -> dict[str, MetricDef]:
    """The built-in metrics by name (top-k as its pattern is not listed: ``top5`` etc.)."""
    return dict(_BUILTIN)


def metric_names(task: str) -> list[str]:
    """What a task allows, in words for messages: the built-in names, the top-k pattern, custom."""
    names = [n for n, m in _BUILTIN.items() if task in m.tasks]
    if task == "classification":
        names.append("topK (top1, top5, ...)")
    if task != "none":
        names.append("python:module:function")
    return names


def get_metric(name: str, task: str = "classification", *, field: str = "metric") -> MetricDef:
    """The metric ``name`` for ``task``, or :class:`ConfigError` naming ``field`` and what the task allows."""
    if task not in TASKS:
        raise ConfigError(f"task: expected one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if not isinstance(name, str):
        raise ConfigError(f"{field}: expected a metric name (a string), got {name!r}")
    if task == "none":
        raise ConfigError(f"{field}: task 'none' measures cost only and takes no metric; got {name!r}")
    if name.startswith("python:"):
        return _custom(name, task, field)
    m = _TOPK.match(name)
    if m and task == "classification" and int(m.group(1)) >= 1:
        k = int(m.group(1))
        return MetricDef(name, top_k_accuracy(k), "max", _CLS, needs="scores")
    if name in _BUILTIN and task in _BUILTIN[name].tasks:
        return _BUILTIN[name]
    allowed = ", ".join(metric_names(task))
    why = f"{name!r} is not a {task} metric" if (name in _BUILTIN or m) else f"unknown metric {name!r}"
    raise ConfigError(f"{field}: {why}; allowed for {task}: {allowed}")


def _custom(name: str, task: str, field: str) -> MetricDef:
    parts = name[len("python:"):].split(":")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{field}: a custom metric is python:package.module:function; got {name!r}")
    try:
        fn = import_attribute(parts[0], parts[1])
    except ConfigError as exc:
        raise ConfigError(f"{field}: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"{field}: {name!r} is a {type(fn).__name__}, not a function f(y_true, y_pred) -> float")
    direction = getattr(fn, "direction", "max")
    if direction not in ("max", "min"):
        raise ConfigError(f"{field}: {name!r} has direction {direction!r}; expected 'max' or 'min'")
    tasks = frozenset(getattr(fn, "tasks", (task,)))
    if task not in tasks:
        raise ConfigError(f"{field}: {name!r} applies to {', '.join(sorted(tasks))}, not to {task}")
    return MetricDef(name, fn, direction, tasks, needs="values" if task == "regression" else "labels", custom=True)


def top_k(name: str) -> int | None:
    """k of a top-k metric name (``top5`` -> 5), None for any other name."""
    m = _TOPK.match(name) if isinstance(name, str) else None
    return int(m.group(1)) if m else None


def check_top_k_labels(metrics, y, *, n_classes: int | None = None, field: str = "metrics") -> None:
    """Before anything is measured: each top-k metric in ``metrics`` can score labels ``y``. Top-k
    ranks a model's scores by column, so the labels must be class indices (whole numbers >= 0), and
    when the data declares its classes (``n_classes``: an image folder's subfolders) k cannot exceed
    them. A ConfigError naming ``field[i]`` otherwise. (The labels alone do not tell how many classes
    a model scores, only which occur; the model's output width is checked where it is known.)"""
    y = np.asarray(y)
    for i, name in enumerate(metrics):
        k = top_k(name)
        if k is None:
            continue
        if not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool) or (len(y) and y.min() < 0):
            shown = y.dtype if not np.issubdtype(y.dtype, np.integer) else "negative numbers"
            raise ConfigError(f"{field}[{i}]: {name} ranks the model's scores by class index, so the labels must be "
                              f"class indices 0, 1, ...; the labels are {shown}")
        if n_classes is not None and k > n_classes:
            raise ConfigError(f"{field}[{i}]: {name} needs at least {k} classes; the data has {n_classes}")


def import_attribute(module_name: str, attr: str):
    """``module.attr`` (dotted attribute paths allowed), or :class:`ConfigError` saying which part is missing."""
    import importlib

    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def check_labels(y, task: str, *, field: str = "y") -> np.ndarray:
    """The labels as an array fit for ``task``, or :class:`DataError` naming ``field`` and what fits:
    classification wants class labels (whole numbers, bools or strings), regression finite reals,
    ``none`` takes any (they are not scored)."""
    if task not in TASKS:
        raise ConfigError(f"task: expected one of {', '.join(map(repr, TASKS))}, got {task!r}")
    y = np.asarray(y)
    if task == "none":
        return y
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{field}: {task} needs one label per example (a 1-D array); got shape {y.shape}")
    if task == "classification":
        if np.issubdtype(y.dtype, np.floating):
            if not np.isfinite(y).all():
                raise DataError(f"{field}: classification labels must be class labels; got NaN or infinity")
            if not (y == np.round(y)).all():
                example = float(y[y != np.round(y)][0])
                raise DataError(f"{field}: classification needs class labels (whole numbers or strings); got real "
                                f"values such as {example!r}; use task = \"regression\" for real targets")
            return y.astype(np.int64)
        if np.issubdtype(y.dtype, np.integer) or y.dtype == bool or y.dtype.kind in "US":
            return y
        raise DataError(f"{field}: classification needs class labels (whole numbers or strings); got dtype {y.dtype}")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool) or np.issubdtype(y.dtype, np.complexfloating):
        raise DataError(f"{field}: regression needs real-valued targets; got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise DataError(f"{field}: regression targets must be finite; {int((~np.isfinite(y)).sum())} are NaN or infinite")
    return y
