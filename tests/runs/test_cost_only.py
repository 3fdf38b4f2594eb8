"""A task without labels makes a cost-only run: the predict step is skipped and no quality is stored."""

import numpy as np

from effbench import records as R
from effbench.candidates import wrap
from effbench.executor import ExecutionConfig, steps_for
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress
from effbench.runs.latency import measure_run
from effbench.tasks.base import Task

FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=10, min_time_s=0.0, max_time_s=0.02)


def _first_feature_above_half(X):
    return (np.asarray(X)[:, 0] > 0.5).astype(np.int64)


def test_a_task_without_labels_is_cost_only(tmp_path):
    X = np.random.default_rng(0).random((6, 3)).astype(np.float32)
    task = Task.from_arrays("synthetic", X)
    assert not task.labelled and task.record()["y_test"] is None and task.record()["n_classes"] is None
    cand = wrap("thresh", _first_feature_above_half)
    res = measure_run([cand], task, suite="files", batch_sizes=[1, 4], timing=FAST, db=tmp_path / "r.sqlite",
                      isolate=False, repeats=1, progress=SilentProgress())
    key = cand.key
    assert res.run.candidate(key).status == "ok"
    assert res.run.config["quality"] is False
    assert res.run.metric(key, R.ACCURACY) is None and res.run.metric(key, "f1_macro") is None
    assert res.run.candidate(key).predictions is None
    assert res.run.metric(key, R.PARAMS) is not None
    assert {b for b in (1, 4) if res.run.sample_set(key, b) is not None} == {1, 4}


def test_the_predict_step_counts_only_with_quality():
    with_quality = ExecutionConfig(batch_sizes=(1,), repeats=1)
    cost_only = ExecutionConfig(batch_sizes=(1,), repeats=1, quality=False)
    assert steps_for(1, with_quality) == steps_for(1, cost_only) + 1
