"""A task: fixed train/test split, its kind (classification, regression) and the quality metrics a run scores."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from effbench.errors import DataError


@dataclass(frozen=True)
class Task:
    """A supervised task with a fixed split.

    Inputs are arrays of shape (n, *sample_shape), or a dict of named arrays (one per model input,
    the same n rows each); every candidate receives them as they are (a network that wants images
    reshapes inside its forward pass), so all backends see the same input. Real numbers are float32,
    integer ids and bool masks keep their dtype.

    ``task_type``: ``classification`` or ``regression``. ``metrics``: the quality metrics a run
    scores (names for :func:`effbench.tasks.metrics.get_metric`); empty: accuracy and macro-F1 on
    labels, as the digits suite stores them.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    description: str = ""
    info: dict = field(default_factory=dict)
    labelled: bool = True  # False: cost only; y_train and y_test are placeholders, never scored or stored
    task_type: str = "classification"
    metrics: tuple = ()

    def __post_init__(self):
        from effbench.tasks.metrics import TASKS, get_metric

        if self.task_type not in TASKS[:2]:
            raise DataError(f"task {self.name!r}: task_type must be 'classification' or 'regression', got {self.task_type!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for i, m in enumerate(self.metrics):
            get_metric(m, self.task_type, field=f"metrics[{i}]")
        for part in ("train", "test"):
            X, y = _n_rows(getattr(self, f"X_{part}")), getattr(self, f"y_{part}")
            if X != len(y):
                raise DataError(f"task {self.name!r}: X_{part} has {X} rows but y_{part} has {len(y)}; they must match")
            if X == 0:
                raise DataError(f"task {self.name!r}: the {part} split is empty; it needs at least one example")

    @classmethod
    def from_arrays(cls, name: str, X, y=None, *, task_type: str = "classification", metrics=()) -> "Task":
        """A task on the user's evaluation data: X (numeric, one row per example; or a dict of named
        arrays, one per model input) and y. There is no training split (the models come trained);
        its one placeholder row is never used. ``y=None``: a cost-only task (no labels; a run on it
        predicts nothing and stores no quality). Real numbers become float32; integer and bool
        arrays keep their dtype (token ids, masks)."""
        named = isinstance(X, dict)
        arrays = {k: np.asarray(v) for k, v in X.items()} if named else {None: np.asarray(X)}
        if not arrays:
            raise DataError("X: a dict of named inputs needs at least one array")
        ns = set()
        for k, a in arrays.items():
            where = "X" if k is None else f"X[{k!r}]"
            if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
                raise DataError(f"{where} must be numeric (floats, integers or bools); got dtype {a.dtype}")
            if a.ndim < 1 + (k is None):
                raise DataError(f"{where} must have one row per example ({'2-D or more' if k is None else '1-D or more'}); "
                                f"got shape {a.shape}")
            ns.add(len(a))
        if len(ns) > 1:
            raise DataError(f"X: the named inputs have different numbers of rows ({', '.join(f'{k} {len(a)}' for k, a in arrays.items())}); "
                            "every input needs one row per example")
        arrays = {k: _kept(a) for k, a in arrays.items()}
        n = ns.pop()
        labelled = y is not None
        y = np.asarray(y) if labelled else np.zeros(n, dtype=np.int64)
        X_test = arrays if named else arrays[None]
        X_train = {k: a[:1] for k, a in arrays.items()} if named else arrays[None][:1]
        return cls(name=name, X_train=X_train, y_train=np.asarray(y[:1]), X_test=X_test, y_test=y,
                   labelled=labelled, task_type=task_type, metrics=tuple(metrics))

    def record(self) -> dict:
        """What a run stores as its task: the description and the test labels."""
        return {**self.describe(), "y_test": np.asarray(self.y_test).ravel().tolist() if self.labelled else None}

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """One example's shape; None for a dict of named inputs (``describe()["inputs"]`` has each)."""
        return None if isinstance(self.X_test, dict) else tuple(self.X_test.shape[1:])

    @property
    def n_classes(self) -> int | None:
        if self.task_type != "classification":
            return None
        return int(len(np.unique(np.concatenate([self.y_train, self.y_test]))))

    def metric_defs(self) -> list:
        """The :class:`~effbench.tasks.metrics.MetricDef` of each metric a run scores."""
        from effbench.tasks.metrics import get_metric

        return [get_metric(m, self.task_type) for m in self.metrics]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "sample_shape": None if self.sample_shape is None else list(self.sample_shape),
            "dtype": None if isinstance(self.X_test, dict) else str(self.X_test.dtype),
            "n_classes": self.n_classes if self.labelled else None,
            **({"inputs": {k: {"shape": list(a.shape[1:]), "dtype": str(a.dtype)} for k, a in self.X_test.items()}}
               if isinstance(self.X_test, dict) else {}),
            **({"task_type": self.task_type} if self.task_type != "classification" or self.metrics else {}),
            **({"metrics": [{"name": m.name, "direction": m.direction} for m in self.metric_defs()]} if self.metrics else {}),
            **self.info,
        }


def _n_rows(X) -> int:
    return len(next(iter(X.values()))) if isinstance(X, dict) and X else len(X)


def _kept(a: np.ndarray) -> np.ndarray:
    """Integer and bool arrays as they are, real numbers as float32 (what every backend is measured with)."""
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(a, dtype=np.float32)


def check_predictions(y_pred, y_true) -> np.ndarray:
    """The predicted labels as a 1-D array that the quality metrics can score, or :class:`DataError`
    naming what is wrong with them (None, a wrong count or shape, NaN, strings against numbers)."""
    n = len(y_true)
    if y_pred is None:
        raise DataError("the model returned None instead of one label per example")
    y = np.asarray(y_pred)
    if y.ndim == 0:
        raise DataError(f"the model returned one value ({y.item()!r}) instead of one label per example")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"the model returned an array of shape {y.shape} where one label per example ({n},) was expected")
    if len(y) != n:
        raise DataError(f"the model returned {len(y)} labels for {n} examples")
    if y.dtype == object and any(v is None for v in y):
        raise DataError(f"the model returned None for {sum(v is None for v in y)} of {n} examples")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise DataError(f"the model returned NaN or infinite labels for {int((~np.isfinite(y)).sum())} of {n} examples")
    truth = np.asarray(y_true)
    if _is_numeric(truth) != _is_numeric(y):
        kinds = {True: "numbers", False: f"{y.dtype.kind!r}-kind values"}
        raise DataError(f"the model returned {kinds[_is_numeric(y)]} as labels but the test labels are "
                        f"{'numbers' if _is_numeric(truth) else 'not numbers'}")
    return y


def _is_numeric(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.number) or a.dtype == bool


def quality_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy and macro-F1 (scikit-learn's definitions) of predicted labels."""
    from sklearn.metrics import accuracy_score, f1_score

    y_true = np.asarray(y_true)
    y_pred = check_predictions(y_pred, y_true)
    try:
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
        }
    except (TypeError, ValueError) as exc:
        raise DataError(f"the predictions cannot be scored against the test labels: {exc}") from None
