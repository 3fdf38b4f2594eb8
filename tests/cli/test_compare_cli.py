"""``effbench compare RUN_A RUN_B``: table, summary, JSON, refusals (exit code 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import CandidateRecord, SampleSet, Store


def _add_run(store, seed, scale_m0=1.0, extra=None):
    rng = np.random.default_rng(seed)
    run_id = store.create_run(suite="test", config={"threads": 1}, environment={"cpu": {"model": "X"}, "cores_logical": 2},
                              task={}, effbench_version="0", run_id=f"run{seed}")
    keys = ["m0/torch", "m1/torch"] + ([extra] if extra else [])
    for k in keys:
        model, backend = k.split("/")
        store.add_candidate(run_id, CandidateRecord(k, model, backend, status="ok"))
        for b in (1, 8):
            scale = scale_m0 if k == "m0/torch" else 1.0
            values = 1e-3 * b * scale * rng.lognormal(0, 0.1, 500)
            store.add_samples(run_id, SampleSet(k, b, "latency_per_call", "s", values, {"stop_reason": "precision", "block_size": 1}))
    store.finish_run(run_id, "complete")
    return run_id


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        _add_run(store, 1)
        _add_run(store, 2, scale_m0=1.3, extra="m2/onnxruntime")
    return str(path)


def test_compare_prints_table_summary_and_test(db, capsys):
    assert main(["compare", "run1", "run2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "run run2 (B) against run run1 (A)" in out
    assert "SLOWER" in out and "Mann-Whitney" in out and "Holm-Bonferroni" in out
    assert "only in B (2): m2/onnxruntime b=1, m2/onnxruntime b=8" in out
    assert "summary: 4 cells compared: 2 significantly slower, 0 significantly faster (50.0% flagged" in out
    assert "ratio of medians B/A: min" in out and "IQR" in out


def test_compare_json_refuses_to_overwrite_without_force(db, tmp_path, capsys):
    out = tmp_path / "cmp.json"
    assert main(["compare", "run1", "run2", "--db", db, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["summary"]["n_slower"] == 2 and len(data["cells"]) == 4 and data["only_in_b"][0]["candidate"] == "m2/onnxruntime"
    capsys.readouterr()
    assert main(["compare", "run1", "run2", "--db", db, "--json", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["compare", "run1", "run2", "--db", db, "--json", str(out), "--force"]) == 0


def test_fail_on_slower_gates_a_ci_job(db, capsys):
    assert main(["compare", "run1", "run2", "--db", db, "--fail-on-slower"]) == 1
    err = capsys.readouterr().err
    assert err == "effbench: 2 cell(s) significantly slower in run2 than in run1 (--fail-on-slower)\n"
    assert main(["compare", "run1", "run1", "--db", db, "--fail-on-slower"]) == 0  # nothing slower: the gate passes
    capsys.readouterr()
    assert main(["compare", "run2", "run1", "--db", db, "--fail-on-slower", "--json", "-"]) == 0  # faster is not slower
    assert json.loads(capsys.readouterr().out)["summary"]["n_faster"] == 2


def test_compare_json_on_stdout(db, capsys):
    assert main(["compare", "run1", "run1", "--db", db, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["n_slower"] == 0 and data["summary"]["ratio_of_medians"]["median"] == 1.0


@pytest.mark.parametrize("argv, message", [
    (["compare", "run1", "nope"], "unknown run id 'nope'"),
    (["compare", "run1", "run2", "--alpha", "1.5"], "--alpha"),
])
def test_compare_bad_input_is_one_line_exit_2(db, capsys, argv, message):
    assert main(argv + ["--db", db]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("effbench: error:")
