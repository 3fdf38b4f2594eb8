"""The inputs a run gives a model whose file tells no input signature, checked before anything runs:
a scikit-learn estimator's fitted features (``n_features_in_``, ``feature_names_in_``) and a ``python:``
torch factory's ``forward`` parameters. Each refusal: exit code 2, one ``effbench: error:`` line, nothing stored."""

from pathlib import Path

import numpy as np
import pytest

from effbench.cli import main

SOURCES = str(Path(__file__).parents[1] / "sources")  # factories_for_tests
TOKENS = "python:factories_for_tests:build_token_net"  # forward(input_ids, attention_mask), no defaults


@pytest.fixture(scope="module")
def sk(tmp_path_factory):
    """A logistic regression fitted on 64 features (an array), one fitted on the named columns b, a, c."""
    import pandas as pd
    import skops.io
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("sk")
    rng = np.random.default_rng(0)
    X = rng.random((40, 64)).astype(np.float32)
    skops.io.dump(LogisticRegression().fit(X, np.arange(40) % 2), folder / "clf.skops")
    table = pd.DataFrame(X[:, :3], columns=["b", "a", "c"])
    skops.io.dump(LogisticRegression().fit(table, np.arange(40) % 2), folder / "named.skops")
    return folder


def _npz(tmp_path, **arrays) -> str:
    np.savez(tmp_path / "d.npz", y=np.arange(4) % 2, **arrays)
    return str(tmp_path / "d.npz")


def _ids(n=4):
    return np.random.default_rng(1).integers(0, 20, (n, 6))


def _suite(tmp_path, data: str, model: str, extra: str = "") -> str:
    (tmp_path / "s.toml").write_text(f'{data}\n[[candidates]]\nname = "m"\nmodel = "{model}"\n{extra}')
    return str(tmp_path / "s.toml")


CASES = {
    "sklearn: an image shape": (
        lambda t, sk: [sk / "clf.skops", "--input", "3x32x32"],
        "--input: model 'clf' (LogisticRegression) takes a table of 64 features per example, shape (?, 64); "
        "the spec gives float32(?, 3, 32, 32), 4 dimensions"),
    "sklearn: too few features": (
        lambda t, sk: [sk / "clf.skops", "--input", "10"],
        "--input: model 'clf' (LogisticRegression) was fitted on 64 features; the spec gives 10 per example (float32(?, 10))"),
    "sklearn: data of 8 features": (
        lambda t, sk: [sk / "clf.skops", "--data", _npz(t, X=np.zeros((4, 8), np.float32))],
        "--data: model 'clf' (LogisticRegression) was fitted on 64 features; the data gives 8 per example (X float32(4, 8))"),
    "sklearn: rank 3 data": (
        lambda t, sk: [sk / "clf.skops", "--data", _npz(t, X=np.zeros((4, 8, 8), np.float32))],
        "--data: model 'clf' (LogisticRegression) takes a table of 64 features per example, shape (?, 64); "
        "the data gives X float32(4, 8, 8), 3 dimensions"),
    "sklearn: several inputs": (
        lambda t, sk: [sk / "clf.skops", "--data", _npz(t, a=np.zeros((4, 64), np.float32), b=np.zeros((4, 64), np.float32))],
        "--data: model 'clf' (LogisticRegression) takes one table of 64 features per example; the data gives 2 inputs "
        "(a float32(4, 64), b float32(4, 64))"),
    "sklearn: columns in another order": (
        lambda t, sk: [sk / "named.skops", "--data", _table(t), "--target", "label"],
        "--data: model 'named' (LogisticRegression) was fitted on the columns b, a, c; the data gives the feature columns "
        "a, b, c (the same names in another order)"),
    "sklearn: suite data.input": (
        lambda t, sk: [_suite(t, 'batch_sizes = [1]\n[data]\ntask = "none"\ninput = "8"', sk / "clf.skops")],
        "data.input: model 'm' (LogisticRegression) was fitted on 64 features; the spec gives 8 per example"),
    "torch: a missing input": (
        lambda t, sk: [TOKENS, "--data", _npz(t, input_ids=_ids())],
        "--data: model 'build_token_net': forward(input_ids, attention_mask) also needs 'attention_mask'; the data gives "
        "one input (input_ids int64(4, 6)): give one input per parameter, named after it"),
    "torch: a missing named input": (
        lambda t, sk: [TOKENS, "--data", _npz(t, input_ids=_ids(), token_type_ids=_ids())],
        "--data: model 'build_token_net': forward(input_ids, attention_mask) needs 'attention_mask', which has no default; "
        "the data gives input_ids, token_type_ids"),
    "torch: an unknown input": (
        lambda t, sk: [TOKENS, "--data", _npz(t, input_ids=_ids(), attention_mask=_ids(), extra=_ids())],
        "--data: model 'build_token_net': forward(input_ids, attention_mask) takes no input 'extra'; the data gives "
        "input_ids, attention_mask, extra (each input is passed by its name)"),
    "torch: an unknown input in --input": (
        lambda t, sk: [TOKENS, "--input", "input_ids:int64:1x6,attention_mask:int64:1x6,mask:int64:1x6"],
        "--input: model 'build_token_net': forward(input_ids, attention_mask) takes no input 'mask'"),
    "torch: converted to ONNX, refused before the export": (
        lambda t, sk: [_suite(t, f'[data]\npath = "{_npz(t, input_ids=_ids())}"', TOKENS,
                              'output = "logits"\nbackends = ["torch", "onnxruntime"]\n')],
        "data.path: model 'm': forward(input_ids, attention_mask) also needs 'attention_mask'"),
}


