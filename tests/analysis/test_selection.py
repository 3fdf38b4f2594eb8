"""Parity (McNemar exact) against hand-made paired predictions, and the recommendation on hand-made tables."""

from __future__ import annotations

import numpy as np
import pytest

from effbench.analysis.selection import Constraints, Row, mcnemar_exact, parity, recommend, resolve_cost, savings
from effbench.errors import ConfigError, DataError


def _pairs(n, a_only, b_only, both_wrong=0):
    """Labels and two prediction vectors with the given discordant counts."""
    y = np.zeros(n, dtype=int)
    a = y.copy()
    b = y.copy()
    a[:b_only] = 1                         # a wrong where only b is right
    b[b_only:b_only + a_only] = 1          # b wrong where only a is right
    s = b_only + a_only
    a[s:s + both_wrong] = 1
    b[s:s + both_wrong] = 2
    return y, a, b


def test_mcnemar_exact_known_p_values():
    y, a, b = _pairs(100, a_only=8, b_only=2)
    assert mcnemar_exact(y, a, b) == (8, 2, pytest.approx(112 / 1024))      # 2 * (1 + 10 + 45) / 2^10
    y, a, b = _pairs(50, a_only=10, b_only=0, both_wrong=5)
    assert mcnemar_exact(y, a, b)[2] == pytest.approx(2 / 1024)
    y, a, b = _pairs(30, a_only=0, b_only=0, both_wrong=3)
    assert mcnemar_exact(y, a, b) == (0, 0, 1.0)                            # no discordant pair
    r = parity(*_pairs(100, 8, 2), alpha=0.05, names=("x", "y"))
    assert r.on_par and r.confidence == 0.95 and r.accuracy_a == 0.98 and r.accuracy_b == 0.92
    assert not parity(*_pairs(50, 10, 0), alpha=0.05).on_par


def test_parity_input_errors():
    with pytest.raises(DataError, match="same test examples"):
        mcnemar_exact([0, 1], [0, 1, 1], [0, 1])
    with pytest.raises(ConfigError, match=r"^alpha: expected a number in \(0, 1\), got 1\.5$"):
        parity([0], [0], [0], alpha=1.5)


def _table(n=200):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n)

    def preds(wrong):
        p = y.copy()
        p[wrong] = (p[wrong] + 1) % 10
        return p

    big = preds(np.arange(0, 4))                    # 4 errors
    forest = preds(np.arange(2, 8))                 # 6 errors, overlaps: on par with big
    weak = preds(np.arange(0, 30))                  # 30 errors: significantly worse
    rows = [
        Row("cnn_wide/torch", 0.98, {"params": 1e5, "latency_p99_s_b1": 2e-3, "flops_per_sample": 1.2e7, "size_bytes": 4e5},
            "neural-network", big),
        Row("random_forest/sklearn", 0.97, {"params": 2e4, "latency_p99_s_b1": 1e-3, "flops_per_sample": 1e6, "size_bytes": 1e6},
            "tree-ensemble", forest),
        Row("logreg/sklearn", 0.85, {"params": 650, "latency_p99_s_b1": 5e-5, "flops_per_sample": 1280, "size_bytes": 3e3},
            "linear", weak),
        Row("dominated/torch", 0.96, {"params": 2e5, "latency_p99_s_b1": 3e-3, "flops_per_sample": 2e7, "size_bytes": 8e5},
            "neural-network", preds(np.arange(0, 8))),
    ]
    return rows, y


def test_simpler_model_on_par_is_recommended_with_the_costs_it_saves():
    rows, y = _table()
    rec = recommend(rows, preference=["simplicity", "params"], y_true=y)
    assert rec.status == "ok" and rec.reference == "cnn_wide/torch"
    assert rec.chosen == "random_forest/sklearn"
    assert "dominated/torch" not in rec.frontier
    text = " ".join(rec.message)
    assert "random_forest/sklearn is on par with cnn_wide/torch (McNemar exact p=" in text and "95% level" in text
    assert "is simpler (a tree, neighbours or kernel model rather than a neural network)" in text
    assert "12x fewer FLOPs" in text and "5.0x fewer parameters" in text and "but: 2.5x larger on disk" in text
    par = {p.a: p for p in rec.parity}
    assert par["random_forest/sklearn"].on_par and not par["logreg/sklearn"].on_par
    assert rec.runner_ups[0]["key"] == "cnn_wide/torch" and rec.runner_ups[0]["on_par_with_reference"]


