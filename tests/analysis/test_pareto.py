"""Exact Pareto analysis against a brute-force O(n^2) reference."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from effbench.analysis import pareto as pareto_module
from effbench.analysis.objectives import Objective, oriented_matrix, parse_objective
from effbench.analysis.pareto import (
    dominance_counts,
    dominated_by,
    dominators,
    dominates,
    hardware_frontiers,
    nondominated_layers,
    nondominated_mask,
    pareto_analysis,
)
from effbench.errors import ConfigError, DataError


def brute_dominance(X: np.ndarray) -> np.ndarray:
    """M[i, j] = row i dominates row j."""
    ge = (X[:, None, :] >= X[None, :, :]).all(axis=2)
    gt = (X[:, None, :] > X[None, :, :]).any(axis=2)
    return ge & gt


def brute_front(X):
    return ~brute_dominance(X).any(axis=0)


def brute_layers(X):
    n = len(X)
    layers = np.zeros(n, dtype=int)
    remaining = np.arange(n)
    k = 0
    while remaining.size:
        k += 1
        nd = brute_front(X[remaining])
        layers[remaining[nd]] = k
        remaining = remaining[~nd]
    return layers


# small integer values make ties and exact duplicates frequent
tables = st.integers(1, 7).flatmap(
    lambda d: arrays(np.float64, st.tuples(st.integers(0, 40), st.just(d)), elements=st.integers(0, 4).map(float))
)


@pytest.mark.parametrize("few_rows", [0, 10**9], ids=["sorted-pass", "one-pass-scan"])
@settings(max_examples=150, deadline=None, derandomize=True)
@given(tables)
def test_front_layers_and_dominators_match_brute_force(few_rows, X):
    assert np.array_equal(nondominated_mask(X), brute_front(X))
    assert np.array_equal(nondominated_layers(X), brute_layers(X))
    M = brute_dominance(X)
    # dominators() has two paths: a sorted, pruned pass for many rows, a plain scan for a table's few
    with mock.patch.object(pareto_module, "_FEW_ROWS", few_rows), mock.patch.object(pareto_module, "_BLOCK_CELLS", 3 * max(1, len(X))), \
            mock.patch.object(pareto_module, "_PRESORT_MIN_N", 1):  # blocks of 3 rows; rows ordered for moocore
        assert np.array_equal(nondominated_mask(X), brute_front(X))
        assert np.array_equal(nondominated_layers(X), brute_layers(X))
        for i, doms in enumerate(dominated_by(X)):
            assert np.array_equal(doms, np.flatnonzero(M[:, i]))
        counted = dominators(X, limit=2)
    assert np.array_equal(counted.count, M.sum(axis=0))
    for i, sample in enumerate(counted.sample):
        assert np.array_equal(sample, np.flatnonzero(M[:, i])[:2])
    assert np.array_equal(dominance_counts(X), M.sum(axis=0))
    # 3+ objectives: bitsets of every s-th prefix plus the rows between; every stride must agree
    with mock.patch.object(pareto_module, "_MIN_STRIDE", 1 if few_rows else 3):
        assert np.array_equal(dominance_counts(X), M.sum(axis=0))


def blocked_brute_counts(X, block=256):
    """The dominator count of every row, by brute force in row blocks (bounded memory)."""
    out = np.zeros(len(X), dtype=np.int64)
    for start in range(0, len(X), block):
        B = X[start:start + block]
        ge = (X[:, None, :] >= B[None, :, :]).all(axis=2)
        gt = (X[:, None, :] > B[None, :, :]).any(axis=2)
        out[start:start + block] = (ge & gt).sum(axis=0)
    return out


@pytest.mark.parametrize("d", [1, 2, 3, 4, 6])
def test_dominator_counts_and_samples_of_every_row_on_larger_tables(d):
    # uniform values (distinct) and 0..3 (heavy ties and duplicates), mixed senses through oriented_matrix
    rng = np.random.default_rng(20 + d)
    senses = [parse_objective(f"c{k}:{'max' if k % 2 else 'min'}") for k in range(d)]
    for raw in (rng.random((2500, d)), rng.integers(0, 4, (2500, d)).astype(float)):
        X = oriented_matrix(raw, senses)
        expected = blocked_brute_counts(X)
        assert np.array_equal(dominance_counts(X), expected)
        doms = dominators(X, limit=3)
        assert np.array_equal(doms.count, expected)
        for i in rng.choice(len(X), 60, replace=False):  # the sample: the 3 smallest dominator indices
            ge = (X >= X[i]).all(axis=1) & (X > X[i]).any(axis=1)
            assert np.array_equal(doms.sample[i], np.flatnonzero(ge)[:3])
    with mock.patch.object(pareto_module, "_BITSET_BYTES", 1 << 16):  # few stored prefixes, long gaps
        assert np.array_equal(dominance_counts(X), expected)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 5)), elements=st.integers(0, 3).map(float)))
def test_dominance_is_a_strict_partial_order(X):
    M = brute_dominance(X)
    n = len(X)
    for i in range(n):
        assert not dominates(X[i], X[i])  # irreflexive
        for j in range(n):
            assert dominates(X[i], X[j]) == M[i, j]
            assert not (M[i, j] and M[j, i])  # antisymmetric
    # transitive: M @ M implies M
    two_step = (M.astype(int) @ M.astype(int)) > 0
    assert not (two_step & ~M).any()


def test_exact_duplicates_are_all_non_dominated():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    assert nondominated_mask(X).tolist() == [True, True, True, False, False]
    assert nondominated_layers(X).tolist() == [1, 1, 1, 2, 2]
    assert [d.tolist() for d in dominated_by(X)] == [[], [], [], [0, 1, 2], [0, 1, 2]]


@pytest.mark.parametrize("d", [2, 3, 4, 6])
def test_large_inputs_take_the_cull_path_and_agree(d):
    rng = np.random.default_rng(d)
    X = rng.integers(0, 25, size=(4200, d)).astype(float)
    assert np.array_equal(nondominated_mask(X), brute_front(X))


def blocked_brute_front(X, block=256):
    """brute_front in row blocks (bounded memory for a few thousand rows)."""
    out = np.ones(len(X), dtype=bool)
    for start in range(0, len(X), block):
        B = X[start:start + block]
        ge = (X[:, None, :] >= B[None, :, :]).all(axis=2)
        gt = (X[:, None, :] > B[None, :, :]).any(axis=2)
        out[start:start + block] = ~(ge & gt).any(axis=0)
    return out


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_front_heavy_inputs_agree_with_brute_force(d):
    # half on a sphere (all non-dominated), half just inside it: a pivot removes next to nothing
    rng = np.random.default_rng(d)
    S = np.abs(rng.standard_normal((3000, d)))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    inner = S[rng.integers(0, 3000, 3000)] * rng.uniform(0.97, 1.0, (3000, 1))
    X = np.round(np.vstack([S, inner, S[:200]]), 3)  # rounding and copies: ties and duplicates
    assert np.array_equal(nondominated_mask(X), blocked_brute_front(X))


@pytest.mark.parametrize("d", [2, 3, 4])
def test_large_uniform_and_tied_inputs_agree_with_brute_force(d):
    rng = np.random.default_rng(10 + d)
    for X in (rng.random((6000, d)), rng.integers(0, 4, (6000, d)).astype(float)):
        assert np.array_equal(nondominated_mask(X), blocked_brute_front(X))


@pytest.mark.parametrize("d", [2, 3])
def test_layers_of_rows_handed_to_moocore_ordered_match_brute_force(d):
    # from 4,096 rows (here: 16), 2 and 3 objectives go to moocore ordered by the last one: ties and duplicates
    rng = np.random.default_rng(30 + d)
    X = rng.integers(0, 12, (1500, d)).astype(float)
    with mock.patch.object(pareto_module, "_PRESORT_MIN_N", 16):
        assert np.array_equal(nondominated_layers(X), brute_layers(X))
        assert np.array_equal(nondominated_mask(X), brute_front(X))


@pytest.mark.parametrize("d", [3, 4])
def test_all_non_dominated_sphere(d):
    rng = np.random.default_rng(0)
    S = np.abs(rng.standard_normal((3000, d)))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    assert nondominated_mask(S).all()


def test_dominator_counts_and_bounded_samples_match_brute_force():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 6, size=(300, 3)).astype(float)
    M = brute_dominance(X)
    result = dominators(X, rows=range(0, 300, 7), limit=3)
    for r, count, sample in zip(result.rows, result.count, result.sample):
        assert count == M[:, r].sum()
        assert np.array_equal(sample, np.flatnonzero(M[:, r])[:3])
    assert np.array_equal(dominators(X).count, M.sum(axis=0))
    capped = nondominated_layers(X, max_layer=2)
    assert np.array_equal(capped, np.minimum(brute_layers(X), 3))


def test_max_layer_caps():
    rng = np.random.default_rng(2)
    X = rng.random((200, 2))
    full = nondominated_layers(X)
    assert np.array_equal(nondominated_layers(X, max_layer=3), np.minimum(full, 4))


def test_scale_invariance():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 20, size=(150, 3)).astype(float)
    objectives = [parse_objective("a:max"), parse_objective("b:min"), parse_objective("c:max")]
    scaled = values * np.array([1000.0, 0.001, 3.7])
    r1 = pareto_analysis(oriented_matrix(values, objectives))
    r2 = pareto_analysis(oriented_matrix(scaled, objectives))
    assert np.array_equal(r1.layer, r2.layer)
    assert np.array_equal(r1.on_frontier, r2.on_frontier)


def test_min_objectives_are_negated():
    objectives = [Objective("acc", "max"), Objective("lat", "min")]
    values = np.array([[0.9, 2.0], [0.8, 1.0], [0.7, 3.0]])
    X = oriented_matrix(values, objectives)
    assert nondominated_mask(X).tolist() == [True, True, False]
    assert [d.tolist() for d in dominated_by(X)] == [[], [], [0, 1]]


def test_edge_cases_and_errors():
    assert nondominated_mask(np.empty((0, 3))).shape == (0,)
    assert nondominated_layers(np.empty((0, 3))).shape == (0,)
    assert nondominated_mask(np.array([[1.0], [3.0], [3.0]])).tolist() == [False, True, True]
    with pytest.raises(DataError, match="non-finite"):
        nondominated_mask(np.array([[1.0, np.nan]]))
    with pytest.raises(DataError, match="2-D"):
        nondominated_mask(np.array([1.0, 2.0]))
    with pytest.raises(ConfigError, match="at least one objective"):
        nondominated_mask(np.empty((3, 0)))
    with pytest.raises(ConfigError, match="row index"):
        dominated_by(np.ones((2, 2)), rows=[5])


def test_hardware_frontiers():
    table = {
        "acc": np.array([0.9, 0.8, 0.7, 0.6]),
        "gpu": np.array([10.0, 20.0, 5.0, 30.0]),
        "cpu": np.array([1.0, 1.0, 3.0, 0.5]),
    }
    hw = hardware_frontiers(
        table,
        {"gpu": [Objective("gpu", "max")], "cpu": [Objective("cpu", "max")]},
        common=[Objective("acc", "max")],
    )
    assert hw.per_hardware["gpu"].tolist() == [True, True, False, True]
    assert hw.per_hardware["cpu"].tolist() == [True, False, True, False]
    assert hw.on_every.tolist() == [True, False, False, False]
    assert hw.on_some.tolist() == [True, True, True, True]
    with pytest.raises(ConfigError):
        hardware_frontiers(table, {})


@pytest.mark.parametrize(
    "spec,name,direction",
    [("top1:max", "top1", "max"), ("lat:p99:min", "lat:p99", "min"), (" x : MIN ", "x", "min")],
)
def test_parse_objective(spec, name, direction):
    assert parse_objective(spec) == Objective(name, direction)


@pytest.mark.parametrize("spec", ["top1", "top1:", ":max", "top1:best"])
def test_parse_objective_errors(spec):
    with pytest.raises(ConfigError, match="--objective"):
        parse_objective(spec)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(1, 4)), elements=st.integers(0, 3).map(float)),
       st.integers(0, 50))
def test_leading_layers_are_the_first_layers_of_the_full_sort(X, rows):
    from effbench.analysis.pareto import leading_layers

    full = nondominated_layers(X)
    layer, depth = leading_layers(X, rows)
    assert np.array_equal(layer, np.minimum(full, depth + 1))
    if X.shape[0]:
        assert np.count_nonzero(full <= depth) >= min(rows, X.shape[0])
        assert depth == full.max() or np.count_nonzero(full <= depth - 1) < max(rows, 1)  # no layer more than needed
