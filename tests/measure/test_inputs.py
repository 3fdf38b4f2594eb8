"""measure/inputs.py and the worker's data path: dtypes kept, dicts of named arrays sliced by rows."""

import numpy as np
import pytest

from effbench.errors import DataError
from effbench.measure.inputs import as_batch, batch_of, n_rows
from effbench.measure.worker import WorkerState
from effbench.tasks.base import Task


def _named(n=5):
    ids = np.arange(n * 3, dtype=np.int64).reshape(n, 3)
    return {"input_ids": ids, "attention_mask": ids % 2 == 0, "scale": np.linspace(0, 1, n)}


def test_as_batch_keeps_integers_and_bools_and_makes_floats_float32():
    b = as_batch(_named())
    assert {k: v.dtype for k, v in b.items()} == {"input_ids": np.int64, "attention_mask": np.bool_, "scale": np.float32}
    assert as_batch(np.arange(4, dtype=np.int32)).dtype == np.int32
    assert as_batch(np.ones((2, 2))).dtype == np.float32


def test_batch_of_slices_every_named_array_by_the_same_rows_and_cycles():
    X = _named(5)
    assert n_rows(X) == 5
    b = batch_of(X, 3)
    assert np.array_equal(b["input_ids"], X["input_ids"][:3]) and np.array_equal(b["scale"], X["scale"][:3])
    big = batch_of(X, 12)  # larger than the data: rows 0..4, 0..4, 0..1 in every array
    rows = np.arange(12) % 5
    assert all(np.array_equal(big[k], X[k][rows]) for k in X) and big["input_ids"].dtype == np.int64
    assert np.array_equal(batch_of(np.arange(3), 7), [0, 1, 2, 0, 1, 2, 0])


def test_a_task_keeps_named_inputs_and_their_dtypes():
    X = _named(4)
    task = Task.from_arrays("t", X, [0, 1, 0, 1])
    assert task.X_test["input_ids"].dtype == np.int64 and task.X_test["scale"].dtype == np.float32
    d = task.describe()
    assert d["sample_shape"] is None and d["dtype"] is None
    assert d["inputs"]["attention_mask"] == {"shape": [3], "dtype": "bool"}
    reg = Task.from_arrays("r", np.zeros((4, 2)), [0.5, 1.0, 2.0, 3.5], task_type="regression", metrics=["rmse", "r2"])
    assert reg.n_classes is None and reg.record()["metrics"] == [{"name": "rmse", "direction": "min"},
                                                                 {"name": "r2", "direction": "max"}]
    with pytest.raises(DataError, match=r"different numbers of rows \(a 3, b 2\)"):
        Task.from_arrays("t", {"a": np.zeros((3, 1)), "b": np.zeros((2, 1))})


class _Echo:
    """A candidate whose output is its int64 input plus 0.5 (as floats): it shows what reached it."""

    backend = "callable"

    def __init__(self):
        self.seen = []

    def configure_threads(self, threads):
        pass

    def prepare(self, X):
        return as_batch(X)

    def infer(self, prepared):
        self.seen.append({k: v.dtype for k, v in prepared.items()})
        return prepared["input_ids"][:, :1] + 0.5

    def sync(self):
        pass

    def to_labels(self, out):
        return np.zeros(len(out), dtype=np.int64)

    def to_outputs(self, out):
        return np.asarray(out)

    def scores_for(self, prepared, out):
        return self.to_outputs(out)


def test_the_worker_feeds_named_int64_inputs_and_returns_what_is_asked():
    c = _Echo()
    state = WorkerState(c, threads=1)
    X = _named(5)
    state.handle(("data", X))
    _, labels, outputs = state.handle(("predict", "outputs"))
    assert labels is None and np.array_equal(outputs[:, 0], X["input_ids"][:, 0] + 0.5)
    assert c.seen[-1] == {"input_ids": np.int64, "attention_mask": np.bool_, "scale": np.float32}
    _, labels, outputs = state.handle(("predict", "both"))
    assert labels.tolist() == [0] * 5 and outputs.shape == (5, 1)
    assert state.handle(("predict",))[2] is None  # labels only, as for the digits suite
    with pytest.raises(ValueError, match="expected 'labels', 'outputs' or 'both'"):
        state.handle(("predict", "scores"))
