"""DEA against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.dea import dea, dea_from_objectives
from effbench.analysis.objectives import oriented_matrix, parse_objectives
from effbench.analysis.pareto import nondominated_mask
from effbench.errors import ConfigError, DataError

# one input, one output: A(2, 1), B(4, 3), C(5, 3)
X1 = np.array([[2.0], [4.0], [5.0]])
Y1 = np.array([[1.0], [3.0], [3.0]])


@pytest.mark.parametrize("orientation", ["input", "output"])
def test_ccr_hand_computed(orientation):
    r = dea(X1, Y1, model="ccr", orientation=orientation)
    assert r.efficiency == pytest.approx([2 / 3, 1.0, 0.8])
    assert [p.tolist() for p in r.peers] == [[1], [1], [1]]  # B has the best ratio 3/4
    assert r.efficient.tolist() == [False, True, False]


def test_bcc_input_hand_computed():
    r = dea(X1, Y1, model="bcc", orientation="input")
    assert r.efficiency == pytest.approx([1.0, 1.0, 0.8])
    assert [p.tolist() for p in r.peers] == [[0], [1], [1]]
    assert np.allclose(r.input_slacks, 0) and np.allclose(r.output_slacks, 0)


def test_bcc_output_radially_efficient_but_with_slack():
    # C can produce no more than 3 with input <= 5; it wastes one unit of input compared with B
    r = dea(X1, Y1, model="bcc", orientation="output")
    assert r.efficiency == pytest.approx([1.0, 1.0, 1.0])
    assert r.input_slacks[:, 0] == pytest.approx([0.0, 0.0, 1.0])
    assert r.efficient.tolist() == [True, True, False]


def test_max_slack_second_stage():
    # two inputs, one output: D(2, 2 | 1) is efficient, C(2, 3 | 1) has score 1 and slack 1 on x2
    X = np.array([[2.0, 2.0], [2.0, 3.0], [4.0, 4.0]])
    Y = np.array([[1.0], [1.0], [1.0]])
    r = dea(X, Y, model="ccr")
    assert r.efficiency == pytest.approx([1.0, 1.0, 0.5])
    assert r.input_slacks[1] == pytest.approx([0.0, 1.0])
    assert r.efficient.tolist() == [True, False, False]
    first = dea(X, Y, model="ccr", slacks="first_stage")
    assert first.efficiency == pytest.approx(r.efficiency)
    none = dea(X, Y, model="ccr", slacks="none")
    assert np.isnan(none.input_slacks).all()


def test_pareto_optimal_model_in_a_dent_has_dea_below_one():
    # two outputs (both :max), no input: A(1, 4), B(4, 1), C(2, 2) -- C is Pareto-optimal,
    # but 0.4 A + 0.4 B = (2, 2) with a total weight of 0.8
    values = np.array([[1.0, 4.0], [4.0, 1.0], [2.0, 2.0]])
    objectives = parse_objectives(["y1:max", "y2:max"])
    assert nondominated_mask(oriented_matrix(values, objectives)).all()
    r = dea_from_objectives(values, objectives, model="ccr")
    assert r.efficiency == pytest.approx([1.0, 1.0, 0.8])
    assert sorted(r.peers[2].tolist()) == [0, 1]
    assert any("constant input" in n for n in r.notes)


def test_scale_invariance():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 10, size=(40, 2))
    Y = rng.uniform(1, 10, size=(40, 2))
    for model in ("ccr", "bcc"):
        for orientation in ("input", "output"):
            a = dea(X, Y, model=model, orientation=orientation, slacks="none")
            b = dea(X * [1e3, 0.01], Y * [7.0, 1e-3], model=model, orientation=orientation, slacks="none")
            assert a.efficiency == pytest.approx(b.efficiency, abs=1e-7)
            assert np.all((a.efficiency > 0) & (a.efficiency <= 1))


def test_ccr_orientations_agree_and_bcc_dominates_ccr():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 10, size=(30, 2))
    Y = rng.uniform(1, 10, size=(30, 1))
    ccr_in = dea(X, Y, model="ccr", orientation="input", slacks="none").efficiency
    ccr_out = dea(X, Y, model="ccr", orientation="output", slacks="none").efficiency
    bcc_in = dea(X, Y, model="bcc", orientation="input", slacks="none").efficiency
    assert ccr_in == pytest.approx(ccr_out, abs=1e-7)
    assert np.all(bcc_in >= ccr_in - 1e-9)


def test_dominated_models_are_inefficient_and_peers_are_on_the_frontier():
    rng = np.random.default_rng(2)
    X = rng.uniform(1, 10, size=(50, 2))
    Y = rng.uniform(1, 10, size=(50, 2))
    front = nondominated_mask(np.hstack([-X, Y]))
    r = dea(X, Y, model="bcc")
    assert not r.efficient[~front].any()
    for peers in r.peers:
        assert front[peers].all()


def test_errors():
    with pytest.raises(ConfigError, match="model"):
        dea(X1, Y1, model="sbm")
    with pytest.raises(ConfigError, match="orientation"):
        dea(X1, Y1, orientation="both")
    with pytest.raises(DataError, match="strictly positive"):
        dea(np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]]))
    with pytest.raises(DataError, match="rows"):
        dea(np.ones((2, 1)), np.ones((3, 1)))
