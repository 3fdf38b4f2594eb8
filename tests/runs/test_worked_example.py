"""The worked example of docs/your-models.md, run as it stands there: the script that builds and
saves the models and the data, then the command (as written) that measures them."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "your-models.md"


def example(name: str, lang: str) -> str:
    """The code block after ``<!-- example: NAME -->`` in the doc."""
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, f"no example {name!r} in {DOC}"
    return match.group(1)


@pytest.mark.slow
def test_the_worked_example_as_written(tmp_path, monkeypatch):
    import onnxruntime as ort
    import skops.io
    from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

    (tmp_path / "make_models.py").write_text(example("make_models.py", "python"))
    src = str(Path(__file__).resolve().parents[2] / "src")
    subprocess.run([sys.executable, "make_models.py"], cwd=tmp_path, check=True, timeout=600,
                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": src, "HOME": str(tmp_path)})
    (command,) = [line[2:] for line in example("command", "console").splitlines() if line.startswith("$ ")]
    words = shlex.split(command)
    assert words[:2] == ["effbench", "run"]
    monkeypatch.chdir(tmp_path)
    assert main(words[1:] + ["--quiet"]) == 0
    with Store(None, create=False) as store:  # the default store: EFFBENCH_DB, set for every test
        run = store.load_run("latest")
    assert {c.key: c.status for c in run.candidates} == {"cnn/onnxruntime": "ok", "cnn-2/torch": "ok", "logreg/sklearn": "ok"}
    data = np.load(tmp_path / "val.npz")
    X, y = data["X"], data["y"]
    session = ort.InferenceSession(str(tmp_path / "cnn.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"x": X})[0]
    logreg = skops.io.load(tmp_path / "logreg.skops", trusted=skops.io.get_untrusted_types(file=tmp_path / "logreg.skops"))
    expected = {"cnn/onnxruntime": (logits.argmax(1), logits), "cnn-2/torch": (logits.argmax(1), logits),
                "logreg/sklearn": (logreg.predict(X), logreg.predict_proba(X))}
    for key, (labels, scores) in expected.items():
        assert run.value(key, "accuracy") == pytest.approx(accuracy_score(y, labels))
        assert run.value(key, "f1_macro") == pytest.approx(f1_score(y, labels, average="macro"))
        assert run.value(key, "top2") == pytest.approx(top_k_accuracy_score(y, scores, k=2, labels=range(10)))
        assert sorted(m.batch_size for m in run.metrics_for(key, "peak_rss_bytes")) == [1, 32, 450]
    assert run.value("cnn/onnxruntime", "params") == run.value("cnn-2/torch", "params")