def test_preference_order_and_no_parity():
    rows, y = _table()
    # latency first: the forest is on par and faster
    assert recommend(rows, preference=["latency"], y_true=y).chosen == "random_forest/sklearn"
    # a stricter level (alpha close to 1) makes nothing on par: the most accurate model is kept
    rec = recommend(rows, preference=["simplicity"], y_true=y, alpha=0.99)
    assert rec.chosen == "cnn_wide/torch" and "differs significantly" in " ".join(rec.message)


def test_constraints_filter_and_infeasible_shows_the_closest():
    rows, y = _table()
    rec = recommend(rows, Constraints(max_costs={"latency_p99_s_b1": 1.5e-3}), ["simplicity"], y_true=y)
    assert rec.chosen == "random_forest/sklearn" and rec.reference == "random_forest/sklearn"
    rec = recommend(rows, Constraints(max_loss=0.005), ["params"], y_true=y)
    assert rec.feasible == ["cnn_wide/torch"] and rec.chosen == "cnn_wide/torch"
    rec = recommend(rows, Constraints(min_quality=0.99, max_costs={"latency_p99_s_b1": 1e-4}), ["params"], y_true=y)
    assert rec.status == "infeasible" and rec.chosen is None
    assert rec.message[0].startswith("No model meets the constraints")
    # ranked by the total relative violation: logreg is 14% short of the quality floor and meets the latency
    assert rec.closest[0] == {"key": "logreg/sklearn", "quality": 0.85, "violations": ["quality 0.85 < 0.99"]}
    cnn = next(c for c in rec.closest if c["key"] == "cnn_wide/torch")
    assert cnn["violations"] == ["quality 0.98 < 0.99", "latency_p99_s_b1 = 2 ms is 20x the limit 100 µs"]
    assert "Closest: logreg/sklearn (quality 0.85 < 0.99)" in rec.message[1]


def test_missing_costs_and_bad_constraints():
    rows, y = _table()
    rows[1].costs.pop("size_bytes")
    rec = recommend(rows, preference=["size"], y_true=y)
    assert ("random_forest/sklearn", "missing value for 'size_bytes'") in rec.dropped
    with pytest.raises(ConfigError, match="not both"):
        Constraints(min_quality=0.9, max_loss=0.01)
    with pytest.raises(ConfigError, match=r"^max_costs\['latency_p99_s_b1'\]: expected a number > 0, got 0$"):
        Constraints(max_costs={"latency_p99_s_b1": 0})
    with pytest.raises(ConfigError, match=r"^max_loss: expected a number >= 0 or None, got -0\.1$"):
        Constraints(max_loss=-0.1)
    with pytest.raises(ConfigError, match=r"^tie_rtol: expected a number in \[0, 1\), got 1$"):
        recommend(rows, preference=["size"], y_true=y, tie_rtol=1)
    assert resolve_cost("latency", 8) == "latency_p99_s_b8" and resolve_cost("memory") == "peak_rss_bytes_b1"


def test_savings_ratios():
    a = Row("a", 0.9, {"params": 10.0, "size_bytes": 200.0})
    b = Row("b", 0.9, {"params": 120.0, "size_bytes": 100.0})
    saved, worse, ratios = savings(a, b, ["params", "size_bytes"])
    assert saved == ["12x fewer parameters"] and worse == ["2.0x larger on disk"] and ratios["params"] == 12.0


