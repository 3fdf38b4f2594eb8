"""A whole suite file, read and turned into what a run measures (nothing is measured here): the data
matched to each model's inputs, the candidates on each backend, their predictions scored by the
suite's metrics. And the sources' heavy libraries stay unimported until used."""

import subprocess
import sys
import textwrap

import factories_for_tests as F
import numpy as np
import pytest
import torch

from effbench.errors import DataError
from effbench.sources.build import build_candidates
from effbench.sources.data import load_data
from effbench.sources.models import input_signature
from effbench.sources.suite import load_suite
from effbench.tasks.metrics import get_metric

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_suite_from_file_to_scored_predictions(tmp_path):
    import skops.io as sio

    rng = np.random.default_rng(0)
    X = rng.random((30, 4))  # float64 on disk: reaches the models as float32
    net = F.build_net().eval()
    with torch.inference_mode():
        y = net(torch.from_numpy(X.astype(np.float32))).argmax(1).numpy()
    y[:3] = (y[:3] + 1) % 3  # three wrong on purpose
    np.savez(tmp_path / "val.npz", X=X, y=y)
    program = torch.export.export(net, (torch.from_numpy(X[:2].astype(np.float32)),),
                                  dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
    (tmp_path / "models").mkdir()
    torch.export.save(program, tmp_path / "models" / "net.pt2")
    sio.dump(F.build_forest(), tmp_path / "models" / "forest.skops")
    (tmp_path / "study.toml").write_text(textwrap.dedent("""
        name = "study"
        batch_sizes = [1, "all"]
        [data]
        path = "val.npz"
        metrics = ["accuracy", "top2", "f1_macro"]
        [[candidates]]
        name = "net"
        model = "models/net.pt2"
        backends = ["torch", "onnxruntime"]
        [[candidates]]
        name = "forest"
        model = "models/forest.skops"
        trust = true
    """))
    spec = load_suite(tmp_path / "study.toml")
    data = load_data(spec.data)
    metrics = [get_metric(m, spec.data.task) for m in spec.data.metrics]
    scores = {}
    for cand in spec.candidates:
        _, prov = build_candidates(cand, data.X[:2].astype(np.float32))  # the provenance tells the signature
        inputs = data.model_inputs(input_signature(prov))
        assert inputs.dtype == (np.float32 if cand.name == "net" else np.float64)
        cands, _ = build_candidates(cand, inputs[:2])
        for c in cands:
            if c.backend in ("torch", "onnxruntime"):
                out = c.infer(c.prepare(inputs))
                out = out.numpy() if hasattr(out, "numpy") else out
            else:
                out = c.predict(inputs)
            scores[c.key] = {m.name: m.score(data.y, out) for m in metrics if c.backend != "sklearn" or m.needs != "scores"}
    assert scores["net/torch"]["accuracy"] == pytest.approx(27 / 30)
    assert scores["net/onnxruntime"]["accuracy"] == pytest.approx(27 / 30)
    assert scores["net/torch"]["top2"] >= 27 / 30
    assert set(scores["forest/sklearn"]) == {"accuracy", "f1_macro"}
    with pytest.raises(DataError, match=r"^data: input 'input' \(array 'X'\): dimension 1 is 4 in the data but 5"):
        from effbench.sources.signature import InputSpec

        data.model_inputs((InputSpec("input", "float32", (None, 5)),))


def test_reading_suites_and_data_imports_no_heavy_library():
    code = ("import sys; from effbench.sources import suite, data, models, build, signature; "
            "import effbench.tasks.metrics; "
            "print(sorted(m for m in ('torch', 'onnxruntime', 'transformers', 'pandas', 'PIL', 'skops', 'yaml', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_factorys_closure_is_made_again_from_its_recipe_where_it_is_unpickled():
    import pickle

    from effbench.sources.suite import CandidateSpec

    spec = CandidateSpec(name="f", model="python:factories_for_tests:build_function", kind="python",
                         args={"threshold": 0.25})
    (cand,), _ = build_candidates(spec, np.zeros((2, 1), np.float32))
    assert cand.factory == ("factories_for_tests:build_function", {"threshold": 0.25})
    copy = pickle.loads(pickle.dumps(cand))  # the lambda itself cannot be pickled: the recipe is
    X = np.array([[0.1], [0.3], [0.9]])
    assert copy.fn is not cand.fn and list(copy.infer(X)) == list(cand.infer(X)) == [0, 1, 1]
    cand.factory = None
    with pytest.raises(Exception, match="lambda"):
        pickle.dumps(cand)
