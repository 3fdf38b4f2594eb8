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


def _run(store, run_id, cells):
    """A stored run with ``cells``: {(candidate, batch size): latency samples}."""
    store.create_run(suite="test", config={"threads": 1}, environment={"cpu": {"model": "X"}, "cores_logical": 2},
                     task={}, effbench_version="0", run_id=run_id)
    for k in sorted({k for k, _ in cells}):
        store.add_candidate(run_id, CandidateRecord(k, *k.split("/"), status="ok"))
    for (k, b), values in cells.items():
        store.add_samples(run_id, SampleSet(k, b, "latency_per_call", "s", values, {"stop_reason": "precision", "block_size": 1}))
    store.finish_run(run_id, "complete")


@pytest.fixture
def few_db(tmp_path):
    # the user's case: B has 3 samples of a cell 842x slower than A's 1823 (42.8 us vs 36 ms); a steady cell beside it
    rng = np.random.default_rng(7)
    path = tmp_path / "few.sqlite"
    with Store(path) as store:
        _run(store, "A", {("m/torch", 1): 42.8e-6 * rng.lognormal(0, 0.05, 1823), ("n/torch", 1): 1e-3 * rng.lognormal(0, 0.05, 500)})
        _run(store, "B", {("m/torch", 1): 36e-3 * np.array([0.99, 1.0, 1.01]), ("n/torch", 1): 1e-3 * rng.lognormal(0, 0.05, 500)})
        _run(store, "C", {("m/torch", 1): 44e-6 * np.array([0.99, 1.0, 1.01]), ("n/torch", 1): 1e-3 * rng.lognormal(0, 0.05, 500)})
        _run(store, "D", {("other/torch", 1): 1e-3 * rng.lognormal(0, 0.05, 500)})
    return str(path)


def test_too_few_samples_is_inconclusive_and_fails_the_gate_when_the_ratio_is_slower(few_db, capsys):
    assert main(["compare", "A", "B", "--db", few_db, "--json", "-"]) == 0
    cell, steady = json.loads(capsys.readouterr().out)["cells"]
    assert (cell["n_a"], cell["n_b"], round(cell["ratio_p50"])) == (1823, 3, 844)
    assert cell["p_value"] < 0.05 and cell["p_value_uncorrected_significant"] is True  # the name says what it is
    assert cell["holm_reject"] is True and cell["significant"] is False and cell["ratio_p50_low"] is None
    assert cell["change"] == "inconclusive"
    assert cell["inconclusive_reason"] == ("too few samples for the test and the interval of the ratio of medians: "
                                           "3 in B, 6 needed in each at 95% confidence")
    assert (steady["change"], steady["inconclusive_reason"]) == ("same", None)
    assert main(["compare", "A", "B", "--db", few_db]) == 0
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out and "inconclusive (1): m/torch b=1: too few samples" in out
    assert "0 significantly slower, 0 significantly faster (0.0% flagged" in out and "; 1 inconclusive" in out
    assert main(["compare", "A", "B", "--db", few_db, "--fail-on-slower"]) == 1
    err = capsys.readouterr().err
    assert err == ("effbench: 1 inconclusive cell(s) with a ratio of medians above 1.05 in B against A, which the gate "
                   "cannot pass (--fail-on-slower): m/torch b=1 B/A 844: too few samples for the test and the interval "
                   "of the ratio of medians: 3 in B, 6 needed in each at 95% confidence\n")


def test_inconclusive_cell_within_the_band_does_not_fail_the_gate(few_db, capsys):
    assert main(["compare", "A", "C", "--db", few_db, "--fail-on-slower", "--json", "-"]) == 0
    cell = json.loads(capsys.readouterr().out)["cells"][0]
    assert cell["change"] == "inconclusive" and round(cell["ratio_p50"], 2) == 1.03  # inside the 5% band: passes
    assert main(["compare", "A", "C", "--db", few_db, "--fail-on-slower", "--min-change", "0.01"]) == 1  # outside 1%
    assert main(["compare", "B", "A", "--db", few_db, "--fail-on-slower"]) == 0  # inconclusive but faster


def test_fail_on_slower_with_nothing_compared_is_exit_2(few_db, capsys):
    assert main(["compare", "A", "D", "--db", few_db]) == 0  # without the gate: a report that says so
    assert "no cell (candidate, batch size) has latency samples in both runs" in capsys.readouterr().out
    for extra in ([], ["--json", "-"]):
        assert main(["compare", "A", "D", "--db", few_db, "--fail-on-slower", *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err == ("effbench: error: run D (B) against run A (A): no cell (candidate, batch size) has latency "
                                     "samples in both runs (--fail-on-slower has nothing to gate on)\n")
