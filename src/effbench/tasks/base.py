"""A classification task: fixed train/test split and the quality metrics effbench reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from effbench.errors import DataError


@dataclass(frozen=True)
class Task:
    """A supervised classification task with a fixed split.

    Inputs are float32 arrays of shape (n, *sample_shape); every candidate receives them as they are
    (a network that wants images reshapes inside its forward pass), so all backends see the same input.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    description: str = ""
    info: dict = field(default_factory=dict)
    labelled: bool = True  # False: cost only; y_train and y_test are placeholders, never scored or stored

    def __post_init__(self):
        for part in ("train", "test"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if len(X) != len(y):
                raise DataError(f"task {self.name!r}: X_{part} has {len(X)} rows but y_{part} has {len(y)}; they must match")
            if len(X) == 0:
                raise DataError(f"task {self.name!r}: the {part} split is empty; it needs at least one example")

    @classmethod
    def from_arrays(cls, name: str, X, y=None) -> "Task":
        """A task on the user's evaluation data: X (numeric, one row per example) and y. There is no
        training split (the models come trained); its one placeholder row is never used. ``y=None``:
        a cost-only task (no labels; a run on it predicts nothing and stores no quality)."""
        X = np.asarray(X)
        labelled = y is not None
        y = np.asarray(y) if labelled else np.zeros(len(X) if X.ndim else 0, dtype=np.int64)
        if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
            raise DataError(f"X must be numeric (it is passed to the models as float32); got dtype {X.dtype}")
        if X.ndim < 2:
            raise DataError(f"X must have one row per example (2-D or more); got shape {X.shape}")
        return cls(name=name, X_train=np.asarray(X[:1], dtype=np.float32), y_train=np.asarray(y[:1]),
                   X_test=np.ascontiguousarray(X, dtype=np.float32), y_test=y, labelled=labelled)

    def record(self) -> dict:
        """What a run stores as its task: the description and the test labels."""
        return {**self.describe(), "y_test": np.asarray(self.y_test).ravel().tolist() if self.labelled else None}

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.X_test.shape[1:])

    @property
    def n_classes(self) -> int:
        return int(len(np.unique(np.concatenate([self.y_train, self.y_test]))))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "sample_shape": list(self.sample_shape),
            "dtype": str(self.X_test.dtype),
            "n_classes": self.n_classes if self.labelled else None,
            **self.info,
        }


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
