"""A 2-layer BERT-like text classifier (int64 input_ids and attention_mask, length 128) measured in
worker processes on torch and on its ONNX export: both backends count the same FLOPs, equal to the
hand count (benchmarks/bert_like_model.py, benchmarks/bench_bert_like.py for the figures)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks")


@pytest.mark.slow
def test_bert_like_model_on_torch_and_onnx_counts_the_hand_flops(tmp_path, monkeypatch):
    import effbench
    from effbench.candidates.onnx_convert import onnx_from_torch
    from effbench.measure.timer import TimingConfig
    from effbench.report.progress import SilentProgress

    bench = os.path.abspath(BENCH)
    monkeypatch.syspath_prepend(bench)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([bench, os.environ.get("PYTHONPATH", "")]))  # the workers unpickle it
    import bert_like_model

    rng = np.random.default_rng(0)
    X = {"input_ids": rng.integers(0, 1000, (16, 128)).astype(np.int64), "attention_mask": np.ones((16, 128), np.int64)}
    X["attention_mask"][:, 100:] = 0
    y = rng.integers(0, 2, 16)
    model = bert_like_model.build()
    res = effbench.benchmark({"bert": model, "bert-onnx": onnx_from_torch(model, X)}, X, y, batch_sizes=[1, 4], energy=None,
                             progress=SilentProgress(), db=tmp_path / "r.sqlite", repeats=1,
                             timing=TimingConfig(min_time_s=0.01, max_time_s=0.2, warmup_s=0.01, min_samples=3))
    assert res.failed == []
    rows = {r["candidate"]: r for r in res.table()}
    hand = bert_like_model.hand_flops()
    assert hand == 33_554_688
    for key in ("bert/torch", "bert-onnx/onnxruntime"):
        assert rows[key]["flops_per_sample"].value == hand, key          # attention included, on both backends
        assert rows[key]["flops_uncounted_work_share"] < 0.05, key       # what is left is normalisation and activations
    # the two backends predict alike: the same accuracy on the same ids (integers reached both models as integers)
    assert rows["bert/torch"]["accuracy"].value == rows["bert-onnx/onnxruntime"]["accuracy"].value
    assert sys.modules["bert_like_model"] is bert_like_model
