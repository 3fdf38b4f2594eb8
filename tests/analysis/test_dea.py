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


def _textbook(X, Y, model, orientation):
    """One dense LP per unit against every unit, both stages (Cooper, Seiford & Tone, ch. 3-4):
    an independent formulation of what :func:`dea` computes."""
    from scipy.optimize import linprog

    n, m = X.shape
    s = Y.shape[1]
    vrs = model == "bcc"
    scores, s_in, s_out = np.empty(n), np.empty((n, m)), np.empty((n, s))
    for o in range(n):
        # stage 1, variables (radial, lambda_1..n)
        if orientation == "input":
            a_ub = np.block([[-X[o][:, None], X.T], [np.zeros((s, 1)), -Y.T]])
            b_ub = np.r_[np.zeros(m), -Y[o]]
            c = np.r_[1.0, np.zeros(n)]
        else:
            a_ub = np.block([[np.zeros((m, 1)), X.T], [Y[o][:, None], -Y.T]])
            b_ub = np.r_[X[o], np.zeros(s)]
            c = np.r_[-1.0, np.zeros(n)]
        a_eq = np.r_[0.0, np.ones(n)][None] if vrs else None
        b_eq = [1.0] if vrs else None
        radial = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs").x[0]
        scores[o] = radial if orientation == "input" else 1.0 / radial
        # stage 2, variables (lambda, s_minus, s_plus): max slacks / column means, radial fixed
        a2 = np.block([[X.T, np.eye(m), np.zeros((m, s))], [Y.T, np.zeros((s, m)), -np.eye(s)]])
        hair = (1 + 1e-9) if orientation == "input" else (1 - 1e-9)
        b2 = np.r_[radial * hair * X[o], Y[o]] if orientation == "input" else np.r_[X[o], radial * hair * Y[o]]
        if vrs:
            a2 = np.vstack([a2, np.r_[np.ones(n), np.zeros(m + s)]])
            b2 = np.r_[b2, 1.0]
        c2 = np.r_[np.zeros(n), -1.0 / X.mean(axis=0), -1.0 / Y.mean(axis=0)]
        x = linprog(c2, A_eq=a2, b_eq=b2, method="highs").x
        s_in[o], s_out[o] = x[n:n + m], x[n + m:]
    return np.minimum(scores, 1.0), s_in, s_out


@pytest.mark.parametrize("model", ["ccr", "bcc"])
@pytest.mark.parametrize("orientation", ["input", "output"])
def test_scores_and_both_slacks_equal_an_independent_lp_formulation(model, orientation):
    rng = np.random.default_rng(7)
    X = rng.uniform(1, 10, size=(80, 2))
    Y = rng.uniform(1, 10, size=(80, 2))
    X[5] = X[3] * [1.0, 1.5]  # a unit that wastes one input: a positive input slack
    Y[6], X[6] = Y[4] * [1.0, 0.5], X[4]  # one that falls short on one output: an output slack
    scores, s_in, s_out = _textbook(X, Y, model, orientation)
    r = dea(X, Y, model=model, orientation=orientation)
    assert np.abs(r.efficiency - scores).max() < 1e-9
    s_in[np.abs(s_in) < 1e-7 * X.mean(axis=0)] = 0.0
    s_out[np.abs(s_out) < 1e-7 * Y.mean(axis=0)] = 0.0
    assert np.abs(r.input_slacks - s_in).max() < 1e-9
    assert np.abs(r.output_slacks - s_out).max() < 1e-9
    assert (s_out > 1e-6).any() or (s_in > 1e-6).any()  # the slacks asserted are not all zero


@pytest.mark.parametrize("orientation", ["input", "output"])
def test_first_stage_slacks_are_what_the_peers_leave(orientation):
    rng = np.random.default_rng(8)
    X = rng.uniform(1, 10, size=(60, 2))
    Y = rng.uniform(1, 10, size=(60, 2))
    r = dea(X, Y, model="bcc", orientation=orientation, slacks="first_stage")
    radial = r.efficiency if orientation == "input" else 1.0 / r.efficiency
    for o in range(60):
        proj_x = r.peer_weights[o] @ X[r.peers[o]]
        proj_y = r.peer_weights[o] @ Y[r.peers[o]]
        x_target = radial[o] * X[o] if orientation == "input" else X[o]
        y_target = Y[o] if orientation == "input" else radial[o] * Y[o]
        assert r.input_slacks[o] == pytest.approx(np.maximum(0.0, x_target - proj_x), abs=1e-5)
        assert r.output_slacks[o] == pytest.approx(np.maximum(0.0, proj_y - y_target), abs=1e-5)
    assert (r.output_slacks > 1e-3).any() and (r.input_slacks > 1e-3).any()
