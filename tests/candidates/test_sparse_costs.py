"""A pruned torch model records its non-zero parameters and a compressed size beside the dense
figures, and show / the report cards present them (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from effbench.candidates.torch_adapter import TorchCandidate  # noqa: E402
from effbench.records import CandidateRecord  # noqa: E402
from effbench.zoo import nets  # noqa: E402
from effbench.zoo.variants import prune_unstructured  # noqa: E402


@pytest.fixture(scope="module")
def dense_and_pruned():
    torch.manual_seed(0)
    dense = nets.MLP().eval()
    pruned, _ = prune_unstructured(dense, 0.9)
    return TorchCandidate("mlp", dense), TorchCandidate("mlp.prune90u", pruned)


def test_nonzero_params_count_the_nonzero_weights(dense_and_pruned):
    dense, pruned = dense_and_pruned
    counted = sum(int(torch.count_nonzero(p)) for p in pruned.module.parameters())
    assert pruned.nonzero_param_count() == counted
    assert pruned.param_count() == dense.param_count() == dense.nonzero_param_count()  # random init: no zero weight
    assert counted < 0.2 * pruned.param_count()   # 90% of the Linear weights are zero (biases are kept)


def test_the_compressed_size_of_a_pruned_model_is_smaller_than_the_dense_one(dense_and_pruned):
    dense, pruned = dense_and_pruned
    assert pruned.size_bytes() == pytest.approx(dense.size_bytes(), rel=0.01)   # torch.save stores the zeros
    assert pruned.compressed_size_bytes() < 0.5 * dense.compressed_size_bytes()
    assert dense.compressed_size_bytes() < dense.size_bytes()


def test_recorded_and_shown_beside_the_dense_figures(dense_and_pruned, tmp_path):
    from effbench.analysis.costs import cost_table
    from effbench.measure.worker import WorkerState
    from effbench.report.cards import cost_cards
    from effbench.report.run_summary import sparse_notes
    from effbench.runs.recorder import Recorder
    from effbench.store.db import Store

    X = np.zeros((4, 64), dtype=np.float32)
    with Store(tmp_path / "s.sqlite") as store:
        run_id = store.create_run(suite="t", config={}, environment={}, task={"name": "t"}, effbench_version="0")
        rec = Recorder(store, run_id, task=None)
        for c, parent in ((dense_and_pruned[0], None), (dense_and_pruned[1], "mlp/torch")):
            key = f"{c.model}/torch"
            store.add_candidate(run_id, CandidateRecord(key, c.model, "torch", parent=parent, status="ok"))
            worker = WorkerState(c, threads=torch.get_num_threads())
            worker.handle(("data", X))
            _, static = worker.handle(("static", 1))
            rec.static(key, static)
        run = store.load_run(run_id)
    pruned = dense_and_pruned[1]
    assert run.value("mlp.prune90u/torch", "nonzero_params") == pruned.nonzero_param_count()
    assert run.value("mlp.prune90u/torch", "compressed_size_bytes") == pruned.compressed_size_bytes()
    assert run.metric("mlp/torch", "compressed_size_bytes").detail["compression"].startswith("zlib level 9")
    rows = cost_table(run)
    [note] = sparse_notes(rows)
    assert note.startswith(f"sparse: mlp.prune90u/torch has {pruned.nonzero_param_count():,} non-zero of "
                           f"{pruned.param_count():,} parameters") and "dense mlp/torch:" in note
    cards = {c.candidate: {e.key: e.value for e in c.entries} for c in cost_cards(run)}
    assert cards["mlp.prune90u/torch"]["nonzero_params"] == pruned.nonzero_param_count()
    assert cards["mlp.prune90u/torch"]["compressed_size_bytes"] < cards["mlp/torch"]["compressed_size_bytes"]
    assert "nonzero_params" not in cards["mlp/torch"]   # dense: the count would repeat the parameters


def test_a_users_models_get_their_family_so_the_simpler_one_can_win():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    from effbench.candidates.sklearn_adapter import SklearnCandidate, sklearn_family
    from effbench.candidates.torch_adapter import TorchCandidate

    assert [sklearn_family(e) for e in (LogisticRegression(), make_pipeline(StandardScaler(), LogisticRegression()),
                                        LinearSVC(), SVC(), RandomForestClassifier())] == \
        ["linear", "linear", "linear", "kernel", "tree-ensemble"]
    assert sklearn_family(object()) == ""
    assert SklearnCandidate("lr", LogisticRegression()).family == "linear"
    assert SklearnCandidate("lr", LogisticRegression(), family="mine").family == "mine"  # what the user says wins
    assert TorchCandidate("net", torch.nn.Linear(2, 2)).family == "neural-network"