def test_energy_and_carbon_aliases_are_per_batch_indicators():
    assert resolve_cost("energy") == "energy_per_sample_j_b1" and resolve_cost("energy", 32) == "energy_per_sample_j_b32"
    assert resolve_cost("carbon", 8) == "carbon_per_sample_g_b8"
    a = Row("a", 0.9, {"energy_per_sample_j_b1": 1e-3, "carbon_per_sample_g_b1": 1e-7})
    b = Row("b", 0.9, {"energy_per_sample_j_b1": 4e-3, "carbon_per_sample_g_b1": 4e-7})
    saved, _, _ = savings(a, b, ["energy_per_sample_j_b1", "carbon_per_sample_g_b1"])
    assert saved == ["4.0x less energy per sample at batch 1", "4.0x less carbon per sample at batch 1 (estimated)"]


def test_energy_preference_on_a_run_reads_the_batch_metric():
    from effbench.store.db import CandidateRecord, Metric, RunRecord

    rows, y = _table()
    run = RunRecord("r", "2026-01-01T00:00:00+00:00", "complete", task={"y_test": y.tolist()})
    for r, e in zip(rows, (4e-3, 1e-3, 5e-4, 8e-3)):
        run.candidates.append(CandidateRecord(r.key, r.key.split("/")[0], r.key.split("/")[1], r.family, status="ok",
                                              predictions=r.predictions.tolist()))
        run.metrics += [Metric(r.key, "accuracy", r.quality, "ratio", "measured"),
                        Metric(r.key, "energy_per_sample_j", e, "J", "estimated", batch_size=1)]
    rec = recommend(run, preference=["energy"])
    assert rec.preference == ["energy_per_sample_j_b1"] and rec.chosen == "random_forest/sklearn"
    rec = recommend(run, Constraints(max_costs={"energy_per_sample_j_b1": 2e-3}), ["simplicity"])
    assert set(rec.feasible) == {"random_forest/sklearn", "logreg/sklearn"}
    with pytest.raises(ConfigError, match="cost 'energy_per_sample_j' is stored per batch size in run r: use energy_per_sample_j_b1"):
        recommend(run, preference=["energy_per_sample_j"])
    with pytest.raises(ConfigError, match="unknown cost 'energy_per_sample_j_b8'"):
        recommend(run, preference=["energy"], batch_size=8)


# -- ties within the noise (issue 17) -------------------------------------------------------------------

def _onnx_pair(noopt_us: float, opt_us: float, spread_us: float):
    """A run with the ONNX Runtime export of one MLP, optimised (the default) and not (a variant): the same
    predictions, parameters and size; latency samples evenly spread +-spread_us around the given medians."""
    from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet

    y = np.arange(200) % 10
    run = RunRecord("r", "2026-01-01T00:00:00+00:00", "complete", task={"y_test": y.tolist()})
    for key, parent, median in (("mlp/onnxruntime", None, opt_us), ("mlp.ortnoopt/onnxruntime", "mlp/torch", noopt_us)):
        run.candidates.append(CandidateRecord(key, key.split("/")[0], "onnxruntime", "neural-network", parent=parent,
                                              status="ok", predictions=y.tolist()))
        run.metrics += [Metric(key, "accuracy", 1.0, "ratio", "measured"), Metric(key, "params", 17226, "count", "analytic"),
                        Metric(key, "size_bytes", 68100, "bytes", "measured")]
        run.samples.append(SampleSet(key, 1, "latency_per_call", "s", (median + np.linspace(-spread_us, spread_us, 101)) * 1e-6))
    return run


