"""Repeated whole-dataset inference rounds for tail quality (the measuring side).

Worker side: :func:`run_rounds` infers every instance of the test inputs once per round, batch
by batch in a fixed order (instance ``i`` is in batch ``i // batch_size``; the last batch may be
smaller), and records per round and batch

* ``inference_s``: the model only, ``infer()`` + ``sync()`` around the batch;
* ``e2e_s``: end to end, ``prepare()`` + ``infer()`` + ``sync()`` + ``to_labels()``
  (pre- and post-processing included);

and the answer of every instance in every round: its predicted label, or, for a regression
(``answers="values"``), its predicted value (``scores_for()`` in place of ``to_labels()``). The
inputs are one array or a dict of named arrays (:mod:`effbench.measure.inputs`): an instance is a
row of every array. Every instance of a batch takes its batch's time. Warm-up rounds run first and are discarded. The garbage collector is collected
once and then paused for the whole command; ``sync()`` is called before every timestamp.
The worker process serves it as the command ``("rounds", n_rounds, batch_size, warmup_rounds, answers)``
(:func:`handle_rounds`, registered in ``measure/worker.py``).

Parent side: a *round source* (:func:`worker_source`) gives a few rounds at a time;
:func:`effbench.runs.tail.rounds_until_converged` feeds them to the stopping rule
(:class:`effbench.analysis.tail.ConvergenceMonitor`). The
rule runs in the parent, between requests, not in the worker: the worker's timing loop stays
free of KDE fits (and of scipy), the fit never runs while a round is being timed (the worker
waits on its pipe meanwhile), and the rule is the same object that replays recorded rounds
offline. The cost is one pipe round trip per request (well under a millisecond, against tens of
milliseconds per round); requests are ``every`` rounds long, the rule's own fitting period, so
no round is measured past the stop.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.measure.inputs import n_rows, rows as rows_of
from effbench.validation import Interval, Options, check

TIME_KINDS = ("e2e", "inference")
ANSWERS = ("labels", "values")
__all__ = [
    "ANSWERS",
    "TIME_KINDS",
    "RoundsData",
    "run_rounds",
    "handle_rounds",
    "worker_source",
    "measure_more",
]


def _whole(value, name: str, low: int) -> int:
    return check(name, value, Interval(int, low, None))


@dataclass
class RoundsData:
    """Measured rounds: per-batch times ``[round, batch]`` and predictions ``[round, instance]``."""

    batch_size: int
    n_instances: int
    inference_s: np.ndarray
    e2e_s: np.ndarray
    predictions: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        return int(self.inference_s.shape[0])

    @property
    def batch_ids(self) -> np.ndarray:
        """Batch of every instance: ``i // batch_size``."""
        return np.arange(self.n_instances) // self.batch_size

    def batch_times(self, kind: str = "e2e") -> np.ndarray:
        if kind not in TIME_KINDS:
            raise ConfigError(f"time_kind: expected one of {', '.join(TIME_KINDS)}, got {kind!r}")
        return self.e2e_s if kind == "e2e" else self.inference_s

    def instance_times(self, kind: str = "e2e") -> np.ndarray:
        """Per-instance times ``[round, instance]``: every instance takes its batch's time."""
        return self.batch_times(kind)[:, self.batch_ids]

    def correct(self, y, tolerance: float | None = None) -> np.ndarray:
        """``[round, instance]`` booleans, without deadline: the predicted label equals the label, or,
        with a ``tolerance`` (regression), the predicted value is within it: ``|prediction - y| <= tolerance``."""
        y = np.asarray(y).ravel()
        if y.shape[0] != self.n_instances:
            raise DataError(f"y: expected {self.n_instances} labels (one per instance), got {y.shape[0]}")
        if tolerance is None:
            return self.predictions == y[None, :]
        return np.abs(self.predictions.astype(np.float64) - y.astype(np.float64)[None, :]) <= tolerance

    def take(self, rows) -> "RoundsData":
        return RoundsData(self.batch_size, self.n_instances, self.inference_s[rows], self.e2e_s[rows],
                          self.predictions[rows], dict(self.meta))

    @classmethod
    def concat(cls, parts: list["RoundsData"]) -> "RoundsData":
        if not parts:
            raise DataError("rounds: nothing to concatenate")
        first = parts[0]
        for p in parts[1:]:
            if (p.batch_size, p.n_instances) != (first.batch_size, first.n_instances):
                raise DataError(
                    f"rounds: parts differ in batch size or instances ({p.batch_size}, {p.n_instances}) "
                    f"vs ({first.batch_size}, {first.n_instances})"
                )
        return cls(
            first.batch_size,
            first.n_instances,
            np.concatenate([p.inference_s for p in parts]),
            np.concatenate([p.e2e_s for p in parts]),
            np.concatenate([p.predictions for p in parts]),
            dict(first.meta),
        )

    @classmethod
    def from_payload(cls, payload: dict) -> "RoundsData":
        return cls(
            int(payload["batch_size"]),
            int(payload["n_instances"]),
            np.asarray(payload["inference_s"], dtype=float),
            np.asarray(payload["e2e_s"], dtype=float),
            np.asarray(payload["predictions"]),
            dict(payload.get("meta", {})),
        )


