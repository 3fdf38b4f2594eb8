"""scikit-learn's digits: 1,797 8x8 grey images of handwritten digits, 10 classes, shipped with sklearn."""

from __future__ import annotations

import numpy as np

from effbench.tasks.base import Task

SPLIT_SEED = 0
TEST_SIZE = 0.25


def load_digits_task() -> Task:
    """The embedded default task: a fixed stratified 75/25 split (seed 0), pixels scaled to [0, 1] as float32."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED
    )
    return Task(
        name="digits",
        X_train=np.ascontiguousarray(X_train),
        y_train=y_train,
        X_test=np.ascontiguousarray(X_test),
        y_test=y_test,
        description="scikit-learn digits, 8x8 images flattened to 64 float32 features in [0, 1]",
        info={"split": f"stratified, test_size={TEST_SIZE}, random_state={SPLIT_SEED}", "image_shape": [1, 8, 8]},
    )
