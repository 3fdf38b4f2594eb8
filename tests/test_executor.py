"""The executor: seeded interleaving, and workers that crash or hang fail alone.

The candidates' functions are defined at module level here: workers are spawned and unpickle
them by reference (``test_executor.<name>``); the child gets the parent's ``sys.path``, where
pytest put this directory.
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import pytest
import scipy.stats  # noqa: F401 - loaded in every worker at start-up (see COMMAND_TIMEOUT_S)

from effbench.candidates.callable_adapter import CallableCandidate
from effbench.errors import ConfigError
from effbench.executor import ExecutionConfig, execute, plan_cells, steps_for
from effbench.measure.timer import TimingConfig

_CALLS_AT_8 = 0

# One command timeout serves every worker, the healthy one too, so the hang must be told apart from a
# healthy command by a wide margin. A worker imports this module when it unpickles its model, so the
# one slow first-time import of its commands (scipy.stats, for the latency stopping rule) happens at
# start-up, under the generous STARTUP_TIMEOUT_S; after it every healthy command here is a few
# milliseconds of work (at most about 0.25 s measured on 2 cores under a load average of 6), 40 times
# inside COMMAND_TIMEOUT_S, which is the time the test waits for the hang.
COMMAND_TIMEOUT_S = 10.0
STARTUP_TIMEOUT_S = 600.0


def model_ok(X):
    return np.zeros(len(X), dtype=np.int64)


def _third_call_at_8(X) -> bool:
    """True from the 3rd call at batch size 8: past the memory step (1 call), inside the latency cell."""
    global _CALLS_AT_8
    if len(X) != 8:
        return False
    _CALLS_AT_8 += 1
    return _CALLS_AT_8 >= 3


def model_exits(X):
    if _third_call_at_8(X):
        os._exit(1)
    return model_ok(X)


def model_aborts(X):
    if len(X) == 8:
        os.abort()
    return model_ok(X)


def model_hangs(X):
    if _third_call_at_8(X):
        while True:
            time.sleep(3600)
    return model_ok(X)


class Recorder:
    def __init__(self):
        self.events = []
        self.failures = {}
        self.latency_cells = []

    def ready(self, key, info):
        self.events.append(("ready", key))

    def static(self, key, s):
        self.events.append(("static", key))

    def predictions(self, key, labels, outputs=None):
        self.events.append(("predictions", key))

    def memory(self, key, b, reading):
        self.events.append(("memory", key, b))

    def latency(self, key, b, samples, meta):
        self.latency_cells.append((key, b, len(samples), meta["stop_reason"]))

    def failed(self, key, reason, detail=""):
        self.failures[key] = reason

    def failed_step(self, key, step, reason, detail=""):
        self.events.append(("failed_step", key, step))


def test_plan_is_a_seeded_permutation_of_every_cell():
    keys = [f"m{i}/torch" for i in range(5)]
    cells = plan_cells(keys, (1, 8, 32), repeats=2, seed=7)
    every = sorted(itertools.product(keys, (1, 8, 32), range(2)))
    assert sorted(cells) == every and len(cells) == len(every)
    assert plan_cells(keys, (1, 8, 32), repeats=2, seed=7) == cells
    assert plan_cells(keys, (1, 8, 32), repeats=2, seed=8) != cells
    assert cells != every  # actually shuffled (fixed seed: deterministic)


def test_execution_config_validation():
    with pytest.raises(ConfigError, match="batch_sizes"):
        ExecutionConfig(batch_sizes=())
    with pytest.raises(ConfigError, match="threads"):
        ExecutionConfig(batch_sizes=(1,), threads=0)
    assert steps_for(2, ExecutionConfig(batch_sizes=(1, 8), repeats=2)) == 2 * (3 + 2) + 2 * 2 * 2


def test_crashing_and_hanging_workers_fail_alone():
    fast = TimingConfig(warmup_calls=3, warmup_s=0.0, min_samples=5, max_samples=50, min_time_s=0.0, max_time_s=0.02)
    config = ExecutionConfig(batch_sizes=(1, 8), timing=fast, seed=3, command_timeout_s=COMMAND_TIMEOUT_S,
                             startup_timeout_s=STARTUP_TIMEOUT_S)
    candidates = [
        CallableCandidate("ok", model_ok),
        CallableCandidate("exits", model_exits),
        CallableCandidate("aborts", model_aborts),
        CallableCandidate("hangs", model_hangs),
        CallableCandidate("unpicklable", lambda X: model_ok(X)),
    ]
    X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    rec = Recorder()
    execute(candidates, X, config, rec)

    assert set(rec.failures) == {"exits/callable", "aborts/callable", "hangs/callable", "unpicklable/callable"}
    assert "exit code 1" in rec.failures["exits/callable"] and "latency at batch 8" in rec.failures["exits/callable"]
    assert "SIGABRT" in rec.failures["aborts/callable"] and "memory at batch 8" in rec.failures["aborts/callable"]
    assert "did not answer within 10 s" in rec.failures["hangs/callable"] and "latency at batch 8" in rec.failures["hangs/callable"]
    assert "cannot be sent to a worker" in rec.failures["unpicklable/callable"]
    # the healthy candidate completed every cell, in every repeat (time window)
    assert config.repeats == 3
    assert sorted((k, b) for k, b, _, _ in rec.latency_cells if k == "ok/callable") == [("ok/callable", 1)] * 3 + [("ok/callable", 8)] * 3
    assert ("predictions", "ok/callable") in rec.events and ("static", "ok/callable") in rec.events
    # what was measured before a crash is kept
    assert ("memory", "exits/callable", 8) in rec.events and ("predictions", "hangs/callable") in rec.events
