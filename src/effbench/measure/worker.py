"""The worker side: one process per candidate, driven by commands from the parent.

:func:`effbench.measure.bootstrap.worker_main` starts the process and then serves a
:class:`WorkerState`. The parent sends commands over a pipe; the worker answers each with one message. Only the
parent writes the store. Commands:

    ("data", X)                       the test inputs (kept in the worker): one array or a dict of
                                      named arrays, dtypes kept (measure.inputs.as_batch)
    ("static", n_example)             params, size, FLOPs           -> ("static", dict)
    ("predict", what)                 on all of X, ``what`` one of  -> ("predictions", labels, outputs)
                                      "labels" (outputs None), "outputs" (labels None: regression) or
                                      "both" (labels and the raw outputs, for top-k and the like)
    ("memory", batch_size)            peak RSS of one call          -> ("memory", dict)
    ("latency", batch_size, config)   the timing protocol           -> ("latency", samples, meta)
    ("exit",)

A failing command answers ("error", message, traceback) and the worker goes on.
This module imports no heavy library (numpy only): the candidate's own unpickling imports torch,
onnxruntime or scikit-learn, in the worker, after the thread environment variables are set; the
thread pools are then limited at run time (threadpoolctl, torch, ONNX Runtime session options)
before any inference.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from effbench.measure.inputs import as_batch, batch_of

# Commands served by other modules: op -> "module:function(state, *args) -> reply tuple".
EXTRA_COMMANDS = {
    "rounds": "effbench.measure.rounds:handle_rounds",
    "energy": "effbench.measure.energy_cells:handle_energy",
}


def check_finite_output(out) -> None:
    """Raise ValueError when a model's numeric output (scores, logits, probabilities; a tensor, an
    array, or a tuple/list/dict of them) holds NaN or infinity: argmax would silently turn them
    into a class. Outputs that are not numeric arrays (labels as strings, ...) pass."""
    if isinstance(out, dict):
        parts = list(out.values())
    elif isinstance(out, (list, tuple)) and out and not np.isscalar(out[0]):
        parts = list(out)
    else:
        parts = [out]
    for part in parts:
        arr = _as_numpy(part)
        if arr is not None and np.issubdtype(arr.dtype, np.floating) and arr.size and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise ValueError(f"the model's output holds {bad} NaN or infinite value(s) of {arr.size}; "
                             "its labels would be arbitrary")


def _as_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy() if x.is_floating_point() else None
    return None


class WorkerState:
    """Everything a worker holds; also used in-process when isolation is off."""

    def __init__(self, candidate, threads: int):
        self.candidate = candidate
        self.threads = threads
        self.X = None
        self.runtime_warmed = False
        t0 = time.perf_counter()
        # BLAS/OpenMP pools were started when numpy was imported (before the environment variables
        # could act): limit them at run time, for every kind of candidate
        from threadpoolctl import threadpool_limits

        self._pool_limits = threadpool_limits(limits=threads)
        candidate.configure_threads(threads)
        self.configure_time_s = time.perf_counter() - t0
        from effbench.measure.memory import rss_bytes

        self.loaded_rss = rss_bytes()

    def ready_info(self) -> dict:
        from effbench.measure.environment import thread_info

        return {
            "pid": os.getpid(),
            "thread_settings": self.candidate.thread_settings(),
            "loaded_rss_bytes": self.loaded_rss,
            "threadpools": thread_info(self.threads).get("threadpools"),
            "configure_time_s": self.configure_time_s,
        }

    def handle(self, cmd: tuple):
        op = cmd[0]
        c = self.candidate
        if op == "data":
            self.X = as_batch(cmd[1])
            return ("ok",)
        if op == "static":
            example = batch_of(self.X, int(cmd[1]))
            out, errors = {"serialization": c.serialization_format()}, {}
            # each static cost on its own: a gap in one (an unpicklable function, a FLOP counter
            # that does not know an operator) is recorded with its reason, never fatal
            for name, compute in (
                ("params", c.param_count),
                ("size_bytes", c.size_bytes),
                ("flops", lambda: (lambda fc: None if fc is None else fc.to_dict())(c.flops(example))),
            ):
                try:
                    out[name] = compute()
                except Exception as exc:  # noqa: BLE001
                    out[name] = None
                    errors[name] = f"{type(exc).__name__}: {exc}"
            out["errors"] = errors
            return ("static", out)
        if op == "predict":
            what = cmd[1] if len(cmd) > 1 else "labels"
            if what not in ("labels", "outputs", "both"):
                raise ValueError(f"predict: expected 'labels', 'outputs' or 'both', got {what!r}")
            prepared = c.prepare(self.X)
            out = c.infer(prepared)
            c.sync()
            check_finite_output(out)
            labels = np.asarray(c.to_labels(out)) if what != "outputs" else None
            outputs = np.asarray(c.scores_for(prepared, out)) if what != "labels" else None
            return ("predictions", labels, outputs)
        if op == "memory":
            from effbench.measure.memory import measure_peak_memory

            if not self.runtime_warmed:  # one-time runtime initialisation stays out of the per-call figure
                c.infer(c.prepare(batch_of(self.X, 1)))
                c.sync()
                self.runtime_warmed = True
            prepared = c.prepare(batch_of(self.X, int(cmd[1])))

            def once():
                c.infer(prepared)
                c.sync()

            return ("memory", {**measure_peak_memory(once).to_dict(), "loaded_rss_bytes": self.loaded_rss})
        if op == "latency":
            from effbench.measure.timer import TimingConfig, measure_latency

            batch_size, config = int(cmd[1]), TimingConfig(**cmd[2])
            prepared = c.prepare(batch_of(self.X, batch_size))
            result = measure_latency(lambda: c.infer(prepared), config, sync=c.sync)
            return ("latency", result.samples_s, result.meta())
        if op in EXTRA_COMMANDS:
            import importlib

            module_name, attr = EXTRA_COMMANDS[op].split(":")
            return getattr(importlib.import_module(module_name), attr)(self, *cmd[1:])
        raise ValueError(f"unknown worker command {op!r}")