def test_overlapping_latency_intervals_tie_and_the_default_configuration_wins():
    # 15.8 vs 16.6 us, samples spread +-4 us: the 95% intervals of the medians overlap
    run = _onnx_pair(15.8, 16.6, 4.0)
    rec = recommend(run, preference=["latency_p50", "size"])
    assert rec.chosen == "mlp/onnxruntime" and set(rec.frontier) == {"mlp/onnxruntime", "mlp.ortnoopt/onnxruntime"}
    lat = next(t for t in rec.ties if t["cost"] == "latency_p50_s_b1")
    assert {k: lat[k] for k in ("cost", "key", "lowest", "how")} == {
        "cost": "latency_p50_s_b1", "key": "mlp/onnxruntime", "lowest": "mlp.ortnoopt/onnxruntime", "how": "intervals overlap"}
    (lo_a, hi_a), (lo_b, hi_b) = lat["intervals"]
    assert lat["values"] == pytest.approx([16.6e-6, 15.8e-6]) and lo_a <= hi_b and lo_b <= hi_a
    assert rec.ties[-1]["decided_by"] == "the default configuration (not a variant)"
    text = " ".join(rec.message)
    assert "On latency_p50_s_b1, mlp/onnxruntime (16.6 µs) ties with mlp.ortnoopt/onnxruntime (15.8 µs): 95% intervals [" in text
    assert "the tie goes to the default configuration (not a variant)" in text
    # without the noise rule, the 0.8 us the intervals cannot separate decides (the old behaviour)
    assert recommend(run, preference=["latency_p50", "size"], noise_ties=False).chosen == "mlp.ortnoopt/onnxruntime"


def test_separated_latency_intervals_decide_by_latency():
    # the same medians, samples spread +-0.4 us: the intervals are apart, the faster model wins
    run = _onnx_pair(15.8, 16.6, 0.4)
    rec = recommend(run, preference=["latency_p50", "size"])
    assert rec.chosen == "mlp.ortnoopt/onnxruntime" and rec.ties == []
    assert rec.frontier == ["mlp.ortnoopt/onnxruntime"]   # the optimised export is dominated beyond the noise


def test_ties_do_not_depend_on_the_order_of_the_models():
    # a ties b, b ties c, a does not tie c: every order of the rows gives the same choice and ranking
    import itertools

    y = np.zeros(10, dtype=int)
    rows = [Row(k, 1.0, {"latency_p50_s_b1": v}, "neural-network", y, parent, {"latency_p50_s_b1": (v - 1.1, v + 1.1)})
            for k, v, parent in (("a", 1.0, "src"), ("b", 3.0, None), ("c", 5.0, None))]
    for perm in itertools.permutations(rows):
        rec = recommend(list(perm), preference=["latency_p50"], y_true=y)
        assert rec.chosen == "b"                     # ties with the lowest (a), and is the default configuration
        assert [r["key"] for r in rec.runner_ups] == ["a"] and sorted(rec.frontier) == ["a", "b"]  # c: dominated by a beyond the noise


def test_tie_rtol_ties_any_cost_and_says_so():
    y = np.zeros(10, dtype=int)
    rows = [Row("a.int8/torch", 1.0, {"size_bytes": 100.0}, "neural-network", y, "a/torch"),
            Row("a/torch", 1.0, {"size_bytes": 104.0}, "neural-network", y)]
    assert recommend(rows, preference=["size"], y_true=y).chosen == "a.int8/torch"
    rec = recommend(rows, preference=["size"], y_true=y, tie_rtol=0.05)
    assert rec.chosen == "a/torch"
    assert "On size_bytes, a/torch (104 B) ties with a.int8/torch (100 B): within the relative tolerance tie_rtol." in rec.message


@pytest.mark.parametrize("name, hint", [("throughput_samples_per_s_b8", "latency_p50_per_sample_s_b8"),
                                        ("best_throughput_samples_per_s", "a cost such as latency")])
def test_a_higher_is_better_indicator_is_refused_as_a_preferred_cost(name, hint):
    # it used to be minimised like any cost: --prefer throughput picked the slowest model
    rows = [Row("fast", 0.9, {name: 1000.0}, "linear"), Row("slow", 0.9, {name: 10.0}, "linear")]
    with pytest.raises(ConfigError, match=f"{name!r} is higher-is-better.*{hint}"):
        recommend(rows, preference=[name])
