"""The inputs a worker holds and slices: one array, or a dict of named arrays (one per model input).

    X = as_batch({"input_ids": ids, "attention_mask": mask})   # dtypes kept: int64 ids, bool masks
    n_rows(X)                                                   # examples (the same for every array)
    batch_of(X, 8)                                              # the first 8 rows of every array

Real numbers become contiguous float32 (what every backend is measured with); integer and bool
arrays are kept as they are (token ids, masks), so they reach the model as integers and bools.
numpy only: this module runs in the worker before any heavy library is imported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_batch", "batch_of", "n_rows", "rows"]


def as_batch(X):
    """A batch as the models take it: floats as contiguous float32, integer and bool arrays as they
    are, and a dict of named inputs with each array so converted."""
    if isinstance(X, dict):
        return {k: as_batch(v) for k, v in X.items()}
    a = np.asarray(X)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(a, dtype=np.float32)


def n_rows(X) -> int:
    """The number of examples: the rows of the array, or of the first array of a dict."""
    if isinstance(X, dict):
        return len(next(iter(X.values()))) if X else 0
    return len(X)


def rows(X, index):
    """The rows ``index`` (a slice or an index array) of the array, or of every array of a dict."""
    if isinstance(X, dict):
        return {k: np.ascontiguousarray(v[index]) for k, v in X.items()}
    return np.ascontiguousarray(X[index])


def batch_of(X, batch_size: int):
    """The first ``batch_size`` examples, cycling through X when the batch is larger than the data;
    a dict of named arrays is sliced by the same rows in every array."""
    n = n_rows(X)
    if batch_size <= n:
        return rows(X, slice(0, batch_size))
    return rows(X, np.arange(batch_size) % n)
