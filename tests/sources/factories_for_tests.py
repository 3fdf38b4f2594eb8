"""Factories that the python: source tests reference (python:factories_for_tests:NAME)."""

import numpy as np


def build_net(width=8, n_in=4, n_out=3):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(n_in, width), torch.nn.ReLU(), torch.nn.Linear(width, n_out))


def build_forest(n_estimators=3):
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.random((40, 4)).astype(np.float32)
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0).fit(X, (X[:, 0] > 0.5).astype(int))


def build_unfitted():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def build_function(threshold=0.5):
    return lambda X: (np.asarray(X)[:, 0] > threshold).astype(np.int64)


def build_nothing():
    return 3


def build_broken(size=1):
    raise RuntimeError(f"no GPU for size {size}\nsecond line")


def double(x):
    """A function used inside a pipeline saved with skops: a type outside skops' trusted list."""
    return 2 * x


class Picklable:
    """A plain object to pickle: any model-like object a pickle could hold."""

    def __init__(self, k):
        self.k = k

    def __call__(self, X):
        return np.full(len(X), self.k)