# --------------------------------------------------------------------------- worker side


def run_rounds(
    candidate,
    X,
    n_rounds: int,
    *,
    batch_size: int = 1,
    warmup_rounds: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    clock_name: str = "time.perf_counter",
    pause_gc: bool = True,
    answers: str = "labels",
) -> dict:
    """Run ``warmup_rounds`` discarded rounds, then ``n_rounds`` timed rounds over all of ``X``
    (one array, or a dict of named arrays sliced by the same rows).

    Returns a picklable payload: ``inference_s`` and ``e2e_s`` ``[n_rounds, n_batches]``,
    ``predictions`` ``[n_rounds, n_instances]``, ``batch_size``, ``n_instances`` and ``meta``.
    Per batch: ``t0``; prepare; sync; ``t1``; infer; sync; ``t2``; answers; ``t3`` with
    inference = t2 - t1 and end to end = t3 - t0. ``answers``: ``labels`` (``to_labels()``) or
    ``values`` (a regression: ``scores_for()``, one real value per instance, kept as float64).
    """
    n_rounds = _whole(n_rounds, "n_rounds", 1)
    batch_size = _whole(batch_size, "batch_size", 1)
    warmup_rounds = _whole(warmup_rounds, "warmup_rounds", 0)
    check("answers", answers, Options(set(ANSWERS)))
    if X is None:
        raise DataError("rounds: no test inputs; send the 'data' command first")
    if not isinstance(X, dict):
        X = np.asarray(X)
    n = n_rows(X)
    if n == 0:
        raise DataError("rounds: the test inputs are empty")
    starts = list(range(0, n, batch_size))
    slices = [rows_of(X, slice(s, s + batch_size)) for s in starts]
    nb = len(slices)
    c = candidate
    sync = c.sync
    if answers == "labels":
        def answer(prepared, out, _n):
            return c.to_labels(out)
    else:
        def answer(prepared, out, size):
            return _values(c.scores_for(prepared, out), size)

    def one_round(inf_row, e2e_row, pred_row):
        for j, xb in enumerate(slices):
            size = min(batch_size, n - starts[j])
            t0 = clock()
            prepared = c.prepare(xb)
            sync()
            t1 = clock()
            out = c.infer(prepared)
            sync()
            t2 = clock()
            labels = answer(prepared, out, size)
            t3 = clock()
            inf_row[j] = t2 - t1
            e2e_row[j] = t3 - t0
            if pred_row is not None:
                pred_row[starts[j] : starts[j] + size] = np.asarray(labels).ravel()

    inf = np.empty((n_rounds, nb))
    e2e = np.empty((n_rounds, nb))
    pred = None
    scratch_i, scratch_e = np.empty(nb), np.empty(nb)
    gc_was_enabled = gc.isenabled()
    wall0 = time.perf_counter()
    try:
        if pause_gc:
            gc.collect()
            gc.disable()
        for _ in range(warmup_rounds):
            one_round(scratch_i, scratch_e, None)
        for r in range(n_rounds):
            if pred is None:  # the first timed round also tells the labels' dtype
                row = np.empty(n, dtype=object)
                one_round(inf[r], e2e[r], row)
                first = np.asarray(row.tolist())
                pred = np.empty((n_rounds, n), dtype=object if first.dtype.kind in "USO" else first.dtype)
                pred[0] = first
            else:
                one_round(inf[r], e2e[r], pred[r])
    finally:
        if pause_gc and gc_was_enabled:
            gc.enable()
    return {
        "batch_size": batch_size,
        "n_instances": n,
        "inference_s": inf,
        "e2e_s": e2e,
        "predictions": pred,
        "meta": {
            "clock": clock_name,
            "gc_paused": bool(pause_gc),
            "warmup_rounds": warmup_rounds,
            "n_batches": nb,
            "order": "fixed: instance i in batch i // batch_size",
            "inference": "infer() + sync()",
            "e2e": f"prepare() + sync() + infer() + sync() + {'to_labels' if answers == 'labels' else 'scores_for'}()",
            "answers": answers,
            "wall_time_s": time.perf_counter() - wall0,
        },
    }


