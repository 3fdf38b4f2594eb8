"""Suite-file and model-file runs: timeout_s reaches the executor, --resume finishes them, training = "NAME"."""

from __future__ import annotations

import numpy as np
import pytest

from effbench import records as R
from effbench.cli import main
from effbench.errors import ConfigError
from effbench.measure.energy_cells import EnergyConfig
from effbench.store.db import Store

FAST = ["--no-energy", "--repeats", "1", "--max-time", "0.05", "--quiet"]


def _relu_onnx(path):
    """A one-node ONNX graph (float32 N x 4 -> Relu), built without torch."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


def _suite(tmp_path, extra_top="", extra_candidate=""):
    model = _relu_onnx(tmp_path / "relu.onnx")
    (tmp_path / "s.toml").write_text(f'batch_sizes = [1, 2]\n{extra_top}\n[data]\ntask = "none"\ninput = "4"\n'
                                     f'[[candidates]]\nname = "relu"\nmodel = "{model}"\n{extra_candidate}\n')
    return str(tmp_path / "s.toml")


def _captured_config(monkeypatch):
    """Replace the executor by one that records the ExecutionConfig it is given and measures nothing (so every
    candidate ends failed, "not measured", and ``effbench run`` exits 1)."""
    import effbench.executor

    seen = {}

    def execute(candidates, X, config, recorder, **kw):
        seen["config"] = config

    monkeypatch.setattr(effbench.executor, "execute", execute)
    return seen


def test_a_suite_files_timeout_reaches_the_executor_and_the_option_overrides_it(tmp_path, monkeypatch):
    seen = _captured_config(monkeypatch)
    suite, db = _suite(tmp_path, "timeout_s = 77"), str(tmp_path / "r.sqlite")
    assert main(["run", suite, "--db", db] + FAST) == 1  # nothing measured (the fake executor)
    assert seen["config"].command_timeout_s == 77.0 and seen["config"].startup_timeout_s == 77.0
    assert main(["run", suite, "--db", db, "--timeout", "5"] + FAST) == 1
    assert seen["config"].command_timeout_s == 5.0


def _cut_short(db, batch_size):
    """Make the latest run look interrupted before it measured ``batch_size``: its samples there are removed."""
    with Store(db) as store:
        run = store.load_run("latest")
        store.conn.execute("DELETE FROM samples WHERE run_id=? AND batch_size=?", (run.run_id, batch_size))
        store.conn.execute("DELETE FROM metrics WHERE run_id=? AND batch_size=?", (run.run_id, batch_size))
        store.conn.commit()
        store.finish_run(run.run_id, "interrupted", ["interrupted by the user; every measurement taken before is kept"])
        return run


@pytest.mark.parametrize("how", ["suite file", "model files"])
def test_resume_finishes_a_suite_file_or_model_files_run(tmp_path, how, capsys):
    db = str(tmp_path / "r.sqlite")
    args = [_suite(tmp_path)] if how == "suite file" else [_relu_onnx(tmp_path / "relu.onnx"), "--input", "4", "--batch-sizes", "1,2"]
    assert main(["run", *args, "--db", db] + FAST) == 0
    before = _cut_short(db, 2)
    key = before.candidates[0].key
    kept = before.sample_set(key, 1).values
    capsys.readouterr()
    assert main(["run", "--resume", before.run_id, "--db", db, "--quiet"]) == 0
    with Store(db, create=False) as store:
        after = store.load_run(before.run_id)
    assert after.status == "complete" and after.candidate(key).status == "ok"
    assert np.array_equal(after.sample_set(key, 1).values, kept)        # batch 1 was not measured again
    assert after.sample_set(key, 2) is not None and len(after.sample_set(key, 2).values) > 0
    assert after.config["timing"]["max_time_s"] == 0.05                 # its own settings
    assert any(n.startswith("resumed by pid") for n in after.notes)


def test_resume_refuses_sources_and_a_changed_suite_file(tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    suite = _suite(tmp_path)
    assert main(["run", suite, "--db", db] + FAST) == 0
    run = _cut_short(db, 2)
    capsys.readouterr()
    assert main(["run", suite, "--resume", run.run_id, "--db", db]) == 2
    assert "--resume RUN_ID: give no model or suite file" in capsys.readouterr().err
    with open(suite, "a") as fh:
        fh.write('[[candidates]]\nname = "again"\nmodel = "relu.onnx"\n')
    assert main(["run", "--resume", run.run_id, "--db", db]) == 2
    assert capsys.readouterr().err.strip() == (f"effbench: error: --resume: the suite file {suite!r} changed since run "
                                               f"{run.run_id} started; restore it, or start a new run")


def test_a_suite_files_candidate_takes_the_tracking_it_names(tmp_path, monkeypatch, capsys):
    from effbench.runs.track import track

    _captured_config(monkeypatch)
    db = str(tmp_path / "r.sqlite")
    clock = iter([10.0, 13.5]).__next__
    with track("train-relu", db=db, energy=EnergyConfig(enabled=False), clock=clock) as t:
        pass
    assert main(["run", _suite(tmp_path, extra_candidate='training = "train-relu"'), "--db", db] + FAST) == 1  # fake executor
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    m = run.metric("relu/onnxruntime", R.TRAIN_TIME_S)
    assert (m.value, m.provenance, m.detail["tracking_run"]) == (3.5, "measured", t.run_id)
    capsys.readouterr()
    assert main(["run", _suite(tmp_path, extra_candidate='training = "train-other"'), "--db", db] + FAST) == 2
    assert "training: no complete tracking named 'train-other'" in capsys.readouterr().err
    assert main(["run", _suite(tmp_path, extra_candidate='training = "bad name"'), "--db", db] + FAST) == 2
    assert "candidates[0].training: 'bad name' is not allowed" in capsys.readouterr().err


def _labelled_suite(tmp_path):
    """A suite file with labelled data: the ReLU graph's first output column > 0 is the true class 1."""
    X = np.random.default_rng(3).standard_normal((40, 4)).astype(np.float32)
    np.savez(tmp_path / "val.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    model = _relu_onnx(tmp_path / "relu.onnx")
    (tmp_path / "t.toml").write_text(f'name = "tl"\n[data]\npath = "val.npz"\n[[candidates]]\nname = "relu"\nmodel = "{model}"\n'
                                     f'[[candidates]]\nname = "other"\nmodel = "{model}"\n')
    return str(tmp_path / "t.toml"), X


def test_tail_measure_on_a_suite_files_candidate(tmp_path, capsys):
    suite, X = _labelled_suite(tmp_path)
    db = tmp_path / "r.sqlite"
    code = main(["tail", "measure", suite, "--candidate", "relu", "--quiet", "--batch-size", "8", "--min-rounds", "2",
                 "--max-rounds", "4", "--every", "1", "--window", "1", "--holdout-rounds", "2", "--grid", "3", "--db", str(db)])
    assert code == 0, capsys.readouterr()
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.suite == "tl-tail" and run.status == "complete" and [c.key for c in run.candidates] == ["relu/onnxruntime"]
    # argmax of ReLU(x) over 4 columns against the label x0 > 0: the stored accuracy is the model's real one
    relu = np.maximum(X, 0)
    assert run.value("relu/onnxruntime", R.ACCURACY) == pytest.approx(float(np.mean(relu.argmax(1) == (X[:, 0] > 0))))
    assert "tail" in run.candidate("relu/onnxruntime").info and run.config["suite_file"]["name"] == "tl"


@pytest.mark.parametrize("args, message", [
    (["--candidate", "nope"], "--candidate: 'nope' is not a candidate of this suite file (its candidates: relu, other)"),
    (["--candidate", "nope/onnxruntime"], "--candidate: 'nope/onnxruntime' is not a candidate of this suite file "
                                          "(its candidates: relu, other)"),
    (["--quick"], "--quick: applies to the default suite, not to a suite file"),
])
def test_tail_measure_on_a_suite_file_refuses_bad_input(tmp_path, capsys, monkeypatch, args, message):
    import effbench.runs.files

    def no_build(*a, **k):
        raise AssertionError("the suite's candidates were built before the names were checked")

    monkeypatch.setattr(effbench.runs.files, "plan_suite_file", no_build)
    suite, _ = _labelled_suite(tmp_path)
    assert main(["tail", "measure", suite, *args, "--db", str(tmp_path / "r.sqlite")]) == 2
    assert capsys.readouterr().err.strip() == f"effbench: error: {message}"
    assert not (tmp_path / "r.sqlite").exists()


def test_tail_measure_leaves_out_score_based_metrics_before_measuring(tmp_path, capsys):
    # a tail round keeps each on-time answer's label, not the scores: top2 is left out (and said so),
    # accuracy is recorded, the run completes
    suite, X = _labelled_suite(tmp_path)
    text = open(suite).read().replace('path = "val.npz"\n', 'path = "val.npz"\nmetrics = ["top2", "accuracy"]\n')
    open(suite, "w").write(text)
    db = tmp_path / "r.sqlite"
    code = main(["tail", "measure", suite, "--candidate", "relu", "--batch-size", "8", "--min-rounds", "2",
                 "--max-rounds", "2", "--every", "1", "--window", "1", "--holdout-rounds", "0", "--grid", "0", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "tail measure: top2 read the model's scores; tail quality scores each on-time answer by its label, " \
           "so the tail run records accuracy only" in err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.status == "complete" and run.config["ignored_metrics"] == ["top2"]
    assert [m["name"] for m in run.task["metrics"]] == ["accuracy"]
    assert {m.name for m in run.metrics if m.candidate == "relu/onnxruntime"} >= {"accuracy"}
    assert not [m for m in run.metrics if m.name == "top2"]


def test_tail_measure_needs_labels(tmp_path, capsys):
    assert main(["tail", "measure", _suite(tmp_path), "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "tail measure: suite 's' has no labels" in capsys.readouterr().err


def test_a_run_whose_every_candidate_failed_exits_1_and_keeps_the_failures(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "sources"))  # factories_for_tests, for the workers too
    head = 'batch_sizes = [1]\n[data]\ntask = "none"\ninput = "4"\n'
    bad = '[[candidates]]\nname = "bad"\nmodel = "python:factories_for_tests:build_raising"\n'
    good = '[[candidates]]\nname = "good"\nmodel = "python:factories_for_tests:build_function"\nargs = { threshold = 0.25 }\n'
    (tmp_path / "bad.toml").write_text(head + bad)
    (tmp_path / "mixed.toml").write_text(head + bad + good)
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "bad.toml"), "--db", str(db)] + FAST) == 1
    assert "effbench: every candidate failed (1); nothing was measured: exit code 1" in capsys.readouterr().err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.status == "complete" and [(c.key, c.status) for c in run.candidates] == [("bad/callable", "failed")]
    assert "this model always fails" in run.candidates[0].error
    # a faulty candidate fails alone; the good one returns a closure (a lambda), made again from its factory
    # (with its args) in the worker process, since it cannot be pickled
    assert main(["run", str(tmp_path / "mixed.toml"), "--db", str(db)] + FAST) == 0
    assert "every candidate failed" not in capsys.readouterr().err
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert {c.key: c.status for c in run.candidates} == {"bad/callable": "failed", "good/callable": "ok"}


@pytest.mark.slow
def test_variants_of_a_suite_files_pytorch_candidate(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "sources"))  # factories_for_tests, for the workers too
    (tmp_path / "v.toml").write_text('batch_sizes = [1]\n[data]\ntask = "none"\ninput = "4"\n[[candidates]]\nname = "net"\n'
                                     'model = "python:factories_for_tests:build_net"\n')
    db = tmp_path / "r.sqlite"
    assert main(["run", str(tmp_path / "v.toml"), "--variants", "all", "--db", str(db)] + FAST) == 0
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert {c.key: c.status for c in run.candidates} == {
        "net/torch": "ok", "net.int8dyn/torch": "ok", "net.int8static/torch": "ok", "net.prune50u/torch": "ok",
        "net.prune90u/torch": "ok", "net.prune50s/torch": "ok", "net.ortnoopt/onnxruntime": "ok"}
    pruned = run.candidate("net.prune90u/torch")
    assert pruned.parent == "net/torch" and pruned.info["nonzero_params"] < run.value("net/torch", R.PARAMS)
    assert pruned.info["variant"]["finetune_epochs"] == 0 and "run's own inputs" in pruned.info["variant_data"]
    assert run.value("net.prune50s/torch", R.PARAMS) < run.value("net/torch", R.PARAMS)   # channels really removed
    assert run.metric("net.int8dyn/torch", R.TRAIN_TIME_S).detail["variant_kind"] == "quant-dynamic"
    assert run.config["variants"] == ["quant", "prune", "onnx-opt"]
    capsys.readouterr()
    assert main(["run", str(tmp_path / "v.toml"), "--variants", "distil", "--db", str(db)] + FAST) == 2
    assert "--variants: 'distil' applies to the default suite only" in capsys.readouterr().err


def test_a_variant_that_cannot_be_built_fails_alone_with_its_reason(tmp_path, monkeypatch):
    """An nn.Linear at the root has no child layer to quantise: those variants are recorded failed, with the reason."""
    from effbench.runs.files import add_variants, plan_suite_file

    (tmp_path / "v.toml").write_text('batch_sizes = [1]\n[data]\ntask = "none"\ninput = "4"\n[[candidates]]\nname = "lin"\n'
                                     'model = "python:torch.nn:Linear"\nargs = { in_features = 4, out_features = 3 }\n')
    plan = add_variants(plan_suite_file(tmp_path / "v.toml"), ["quant"])
    assert [c.key for c in plan.candidates] == ["lin/torch"]
    assert {r.key: r.error for r in plan.failed_records} == {
        "lin.int8dyn/torch": "variant build failed: dynamic int8 quantization: the model has no nn.Linear layer to quantize",
        "lin.int8static/torch": "variant build failed: static int8 quantization (FX graph mode): no layer of this model was quantized"}
    with pytest.raises(ConfigError, match=r"^--variants: no PyTorch candidate to build variants of"):
        add_variants(plan_suite_file(_suite(tmp_path)), ["prune"])
