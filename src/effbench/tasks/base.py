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

    def __post_init__(self):
        for part in ("train", "test"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if len(X) != len(y):
                raise DataError(f"task {self.name!r}: X_{part} has {len(X)} rows but y_{part} has {len(y)}; they must match")
            if len(X) == 0:
                raise DataError(f"task {self.name!r}: the {part} split is empty; it needs at least one example")

    @classmethod
    def from_arrays(cls, name: str, X, y) -> "Task":
        """A task on the user's evaluation data: X (numeric, one row per example) and y. There is no
        training split (the models come trained); its one placeholder row is never used."""
        X = np.asarray(X)
        y = np.asarray(y)
        if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
            raise DataError(f"X must be numeric (it is passed to the models as float32); got dtype {X.dtype}")
        if X.ndim < 2:
            raise DataError(f"X must have one row per example (2-D or more); got shape {X.shape}")
        return cls(name=name, X_train=np.asarray(X[:1], dtype=np.float32), y_train=np.asarray(y[:1]),
                   X_test=np.ascontiguousarray(X, dtype=np.float32), y_test=y)

    def record(self) -> dict:
        """What a run stores as its task: the description and the test labels."""
        return {**self.describe(), "y_test": np.asarray(self.y_test).ravel().tolist()}

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
            "n_classes": self.n_classes,
            **self.info,
        }


def quality_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy and macro-F1 (scikit-learn's definitions) of predicted labels."""
    from sklearn.metrics import accuracy_score, f1_score

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise DataError(f"predictions have shape {y_pred.shape} but the labels have shape {y_true.shape}; one label per test example is required")
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
    }
