"""``effbench recommend RUN_ID`` on a hand-built store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet, Store


def _run(run_id="20260101-000000-abcd"):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 300)

    def preds(n_wrong, start=0):
        p = y.copy()
        p[start:start + n_wrong] = (p[start:start + n_wrong] + 1) % 10
        return p.tolist()

    run = RunRecord(run_id, "2026-01-01T00:00:00+00:00", "complete", suite="hand", task={"y_test": y.tolist()})
    spec = [  # key, family, errors, params, flops, size, p99 latency at b1 (s), rss
        ("cnn_wide/torch", "neural-network", preds(5), 99370, 1.2e7, 4.0e5, 4e-3, 3.0e8),
        ("cnn_wide.prune50s/torch", "neural-network", preds(6, 2), 28954, 3.0e6, 1.2e5, 2e-3, 2.9e8),
        ("random_forest/sklearn", "tree-ensemble", preds(7, 1), 30000, 1.0e4, 9.0e5, 3e-3, 1.6e8),
        ("logreg/sklearn", "linear", preds(40), 650, 1280, 3.3e3, 1e-4, 1.5e8),
    ]
    for key, fam, p, params, flops, size, p99, rss in spec:
        run.candidates.append(CandidateRecord(key, key.split("/")[0], key.split("/")[1], fam, status="ok", predictions=p))
        acc = float(np.mean(np.asarray(p) == y))
        run.metrics += [Metric(key, "accuracy", acc, "ratio", "measured"), Metric(key, "params", params, "count", "analytic"),
                        Metric(key, "flops_per_sample", flops, "FLOP", "analytic"), Metric(key, "size_bytes", size, "bytes", "measured"),
                        Metric(key, "peak_rss_bytes", rss, "bytes", "measured", batch_size=1),
                        # energy and carbon as runs.recorder.Recorder.energy stores them: per batch size
                        Metric(key, "energy_per_sample_j", p99 * 10.0, "J", "estimated", batch_size=1),
                        Metric(key, "carbon_per_sample_g", p99 * 1e-4, "gCO2e", "estimated", batch_size=1)]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", np.full(200, p99)))
    run.candidates.append(CandidateRecord("shufflenet_tiny.prune50s/torch", "shufflenet_tiny.prune50s", "torch", "neural-network",
                                          status="failed", error="variant build failed: structured pruning: no Conv/Linear layer"))
    return run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.import_run(_run())
    return str(path)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("effbench: error: ")
    return err[0]


def test_on_par_simpler_model(db, tmp_path, capsys):
    out = tmp_path / "rec.json"
    assert main(["recommend", "latest", "--db", db, "--json", str(out)]) == 0
    text = capsys.readouterr()
    assert "random_forest/sklearn is on par with cnn_wide/torch (McNemar exact p=" in text.out
    assert "Use random_forest/sklearn." in text.out and "runner-ups" in text.out
    assert text.out.splitlines()[-4:] == [
        "  cnn_wide.prune50s/torch: accuracy 0.9800 (on par, p=1.000); neural-network; params=29k, latency_p99_s_b1=2 ms, size_bytes=117 KiB",
        "  cnn_wide/torch: accuracy 0.9833 (on par); neural-network; params=99.4k, latency_p99_s_b1=4 ms, size_bytes=391 KiB",
        "  logreg/sklearn: accuracy 0.8667 (not on par, p=5.8e-11); linear; params=650, latency_p99_s_b1=100 µs, size_bytes=3.22 KiB",
        ""]
    assert "left out shufflenet_tiny.prune50s/torch: candidate failed: variant build failed" in text.err
    rec = json.loads(out.read_text())
    assert rec["chosen"] == "random_forest/sklearn" and rec["reference"] == "cnn_wide/torch" and rec["confidence"] == 0.95
    assert main(["recommend", "latest", "--db", db, "--json", str(out)]) == 2
    assert "--force" in _error_line(capsys)


def test_latency_preference_picks_the_compressed_variant(db, capsys):
    assert main(["recommend", "2026", "--db", db, "--prefer", "latency,size", "--max-loss", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "cnn_wide.prune50s/torch is on par with cnn_wide/torch" in out
    assert "2.0x lower p99 latency at batch 1" in out and "4.0x fewer FLOPs" in out


def test_infeasible_constraints_show_the_closest(db, capsys):
    assert main(["recommend", "latest", "--db", db, "--min-accuracy", "0.999", "--max-latency-p99", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "No model meets the constraints (accuracy >= 0.999; latency_p99_s_b1 <= 0.001)." in out
    assert "Closest: " in out


def test_bad_input(db, capsys):
    assert main(["recommend", "latest", "--db", db, "--min-accuracy", "0.9", "--max-loss", "0.01"]) == 2
    assert "not both" in _error_line(capsys)
    assert main(["recommend", "latest", "--db", db, "--prefer", "latency_p99_s_b64"]) == 2
    assert "no model has accuracy and every cost asked (latency_p99_s_b64)" in _error_line(capsys)
    assert main(["recommend", "latest", "--db", db, "--max-memory", "0"]) == 2
    assert _error_line(capsys) == "effbench: error: --max-memory: expected a number > 0, got 0.0"
    assert main(["recommend", "latest", "--db", db, "--alpha", "2"]) == 2
    assert _error_line(capsys) == "effbench: error: alpha: expected a number in (0, 1), got 2.0"
    assert main(["recommend", "nope", "--db", db]) == 2
    assert "unknown run id 'nope'" in _error_line(capsys)


def test_energy_limit_and_preference(db, tmp_path, capsys):
    # energy per sample at batch 1 = 10 x the p99 latency: cnn 0.04, pruned 0.02, forest 0.03, logreg 0.001 J
    out = tmp_path / "e.json"
    assert main(["recommend", "latest", "--db", db, "--max-energy", "0.025", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "energy_per_sample_j_b1 <= 0.025" in text
    rec = json.loads(out.read_text())
    assert set(rec["feasible"]) == {"cnn_wide.prune50s/torch", "logreg/sklearn"}
    assert main(["recommend", "latest", "--db", db, "--prefer", "energy", "--max-loss", "0.01"]) == 0
    text = capsys.readouterr().out
    assert "preference: energy_per_sample_j_b1" in text
    assert "cnn_wide.prune50s/torch is on par with cnn_wide/torch" in text and "2.0x less energy per sample at batch 1" in text
    assert main(["recommend", "latest", "--db", db, "--prefer", "carbon"]) == 0
    assert "preference: carbon_per_sample_g_b1" in capsys.readouterr().out


def test_energy_indicator_follows_batch_size_and_can_be_named(db, capsys):
    assert main(["recommend", "latest", "--db", db, "--max-energy", "1", "--batch-size", "8"]) == 2
    assert "unknown cost 'energy_per_sample_j_b8'" in _error_line(capsys)
    assert main(["recommend", "latest", "--db", db, "--max-energy", "1", "--energy-indicator", "energy_per_sample_j"]) == 2
    assert "'energy_per_sample_j' is stored per batch size" in _error_line(capsys)
    assert main(["recommend", "latest", "--db", db, "--max-energy", "1", "--energy-indicator", "carbon_per_sample_g_b1"]) == 0
    assert "carbon_per_sample_g_b1 <= 1" in capsys.readouterr().out


def test_default_preference_is_the_library_one():
    from effbench.analysis.selection import DEFAULT_PREFERENCE
    from effbench.cli.recommend_cmd import recommend

    opt = next(p for p in recommend.params if p.name == "prefer")
    assert tuple(opt.default.split(",")) == DEFAULT_PREFERENCE


def test_latencies_within_the_noise_tie_and_the_default_configuration_wins(tmp_path, capsys):
    # 15.8 vs 16.6 us medians, each over 101 calls spread +-4 us: the 95% intervals overlap
    y = np.arange(100) % 10
    run = RunRecord("20260102-000000-abcd", "2026-01-02T00:00:00+00:00", "complete", suite="hand", task={"y_test": y.tolist()})
    for key, parent, median in (("mlp/onnxruntime", None, 16.6e-6), ("mlp.ortnoopt/onnxruntime", "mlp/torch", 15.8e-6)):
        run.candidates.append(CandidateRecord(key, key.split("/")[0], "onnxruntime", "neural-network", parent=parent, status="ok",
                                              predictions=y.tolist()))
        run.metrics += [Metric(key, "accuracy", 1.0, "ratio", "measured"), Metric(key, "size_bytes", 68100, "bytes", "measured")]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", median + np.linspace(-4e-6, 4e-6, 101)))
    db = str(tmp_path / "s.sqlite")
    with Store(db) as store:
        store.import_run(run)
    args = ["recommend", "latest", "--db", db, "--prefer", "latency_p50,size", "--tie-rtol", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Use mlp/onnxruntime:" in out
    assert "On latency_p50_s_b1, mlp/onnxruntime (16.6 µs) ties with mlp.ortnoopt/onnxruntime (15.8 µs): 95% intervals" in out
    assert "the tie goes to the default configuration (not a variant)." in out
    assert main(args + ["--no-noise-ties"]) == 0
    assert "Use mlp.ortnoopt/onnxruntime:" in capsys.readouterr().out


def test_regression_run_defaults_to_its_own_first_metric(tmp_path, capsys):
    # without --quality, a run whose suite lists rmse, mae, r2 (no accuracy) is read by rmse, lower is better
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    task = {"y_test": y.tolist(), "task_type": "regression",
            "metrics": [{"name": "rmse", "direction": "min"}, {"name": "r2", "direction": "max"}]}
    run = RunRecord("20260101-000000-regr", "2026-01-01T00:00:00+00:00", "complete", suite="housing", task=task)
    for key, fam, noise, params in [("ridge/sklearn", "linear", 0.5, 9), ("mlp/torch", "neural-network", 0.3, 900)]:
        p = y + noise * rng.normal(size=200)
        run.candidates.append(CandidateRecord(key, key.split("/")[0], key.split("/")[1], fam, status="ok", predictions=p.tolist()))
        run.metrics += [Metric(key, "rmse", float(np.sqrt(np.mean((p - y) ** 2))), "target", "measured"),
                        Metric(key, "r2", 0.5, "1", "measured"), Metric(key, "params", params, "count", "analytic")]
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.import_run(run)
    out = tmp_path / "rec.json"
    assert main(["recommend", run.run_id, "--db", str(path), "--prefer", "params", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["quality"] == "rmse" and doc["direction"] == "min" and doc["reference"] == "mlp/torch"
    assert doc["test"] == "Wilcoxon signed-rank" and {p["a"] for p in doc["parity"]} == {"ridge/sklearn"}
