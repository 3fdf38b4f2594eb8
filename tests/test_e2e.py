"""End to end: `effbench run --quick` on this machine, then show and export; and seeded training."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest


def _effbench(args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "effbench", *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_quick_run_show_export(tmp_path):
    env = {**os.environ, "EFFBENCH_DB": str(tmp_path / "r.sqlite")}
    proc = _effbench(["run", "--quick"], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for key in ("logreg/sklearn", "logreg/onnxruntime", "mlp/torch", "mlp/onnxruntime", "cnn_small/torch", "cnn_small/onnxruntime"):
        assert key in out
    assert "setup:" in out and "threads per candidate 1" in out
    assert "[" in proc.stderr  # plain progress lines when not a terminal

    show = _effbench(["show"], env)
    assert show.returncode == 0 and "digits-quick" in show.stdout and "complete" in show.stdout

    assert _effbench(["export", "latest", "--format", "json", "--output", str(tmp_path / "r.json")], env).returncode == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["status"] == "complete"
    assert doc["run"]["environment"]["libraries"]["torch"]
    cands = {c["key"]: c for c in doc["candidates"]}
    assert all(c["status"] == "ok" for c in cands.values()) and len(cands) == 6
    metrics = {(m["candidate"], m["name"], m["batch_size"]): m for m in doc["metrics"]}
    for key in cands:
        assert metrics[(key, "accuracy", 0)]["value"] > 0.9
        assert metrics[(key, "size_bytes", 0)]["provenance"] == "measured"
        assert metrics[(key, "peak_rss_bytes", 1)]["value"] > 0
        assert metrics[(key, "train_time_s", 0)]["value"] > 0
    # an ONNX export predicts exactly what its PyTorch source predicts
    assert cands["cnn_small/onnxruntime"]["predictions"] == cands["cnn_small/torch"]["predictions"]
    assert metrics[("cnn_small/torch", "flops_per_sample", 0)]["value"] == metrics[("cnn_small/onnxruntime", "flops_per_sample", 0)]["value"]
    samples = [s for s in doc["samples"] if s["candidate"] == "mlp/torch"]
    assert {s["batch_size"] for s in samples} == {1, 32} and all(len(s["values"]) >= 5 for s in samples)

    assert _effbench(["export", "latest", "--format", "csv", "--output", str(tmp_path / "r.csv")], env).returncode == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert {r["provenance"] for r in rows} <= {"measured", "analytic", "estimated"}
    again = _effbench(["export", "latest", "--format", "csv", "--output", str(tmp_path / "r.csv")], env)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_seeded_training_gives_the_same_predictions():
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, select_specs

    task = load_digits_task()
    runs = []
    for _ in range(2):
        cands, _ = build_candidates(task, select_specs(["logreg", "mlp", "cnn_small"], ["sklearn", "torch"]), quick=True)
        runs.append({c.key: c.predict(task.X_test) for c in cands})
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
