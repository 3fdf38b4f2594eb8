"""The ``effbench pareto`` table, rendered from a ParetoStudy alone."""

from __future__ import annotations

import numpy as np

from effbench.analysis.objectives import Objective
from effbench.analysis.pareto_study import StochasticOptions, pareto_study
from effbench.analysis.stochastic_frontier import relative
from effbench.report.pareto_table import format_cell, format_noise, format_pareto_table, pareto_table


def _study(**kwargs):
    values = np.array([[0.9, 4.0], [0.8, 1.0], [0.7, 5.0], [0.6, 6.0]])
    return pareto_study(["big", "small", "bad", "worst"], values, [Objective("acc", "max"), Objective("lat", "min")],
                        **kwargs)


def test_plain_table_title_header_and_dominator_cell():
    lines = format_pareto_table(_study(), top=0, width=None, style="plain").splitlines()
    assert lines[0] == ("Pareto analysis of 4 models, 2 objectives (acc:max, lat:min): 2 on the frontier, "
                        "3 layers; showing 4")
    assert lines[1].split() == ["layer", "key", "acc", "lat", "dominated_by"]
    assert set(lines[2]) == {"-", " "}
    assert lines[3].split()[:2] == ["1", "big"] and lines[4].split()[:2] == ["1", "small"]
    assert lines[5].split()[1] == "bad" and lines[5].endswith("2 (big, ...)")
    assert lines[6].endswith("3 (big, ...)")


def test_top_limits_rows_and_dominators_are_computed_for_them():
    view = pareto_table(_study(), top=2)
    assert [r[1] for r in view.rows] == ["big", "small"] and view.title.endswith("showing 2")
    assert all(r[-1] == "" for r in view.rows)


def test_stochastic_columns_and_noise_lines():
    study = _study(stochastic=StochasticOptions(draws=20, seed=1), noise={"acc": relative(0.01)},
                   noise_words={"acc": "given: Gaussian, relative sd 0.01", "lat": "exact"})
    view = pareto_table(study)
    assert view.header[-2:] == ["p_frontier", "layer_mean"]
    assert "stochastic: 20 draws, seed 1" in view.title
    assert format_noise(study).splitlines() == ["noise per column (--stochastic):",
                                                "  acc: given: Gaussian, relative sd 0.01", "  lat: exact"]
    assert format_noise(_study()) == ""
    assert len(format_pareto_table(study, style="rich", width=80).splitlines()) > 4


def test_cells():
    assert [format_cell(v) for v in (True, False, float("nan"), 123456.0, 0.0001234, 0.5, 3)] == [
        "yes", "", "-", "123k", "1.23e-04", "0.5", "3"]
    # an objective's column name carries its unit
    assert [format_cell(v, n) for v, n in ((1.43e-05, "latency_p50_s_b1"), (80000.0, "size_bytes"), (61706.0, "params"),
                                           (122700.0, "best_throughput_samples_per_s"), (0.9733, "accuracy"))] == [
        "14.3 µs", "78.1 KiB", "61.7k", "123k/s", "0.9733"]