def test_regression_reads_the_quality_in_its_direction_and_tests_parity_on_errors():
    """rmse: lower is better. The reference is the lowest rmse; a cheaper model is tested against it
    with Wilcoxon's signed-rank test on the absolute errors, and chosen when on par."""
    from scipy.stats import wilcoxon

    from effbench.analysis.selection import REGRESSION_TEST_NAME, Constraints, Row, recommend

    rng = np.random.default_rng(0)
    y = rng.standard_normal(60)
    close = y + 0.30 * rng.standard_normal(60)      # on par with the reference
    far = y + 3.0 * rng.standard_normal(60)          # much worse
    ref = y + 0.30 * rng.standard_normal(60)

    def rmse(p):
        return float(np.sqrt(np.mean((y - p) ** 2)))

    if rmse(close) < rmse(ref):  # the reference is the better of the two similar models
        close, ref = ref, close

    rows = [Row("ref", rmse(ref), {"params": 30.0}, predictions=ref), Row("close", rmse(close), {"params": 20.0}, predictions=close),
            Row("far", rmse(far), {"params": 10.0}, predictions=far)]
    rec = recommend(rows, preference=["params"], quality="rmse", y_true=y, task="regression", direction="min")
    assert rec.reference == "ref" and rec.test == REGRESSION_TEST_NAME and rec.objectives[0] == "rmse:min"
    tests = {t.a: t for t in rec.parity}
    for name, pred in (("close", close), ("far", far)):
        assert tests[name].p_value == pytest.approx(wilcoxon(np.abs(y - pred) - np.abs(y - ref)).pvalue)
    assert tests["close"].on_par and not tests["far"].on_par
    assert rec.chosen == "close"
    # "at most 0.5 worse than the best" keeps ref and close, not far; a floor reads "rmse <= X"
    assert recommend(rows, Constraints(max_loss=0.5), ["params"], quality="rmse", y_true=y, task="regression",
                     direction="min").feasible == ["ref", "close"]
    assert recommend(rows, Constraints(min_quality=rmse(close) - 1e-9), ["params"], quality="rmse", y_true=y,
                     task="regression", direction="min").constraints == [f"rmse <= {rmse(close) - 1e-9:g}"]


@pytest.mark.parametrize("quality", ["top5", "f1_macro", "balanced_accuracy"])
def test_parity_is_not_tested_on_labels_for_a_quality_they_do_not_give(quality):
    # McNemar on predicted labels tests accuracy: for top-k, f1_macro or balanced accuracy the frontier
    # models are left untested (with the reason) and the best-quality model is kept
    rows, y = _table()
    rec = recommend(rows, Constraints(max_loss=0.05), ["simplicity", "params"], y_true=y, quality=quality)
    assert rec.parity == [] and rec.chosen == rec.reference == "cnn_wide/torch"
    reason = f"McNemar exact on the stored predicted labels tests accuracy, not {quality}"
    assert rec.untested == [{"key": k, "reason": reason} for k in rec.frontier if k != "cnn_wide/torch"]
    assert f"Not tested for parity ({reason}): random_forest/sklearn" in " ".join(rec.message)
    assert rec.to_dict()["untested"] == rec.untested and rec.to_dict()["parity"] == []
    # accuracy is tested as before
    assert recommend(rows, preference=["simplicity", "params"], y_true=y).untested == []


def test_the_savings_sentence_cites_the_latency_statistic_the_preference_used():
    rows, y = _table()
    p50 = {"cnn_wide/torch": 1e-3, "random_forest/sklearn": 9.9e-4, "logreg/sklearn": 4e-5, "dominated/torch": 3e-3}
    for r in rows:
        r.costs["latency_p50_s_b1"] = p50[r.key]  # the forest: about as fast at p50, 2x faster at p99
    rec = recommend(rows, preference=["simplicity", "latency_p50"], y_true=y)
    assert rec.chosen == "random_forest/sklearn"
    text = " ".join(rec.message)
    assert "p99" not in text and "latency_p99_s_b1" not in rec.savings
    assert rec.savings["latency_p50_s_b1"] == pytest.approx(1e-3 / 9.9e-4)
    # the default preference (latency = p99) still cites p99
    rec = recommend(rows, preference=["simplicity", "latency"], y_true=y)
    assert "2.0x lower p99 latency at batch 1" in " ".join(rec.message)