def _values(output, n: int) -> np.ndarray:
    """A regression's answers: one real value per instance ((n,) or (n, 1) outputs), as float64."""
    out = np.asarray(output)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or len(out) != n or not np.issubdtype(out.dtype, np.number):
        raise DataError(f"expected one predicted value per instance ({n}) from a regression model; "
                        f"the model returned shape {out.shape} of {out.dtype}")
    return out.astype(np.float64)


def handle_rounds(state, n_rounds, batch_size=1, warmup_rounds=0, answers="labels"):
    """Worker command ``("rounds", n_rounds, batch_size, warmup_rounds, answers)`` -> ``("rounds", payload)``."""
    payload = run_rounds(state.candidate, state.X, n_rounds, batch_size=batch_size, warmup_rounds=warmup_rounds,
                         answers=answers)
    return ("rounds", payload)


# --------------------------------------------------------------------------- parent side

RoundSource = Callable[[int], RoundsData]  # k -> k new rounds


def worker_source(worker, *, batch_size: int = 1, warmup_rounds: int = 1, timeout_s: float = 600.0,
                  answers: str = "labels") -> RoundSource:
    """A round source backed by a worker (``ProcessWorker`` or ``InlineWorker``) that holds its data.

    The first request also runs ``warmup_rounds`` discarded rounds. ``answers``: what each round
    keeps per instance (:data:`ANSWERS`: ``labels``, or ``values`` for a regression).
    """
    pending_warmup = [int(warmup_rounds)]

    def source(k: int) -> RoundsData:
        reply = worker.request(("rounds", int(k), int(batch_size), pending_warmup[0], answers), timeout_s)
        pending_warmup[0] = 0
        return RoundsData.from_payload(reply[1])

    return source


def measure_more(source: RoundSource, n_rounds: int, *, chunk: int = 10,
                 on_rounds: Callable[[int], None] | None = None) -> RoundsData | None:
    """``n_rounds`` further rounds from ``source`` in requests of at most ``chunk`` (None when 0)."""
    n_rounds = _whole(n_rounds, "holdout_rounds", 0)
    chunk = _whole(chunk, "chunk", 1)
    parts, done = [], 0
    while done < n_rounds:
        k = min(chunk, n_rounds - done)
        got = source(k)
        if got.rounds != k:
            raise DataError(f"rounds: asked the source for {k} rounds, got {got.rounds}")
        parts.append(got)
        done += k
        if on_rounds:
            on_rounds(done)
    return RoundsData.concat(parts) if parts else None
