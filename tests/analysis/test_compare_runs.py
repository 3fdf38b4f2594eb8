"""compare_runs and stability_report on synthetic RunRecords (no store, no clock)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effbench.analysis.compare_runs import (
    compare_runs,
    own_load,
    ratio_distribution,
    setup_differences,
    stability_report,
)
from effbench.analysis.stats import compare, holm_bonferroni
from effbench.errors import ConfigError
from effbench.store.db import RunRecord, SampleSet


def make_run(run_id, cells, *, env=None, config=None, seed=0):
    """cells: {(candidate, batch): (median_s, sigma, n[, meta])} -> a RunRecord with lognormal samples."""
    rng = np.random.default_rng(seed)
    run = RunRecord(run_id=run_id, created_at="2025-01-01T00:00:00+00:00", status="complete",
                    environment=env or {"cpu": {"model": "X"}, "cores_logical": 2, "libraries": {"torch": "2.0"}},
                    config=config or {"threads": 1, "timing": {"rel_tol": 0.05, "min_block_s": 2e-5}})
    for (cand, b), spec in cells.items():
        med, sigma, n = spec[:3]
        meta = spec[3] if len(spec) > 3 else {"stop_reason": "precision", "block_size": 1}
        run.samples.append(SampleSet(cand, b, "latency_per_call", "s", med * rng.lognormal(0.0, sigma, n), meta))
    return run


def test_identical_distributions_are_not_flagged_and_one_sided_cells_listed():
    cells = {(f"m{i}/torch", b): (1e-3 * (i + 1) * b, 0.1, 600) for i in range(4) for b in (1, 8)}
    a = make_run("A", {**cells, ("gone/torch", 1): (1e-3, 0.1, 50)}, seed=1)
    b = make_run("B", {**cells, ("new/onnxruntime", 8): (1e-3, 0.1, 50)}, seed=2)
    r = compare_runs(a, b)
    assert len(r.cells) == 8
    assert r.only_in_a == [("gone/torch", 1)] and r.only_in_b == [("new/onnxruntime", 8)]
    assert r.n_slower == 0 and r.n_faster == 0 and r.share_significant == 0.0
    assert all(0.95 < c.ratio_median < 1.05 for c in r.cells)
    assert r.setup_differences == []


def test_shifted_cell_is_flagged_with_holm_over_all_cells():
    cells = {(f"m{i}/torch", 1): (1e-3, 0.1, 500) for i in range(6)}
    a = make_run("A", cells, seed=3)
    slower = dict(cells)
    slower[("m0/torch", 1)] = (1.2e-3, 0.1, 500)
    slower[("m1/torch", 1)] = (0.8e-3, 0.1, 500)
    b = make_run("B", slower, seed=4)
    r = compare_runs(a, b, alpha=0.05, seed=11)
    by = {c.candidate: c for c in r.cells}
    assert by["m0/torch"].change == "slower" and by["m1/torch"].change == "faster"
    assert r.n_slower == 1 and r.n_faster == 1
    assert by["m0/torch"].comparison.ratio_median.low > 1.0
    # the flags are exactly Holm over the cells' Mann-Whitney p-values, restricted to CIs excluding 1
    expected_reject = holm_bonferroni([c.comparison.p_value for c in r.cells], 0.05)
    assert [c.holm_reject for c in r.cells] == expected_reject
    # each cell is the pure stats.compare of its samples (seed per cell: seed + index)
    ref = compare(a.samples[0].values, b.samples[0].values, alpha=0.05, seed=11 + 0)
    assert r.cells[0].comparison == ref
    d = r.to_dict()
    assert d["summary"]["n_slower"] == 1 and d["cells"][0]["ratio_p99_low"] is not None
    assert "Holm" in d["correction"] and "Mann-Whitney" in d["test"]


def test_holm_is_stricter_than_uncorrected_p():
    # many cells with a tiny shift: some uncorrected p < alpha, Holm flags fewer or equal
    cells = {(f"m{i}/torch", 1): (1e-3, 0.3, 400) for i in range(20)}
    a = make_run("A", cells, seed=5)
    b = make_run("B", {k: (v[0] * 1.02, *v[1:]) for k, v in cells.items()}, seed=6)
    r = compare_runs(a, b)
    uncorrected = sum(c.comparison.significant for c in r.cells)
    assert r.n_slower + r.n_faster <= uncorrected


def test_ratio_distribution_and_validation():
    d = ratio_distribution([1.0, 2.0, 0.5, float("nan"), None, 4.0])
    assert d.n == 4 and d.min == 0.5 and d.max == 4.0
    assert d.median == pytest.approx(np.median([0.5, 1, 2, 4]))
    assert d.iqr == pytest.approx(np.quantile([0.5, 1, 2, 4], 0.75) - np.quantile([0.5, 1, 2, 4], 0.25))
    assert d.geometric_mean == pytest.approx(math.exp(np.mean(np.log([0.5, 1, 2, 4]))))
    assert ratio_distribution([]) is None
    with pytest.raises(ConfigError, match=r"^alpha: expected a number in \(0, 1\), got 1\.5$"):
        compare_runs(make_run("A", {}), make_run("B", {}), alpha=1.5)
    with pytest.raises(ConfigError, match=r"^unit: expected one of 'auto', 'repeats', 'samples', got 'calls'$"):
        compare_runs(make_run("A", {}), make_run("B", {}), unit="calls")


def test_setup_differences_name_what_changed():
    a = make_run("A", {}, env={"cpu": {"model": "X"}, "cores_logical": 2, "libraries": {"torch": "2.0", "numpy": "2.1"}})
    b = make_run("B", {}, env={"cpu": {"model": "Y"}, "cores_logical": 2, "libraries": {"torch": "2.1", "numpy": "2.1"}},
                 config={"threads": 4, "timing": {"rel_tol": 0.05, "min_block_s": 2e-5}})
    diffs = setup_differences(a, b)
    assert any(d.startswith("CPU:") for d in diffs)
    assert "torch: 2.0 vs 2.1" in diffs and any(d.startswith("threads per candidate") for d in diffs)
    assert not any(d.startswith("numpy") for d in diffs)


# -- stability report ----------------------------------------------------------------------------


def test_stability_report_per_cell_rules():
    cells = {
        ("quiet/torch", 1): (1e-3, 0.01, 600),
        ("noisy/torch", 1): (1e-3, 0.5, 600),
        ("short/torch", 1): (1e-3, 0.01, 50, {"stop_reason": "max_time", "block_size": 1, "rel_halfwidths": {"0.5": 0.12}}),
        ("tiny/torch", 1): (1e-7, 0.01, 600, {"stop_reason": "precision", "block_size": 200}),
    }
    rep = stability_report(make_run("A", cells))
    assert rep.cells[("quiet/torch", 1)] == []
    assert any("interquartile range" in w for w in rep.cells[("noisy/torch", 1)])
    short = " ".join(rep.cells[("short/torch", 1)])
    assert "too few" in short and "max_time" in short and "12.0%" in short
    assert any("blocks of 200 calls" in w and "20 us" in w for w in rep.cells[("tiny/torch", 1)])
    assert rep.run_warnings == [] and rep.n_cells_warned == 3
    assert rep.to_dict()["cells"][0]["candidate"] == "noisy/torch"


def test_load_warning_discounts_the_runs_own_worker():
    base = {"cpu": {"model": "X"}, "cores_logical": 2}
    # 0.2 -> 1.2 on 2 cores after 10 minutes with 1 thread: the worker itself explains it
    own = make_run("A", {}, env={**base, "load_average": [0.2, 0.1, 0.1], "load_average_after": [1.2, 1, 1], "run_wall_time_s": 600})
    assert stability_report(own).run_warnings == []
    # 0.2 -> 3.5: something else ran
    busy = make_run("B", {}, env={**base, "load_average": [0.2, 0.1, 0.1], "load_average_after": [3.5, 2, 1], "run_wall_time_s": 600})
    (w,) = stability_report(busy).run_warnings
    assert "0.20 to 3.50" in w and "2 cores" in w
    # no 'after' recorded (older runs): no load rule
    assert stability_report(make_run("C", {}, env={**base, "load_average": [0.2, 0, 0]})).run_warnings == []
    assert own_load(1, 60) == pytest.approx(1 - math.exp(-1)) and own_load(2, 0) == 0.0


def test_min_change_margin_separates_drift_from_real_changes():
    cells = {("m/torch", 1): (1e-3, 0.05, 5000), ("n/torch", 1): (1e-3, 0.05, 5000)}
    a = make_run("A", cells, seed=7)
    b = make_run("B", {("m/torch", 1): (1.02e-3, 0.05, 5000), ("n/torch", 1): (1.10e-3, 0.05, 5000)}, seed=8)
    strict = compare_runs(a, b, min_change=0.0)
    assert [c.change for c in strict.cells] == ["slower", "slower"]     # 2% drift is "significant" at n=5000
    default = compare_runs(a, b)
    assert [c.change for c in default.cells] == ["same", "slower"]      # only the 10% change passes 5%
    assert "outside [1/1.05, 1.05]" in default.rule and "excludes 1" in strict.rule
    with pytest.raises(ConfigError, match=r"^min_change: expected a number in \[0, 10\), got -0\.1$"):
        compare_runs(a, b, min_change=-0.1)


def test_a_run_wide_drift_is_divided_out_on_request():
    cells = {(f"m{i}/torch", b): (1e-3 * (i + 1), 0.1, 800) for i in range(5) for b in (1, 8)}
    a = make_run("A", cells, seed=21)
    drifted = {k: (v[0] * 0.9,) + v[1:] for k, v in cells.items()}   # the whole machine 10% faster
    drifted[("m0/torch", 1)] = (1e-3 * 1.2 * 0.9, 0.1, 800)          # and one cell 20% slower on top
    b = make_run("B", drifted, seed=22)
    plain = compare_runs(a, b)
    assert plain.drift is None and plain.n_faster >= 8               # every drifted cell looks faster
    adjusted = compare_runs(a, b, adjust_drift=True)
    assert adjusted.drift == pytest.approx(0.9, rel=0.03)  # the median ratio: the one slowed cell does not move it
    assert [(c.candidate, c.batch_size) for c in adjusted.cells if c.change != "same"] == [("m0/torch", 1)]
    assert "run-wide shift" in adjusted.rule and adjusted.to_dict()["drift"] == adjusted.drift


def _with_repeats(run_id, medians_per_repeat, seed, n=300, sigma=0.05):
    """One cell whose samples come from repeats with the given medians (window-to-window variation)."""
    return _repeat_run(run_id, {("m/torch", 1): medians_per_repeat}, seed, n=n, sigma=sigma)


def _repeat_run(run_id, cells, seed, n=300, sigma=0.05):
    """cells: {(candidate, batch): [median of each repeat]} -> a RunRecord with repeats metadata."""
    rng = np.random.default_rng(seed)
    run = RunRecord(run_id=run_id, created_at="2025-01-01T00:00:00+00:00", status="complete",
                    environment={"cpu": {"model": "X"}}, config={"threads": 1})
    for (cand, b), medians in cells.items():
        parts = [m * rng.lognormal(0.0, sigma, n) for m in medians]
        meta = {"stop_reason": "max_time", "block_size": 1, "repeats": [{"n_samples": n, "repeat": r} for r in range(len(parts))]}
        run.samples.append(SampleSet(cand, b, "latency_per_call", "s", np.concatenate(parts), meta))
    return run


def test_repeats_are_the_unit_when_there_are_enough():
    # each run's windows differ by several percent: per-call samples call a 6% gap significant,
    # the repeat medians (the window is the unit) do not
    a = _with_repeats("A", [1.00e-3, 1.07e-3, 0.95e-3], seed=1)
    b = _with_repeats("B", [1.06e-3, 1.00e-3, 1.12e-3], seed=2)
    by_samples = compare_runs(a, b, unit="samples", min_change=0)
    assert by_samples.cells[0].change == "slower"
    by_repeats = compare_runs(a, b, min_change=0)  # default unit auto: 3 repeats in both cells
    cell = by_repeats.cells[0]
    assert cell.comparison.test.startswith("moderated t-test") and cell.comparison.n_a == 3
    assert cell.change == "same" and cell.comparison.ratio_median.low < 1 < cell.comparison.ratio_median.high
    assert "compared by their time windows" in by_repeats.rule and "no prior" in by_repeats.rule  # one cell: no prior
    prior = by_repeats.to_dict()["variance_prior"]
    assert by_repeats.variance_prior.d0 == 0 and prior["n_cells"] == 1 and not prior["fitted"] and prior["s0"] is None
    # a large, consistent change is still found with 3 repeats
    c = _with_repeats("C", [1.50e-3, 1.52e-3, 1.49e-3], seed=3)
    a2 = _with_repeats("A2", [1.00e-3, 1.01e-3, 0.99e-3], seed=4)
    assert compare_runs(a2, c, unit="repeats").cells[0].change == "slower"
    with pytest.raises(ConfigError, match="needs at least 3 repeats"):
        compare_runs(make_run("X", {("m/torch", 1): (1e-3, 0.1, 50)}), b, unit="repeats")


def _window_noise_runs(n_cells=40, repeats=3, window_sd=0.06, slow=(), factor=1.0, seed=0):
    """Two runs of n_cells cells; every repeat (window) of every cell moves by lognormal(window_sd)."""
    rng = np.random.default_rng(seed)
    keys = [(f"m{i}/torch", 1) for i in range(n_cells)]
    def cells(f_slow):
        return {k: list(1e-3 * (f_slow if k in slow else 1.0) * rng.lognormal(0.0, window_sd, repeats)) for k in keys}
    return keys, _repeat_run("A", cells(1.0), seed + 1, n=200), _repeat_run("B", cells(factor), seed + 2, n=200)


def test_moderated_repeat_test_is_quiet_on_window_noise_and_finds_real_changes():
    # the same code twice, with 6% window-to-window noise: the per-call test flags most cells,
    # the repeat-level test (with its prior over 40 cells) at most a few
    keys, a, b = _window_noise_runs()
    assert compare_runs(a, b, unit="samples", min_change=0).share_significant > 0.5
    quiet = compare_runs(a, b, min_change=0)
    assert quiet.share_significant <= 0.05
    prior = quiet.variance_prior
    assert prior.n_cells == 40 and prior.d0 > 10 and prior.s0 == pytest.approx(0.06, rel=0.35)
    assert "prior d0" in quiet.rule and "moderated t" in quiet.test
    # 8 cells slowed by 1.5x: found, and nothing else
    slow = set(keys[:8])
    keys, a, b = _window_noise_runs(slow=slow, factor=1.5)
    found = compare_runs(a, b)
    assert {(c.candidate, c.batch_size) for c in found.cells if c.change == "slower"} == slow
    assert found.n_faster == 0


def test_the_prior_gives_more_power_than_each_cell_alone():
    # 3 repeats per run: 4 degrees of freedom per cell; Holm over 40 cells needs p < 0.05/40,
    # which a cell's own t-test on 4 df reaches only for huge t; the prior adds degrees of freedom
    slow = {(f"m{i}/torch", 1) for i in range(8)}
    keys, a, b = _window_noise_runs(slow=slow, factor=1.25, seed=5)
    with_prior = compare_runs(a, b, min_change=0)
    slowed = [c for c in with_prior.cells if (c.candidate, c.batch_size) in slow]
    assert sum(c.change == "slower" for c in slowed) >= 6
    forced = compare_runs(a, b, min_change=0, unit="repeats")
    assert forced.n_slower == with_prior.n_slower  # unit repeats and auto agree when every cell has repeats
    # the same data without a prior (as if there were fewer cells than MIN_CELLS_FOR_PRIOR)
    import effbench.analysis.compare_runs as cr
    old = cr.MIN_CELLS_FOR_PRIOR
    try:
        cr.MIN_CELLS_FOR_PRIOR = 10_000
        no_prior = compare_runs(a, b, min_change=0)
    finally:
        cr.MIN_CELLS_FOR_PRIOR = old
    assert no_prior.variance_prior.d0 == 0 and no_prior.n_slower < with_prior.n_slower


def test_stability_report_warns_when_the_time_windows_disagree():
    run = _repeat_run("W", {("calm/torch", 1): [1.00e-3, 1.02e-3, 0.99e-3], ("moody/torch", 1): [1.0e-3, 1.3e-3, 1.05e-3]},
                      seed=0, sigma=0.01)
    cells = stability_report(run).cells
    assert not any("time windows" in w for w in cells[("calm/torch", 1)])
    [w] = [w for w in cells[("moody/torch", 1)] if "time windows" in w]
    assert "3 time windows differ by 3" in w  # about 30%


def test_windows_without_spread_give_no_verdict_rather_than_a_certain_one():
    # identical window medians and no prior: nothing to measure the noise by, so no interval and no flag
    # (a zero-width interval would make a 0.1% change "certain")
    a = _repeat_run("A", {("m/torch", 1): [1.000e-3] * 3}, seed=0, sigma=0.0)
    b = _repeat_run("B", {("m/torch", 1): [1.001e-3] * 3}, seed=1, sigma=0.0)
    cell = compare_runs(a, b, min_change=0).cells[0]
    assert cell.comparison.p_value == 1.0 and not cell.comparison.ratio_median.has_interval
    assert cell.change == "inconclusive" and not cell.significant and cell.ratio_median == pytest.approx(1.001)
    assert "not computable" in cell.comparison.ratio_median.method
    assert cell.inconclusive_reason == ("no interval of the ratio of medians (moderated t interval: not computable "
                                        "(no spread between the windows, or a zero median))")


def test_adjust_drift_uses_the_estimator_of_each_cells_test():
    # run B 10% slower everywhere; window medians: the drift estimate is the geometric-mean ratio of the
    # windows (1.10), and after dividing it out the cells' ratios are centred on 1
    keys = [(f"m{i}/torch", 1) for i in range(12)]
    rng = np.random.default_rng(3)
    meds = {k: list(1e-3 * rng.lognormal(0, 0.02, 3)) for k in keys}
    a = _repeat_run("A", meds, seed=1, n=200)
    b = _repeat_run("B", {k: [1.1 * m for m in v] for k, v in meds.items()}, seed=2, n=200)
    r = compare_runs(a, b, adjust_drift=True, min_change=0)
    assert r.drift == pytest.approx(1.10, rel=0.01)
    assert np.median([c.ratio_median for c in r.cells]) == pytest.approx(1.0, abs=0.005) and r.n_slower == r.n_faster == 0


def test_stability_report_says_when_max_time_cut_a_cell_before_min_samples():
    cfg = {"threads": 1, "timing": {"rel_tol": 0.05, "min_block_s": 2e-5, "min_samples": 10}}
    cells = {
        ("big/torch", 8): (0.9, 0.01, 3, {"stop_reason": "max_time_before_min_samples", "n_samples": 3, "block_size": 1,
                                          "rel_halfwidths": {"0.5": float("inf")}}),
        ("mixed/torch", 8): (0.9, 0.01, 12, {"stop_reason": "mixed", "n_samples": 12, "block_size": 1,
                                             "stop_reasons": ["max_time", "max_time_before_min_samples", "max_time"],
                                             "rel_halfwidths": {"0.5": 0.08}}),
        ("fine/torch", 8): (0.9, 0.01, 12, {"stop_reason": "max_time", "n_samples": 12, "block_size": 1,
                                            "rel_halfwidths": {"0.5": 0.08}}),
    }
    rep = stability_report(make_run("A", cells, config=cfg))
    (big,) = [w for w in rep.cells[("big/torch", 8)] if "min_samples" in w]
    assert "its time window before min_samples = 10 samples were taken (3 in all" in big and "not at all" in big
    (mixed,) = [w for w in rep.cells[("mixed/torch", 8)] if "min_samples" in w]
    assert "1 of its 3 time windows" in mixed and "+-8.0%" in mixed
    assert not any("min_samples" in w for w in rep.cells[("fine/torch", 8)])
