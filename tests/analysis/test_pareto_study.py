"""pareto_study: the result object behind ``effbench pareto``, against brute force."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from effbench.analysis.objectives import Objective, oriented_matrix
from effbench.analysis.pareto_study import SCHEMA_VERSION, StochasticOptions, pareto_study
from effbench.analysis.stochastic_frontier import relative, samples
from effbench.errors import ConfigError, DataError

from test_pareto import brute_dominance, brute_layers

# small integers (ties, duplicates), NaN rows, and a direction per column
studies = st.integers(1, 5).flatmap(lambda d: st.tuples(
    arrays(np.float64, st.tuples(st.integers(0, 30), st.just(d)),
           elements=st.one_of(st.integers(0, 3).map(float), st.just(np.nan))),
    st.lists(st.sampled_from(["max", "min"]), min_size=d, max_size=d),
))


@settings(max_examples=120, deadline=None, derandomize=True)
@given(studies)
def test_front_layers_and_dominator_counts_match_brute_force_with_nan_rows_and_mixed_senses(case):
    values, senses = case
    objectives = [Objective(f"c{k}", s) for k, s in enumerate(senses)]
    keys = [f"m{i}" for i in range(len(values))]
    study = pareto_study(keys, values, objectives)
    finite = np.isfinite(values).all(axis=1)
    assert list(study.keys) == [k for k, ok in zip(keys, finite) if ok]
    assert study.dropped == tuple(k for k, ok in zip(keys, finite) if not ok)
    assert bool(study.notes) == (not finite.all())
    X = oriented_matrix(values[finite], objectives)
    M = brute_dominance(X)
    assert np.array_equal(study.layer, brute_layers(X))
    records = study.records()
    for i, rec in enumerate(records):
        doms = np.flatnonzero(M[:, i])
        assert rec["on_frontier"] == (doms.size == 0)
        assert rec["dominated_by_count"] == doms.size
        assert rec["dominated_by"] == [study.keys[j] for j in doms[:study.dominator_sample]]


def _three():
    values = np.array([[0.9, 4.0], [0.8, 1.0], [0.7, 5.0], [0.8, 1.0]])
    return pareto_study(["big", "small", "bad", "twin"], values, [Objective("acc", "max"), Objective("lat", "min")])


def test_to_dict_carries_the_schema_version_and_the_command_records():
    d = _three().to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    assert d["objectives"] == ["acc:max", "lat:min"] and d["n_frontier"] == 3 and d["n_layers"] == 2
    bad = {r["key"]: r for r in d["records"]}["bad"]
    assert list(bad) == ["key", "on_frontier", "layer", "dominated_by", "dominated_by_count", "values"]
    assert bad["dominated_by"] == ["big", "small", "twin"] and bad["dominated_by_count"] == 3
    assert bad["values"] == {"acc": 0.7, "lat": 5.0}


def test_the_dominator_sample_is_bounded_and_the_count_exact():
    values = np.column_stack([np.arange(30.0), np.arange(30.0)])
    study = pareto_study([f"m{i}" for i in range(30)], values, [Objective("a", "min"), Objective("b", "min")])
    rec = study.records([29])[0]
    assert rec["dominated_by_count"] == 29
    assert rec["dominated_by"] == [f"m{i}" for i in range(study.dominator_sample)]


def test_ranking_puts_the_frontier_first_then_probability_then_first_objective():
    study = _three()
    assert [study.keys[i] for i in study.ranking()] == ["big", "small", "twin", "bad"]
    assert [study.keys[i] for i in study.ranking(2)] == ["big", "small"]
    # A and C are both on the exact frontier; with noise on acc, C (faster) sometimes dominates
    # A, never the reverse: C and B rank before A although A is the most accurate
    values = np.array([[0.900, 4.00], [0.800, 1.00], [0.899, 3.99], [0.5, 9.0]])
    noisy = pareto_study(["A", "B", "C", "D"], values, [Objective("acc", "max"), Objective("lat", "min")],
                         stochastic=StochasticOptions(draws=200, seed=0), noise={"acc": relative(0.01)})
    p = dict(zip(noisy.keys, noisy.stochastic.p_frontier))
    assert p["C"] == 1.0 and p["B"] == 1.0 and 0.0 < p["A"] < 1.0
    assert [noisy.keys[i] for i in noisy.ranking()] == ["C", "B", "A", "D"]
    assert noisy.to_dict()["stochastic"]["noise"] == {"acc": "given", "lat": "exact"}


def test_dea_and_hardware_records():
    values = np.array([[0.9, 4.0, 10.0], [0.8, 1.0, 20.0], [0.7, 5.0, 5.0]])
    objs = [Objective("acc", "max"), Objective("lat", "min"), Objective("size", "min")]
    study = pareto_study(["a", "b", "c"], values, objs, hardware={"cpu": [objs[1]], "disk": [objs[2]]},
                         dea={"model": "bcc", "orientation": "input"})
    rec = study.records([2])[0]
    assert rec["frontier_by_hardware"] == {"cpu": False, "disk": True}
    assert 0 < rec["dea_efficiency"] <= 1 and len(rec["dea_input_slacks"]) == 2
    assert study.to_dict()["dea"] == {"model": "bcc", "orientation": "input"}


def test_shape_errors():
    with pytest.raises(DataError, match="values must be"):
        pareto_study(["a"], np.ones((2, 1)), [Objective("x", "max")])


def test_analysis_does_not_import_store_cli_or_report():
    code = ("import sys, effbench.analysis.pareto_study; "
            "bad = [m for m in sys.modules if m.startswith(('effbench.store', 'effbench.cli', 'effbench.report'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_dropped_row_takes_its_raw_samples_with_it():
    values = np.array([[0.9, 1.0], [0.8, np.inf], [0.7, 2.0]])
    raw = samples([np.full(5, 1.0), np.full(5, 3.0), np.full(5, 2.0)])
    study = pareto_study(["a", "b", "c"], values, [Objective("acc", "max"), Objective("lat", "min")],
                         stochastic=StochasticOptions(draws=5), noise={"lat": raw})
    assert study.keys.tolist() == ["a", "c"] and study.dropped == ("b",)
    assert study.stochastic.p_frontier.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- only the layers a table needs
@settings(max_examples=120, deadline=None, derandomize=True)
@given(studies, st.integers(1, 40), st.booleans())
def test_a_table_from_the_first_layers_shows_the_rows_and_layers_of_the_full_study(case, top, stochastic):
    from effbench.report.pareto_table import pareto_table

    values, senses = case
    objectives = [Objective(f"c{k}", s) for k, s in enumerate(senses)]
    keys = [f"m{i}" for i in range(len(values))]
    opts = dict(stochastic=StochasticOptions(draws=5, seed=1), noise={"c0": relative(0.2)}) if stochastic else {}
    full = pareto_study(keys, values, objectives, **opts)
    lazy = pareto_study(keys, values, objectives, layer_rows=top, **opts)
    assert np.array_equal(lazy.ranking(top), full.ranking(top))
    shown = full.ranking(top)
    assert np.array_equal(lazy.layer[shown], full.layer[shown])
    assert pareto_table(lazy, top).rows == pareto_table(full, top).rows
    assert lazy.n_frontier == full.n_frontier
    if not lazy.layers_complete:
        assert lazy.layers_ranked < full.n_layers
        assert np.array_equal(np.minimum(full.layer, lazy.layers_ranked + 1), lazy.layer)
    assert lazy.to_dict() == full.to_dict()  # the JSON has every layer


def test_first_layers_of_a_large_seeded_table_with_ties():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 12, size=(5000, 3)).astype(float)  # many ties and duplicates
    objectives = [Objective("a", "max"), Objective("b", "min"), Objective("c", "max")]
    keys = [f"m{i}" for i in range(len(values))]
    full = pareto_study(keys, values, objectives)
    for top in (1, 25, 300):
        lazy = pareto_study(keys, values, objectives, layer_rows=top)
        assert not lazy.layers_complete and lazy.n_layers == lazy.layers_ranked + 1
        assert np.array_equal(lazy.ranking(top), full.ranking(top))
        assert np.array_equal(np.minimum(full.layer, lazy.layers_ranked + 1), lazy.layer)
        with pytest.raises(ConfigError, match="only the first"):
            lazy.ranking(0)
        assert lazy.complete().to_dict() == full.to_dict()