def _table(tmp_path) -> str:
    (tmp_path / "t.csv").write_text("a,b,c,label\n" + "".join(f"{i},{i + 1},{i + 2},{i % 2}\n" for i in range(4)))
    return str(tmp_path / "t.csv")


@pytest.mark.parametrize("case", list(CASES))
def test_inputs_that_do_not_fit_the_model_are_refused_before_anything_runs(case, sk, tmp_path, capsys, monkeypatch):
    import effbench.runs.latency

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured, though the inputs do not fit the model")

    monkeypatch.setattr(effbench.runs.latency, "measure_run", no_measuring)
    monkeypatch.syspath_prepend(SOURCES)
    args, expected = CASES[case]
    db = tmp_path / "r.sqlite"
    assert main(["run", *map(str, args(tmp_path, sk)), "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("effbench: error: ") and "Traceback" not in err[0], err
    assert expected in err[0]
    assert not db.exists()


def test_tail_measure_refuses_a_missing_forward_input_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(SOURCES)
    suite = _suite(tmp_path, f'[data]\npath = "{_npz(tmp_path, input_ids=_ids())}"', TOKENS, 'output = "logits"\n')
    db = tmp_path / "t.sqlite"
    assert main(["tail", "measure", suite, "--candidate", "m", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0] == ("effbench: error: data.path: model 'm': forward(input_ids, attention_mask) also needs 'attention_mask'; "
                      "the data gives one input (input_ids int64(4, 6)): give one input per parameter, named after it")
    assert not db.exists()


def test_inputs_that_fit_are_planned_and_a_fitted_estimator_needs_no_shape(sk, tmp_path, monkeypatch):
    from effbench.runs.files import plan_model_files

    monkeypatch.syspath_prepend(SOURCES)
    plan = plan_model_files([str(sk / "clf.skops")], batch_sizes=(1, 4))
    assert plan.task.X_test.shape == (4, 64) and plan.task.X_test.dtype == np.float32  # its n_features_in_
    plan = plan_model_files([str(sk / "clf.skops")], input_spec="64", batch_sizes=(1,))
    assert plan.task.X_test.shape == (1, 64)
    data = _npz(tmp_path, input_ids=_ids(), attention_mask=np.ones((4, 6), np.int64))
    plan = plan_model_files([TOKENS], data=data)
    assert [c.key for c in plan.candidates] == ["build_token_net/torch"]
