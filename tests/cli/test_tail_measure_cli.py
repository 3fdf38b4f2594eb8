"""``effbench tail measure``: bad input (exit code 2, one line) and one small end-to-end run."""

import json

import pytest

from effbench.cli import main


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--candidate", "resnet/torch"], "unknown candidate"),
        (["--candidate", "logreg/torch"], "no backend"),
        (["--deadline-common", "0"], "--deadline-common"),
        (["--deadline-common", "-0.001"], "--deadline-common"),
        (["--threshold", "-1"], "--threshold"),
        (["--batch-size", "0"], "batch-size"),
        (["--quantile", "2"], "quantile"),
        (["--min-rounds", "10", "--max-rounds", "5"], "max_rounds"),
        (["--percentiles", "abc"], "percentiles"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys, tmp_path):
    code = main(["tail", "measure", "--no-store", "--db", str(tmp_path / "x.sqlite"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("effbench: error:") and err.count("\n") == 1
    assert needle in err
    assert not (tmp_path / "x.sqlite").exists()


def test_refuses_to_overwrite_json(tmp_path, capsys):
    out = tmp_path / "t.json"
    out.write_text("{}")
    assert main(["tail", "measure", "--candidate", "logreg/sklearn", "--json", str(out), "--no-store"]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "{}"


def test_measures_one_candidate_and_stores_it(tmp_path, capsys):
    db = tmp_path / "t.sqlite"
    out = tmp_path / "t.json"
    code = main(["tail", "measure", "--candidate", "logreg/sklearn", "--quick", "--quiet", "--batch-size", "64",
                 "--min-rounds", "2", "--max-rounds", "4", "--every", "1", "--window", "1",
                 "--holdout-rounds", "2", "--grid", "4", "--db", str(db), "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "logreg/sklearn" in text and "common deadline" in text and "stored as run" in text
    data = json.loads(out.read_text())
    rep = data["candidates"]["logreg/sklearn"]
    assert 0.9 < rep["accuracy"] <= 1.0
    assert rep["rounds_used"] <= 4 and rep["holdout_rounds"] == 2 and rep["batch_size"] == 64
    assert data["common_deadline_origin"] == "median of own p99"
    assert rep["common_deadline"]["threshold_s"] == pytest.approx(rep["own_p99"]["threshold_s"])
    assert rep["convergence"]["rule"] == "tail" and "stopping rule tail" in text  # the default rule
    p99 = next(r for r in rep["prediction"]["thresholds"] if r["label"] == "p99")
    w = p99["predicted_worst"]
    assert p99["covered"] == (w["low"] <= p99["observed_worst"] <= w["high"])
    assert f"{w['low']:.3f}-{w['high']:.3f} {p99['observed_worst']:.3f} {'y' if p99['covered'] else 'n'}" in text

    from effbench.store.db import Store

    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.status == "complete" and run.suite == "digits-tail-quick"
    c = run.candidate("logreg/sklearn")
    assert c.status == "ok" and len(c.predictions) == len(run.task["y_test"])
    tail = c.info["tail"]
    assert {"thresholds", "unconstrained", "rounds_used", "convergence", "curve"} <= set(tail)
    assert len(tail["curve"]) == 4 and run.metric("logreg/sklearn", "accuracy").provenance == "measured"
    kinds = {s.kind for s in run.samples}
    assert kinds == {"tail_e2e_per_batch", "tail_inference_per_batch"}


@pytest.mark.parametrize("make", ["folder", "foreign"])
def test_bad_database_fails_before_training(make, tmp_path, capsys, monkeypatch):
    import effbench.zoo.digits_suite as suite

    def no_training(*a, **kw):
        raise AssertionError("trained before the database was checked")

    monkeypatch.setattr(suite, "build_candidates", no_training)
    db = tmp_path
    if make == "foreign":
        db = tmp_path / "notes.txt"
        db.write_text("hello")
    code = main(["tail", "measure", "--candidate", "logreg/sklearn", "--quiet", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("effbench: error:") and err.count("\n") == 1
    assert ("directory" if make == "folder" else "not an effbench database") in err
