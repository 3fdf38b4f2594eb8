"""Inference rounds for tail quality: the worker command, the parent loop, the report (no processes)."""

import gc
import json

import numpy as np
import pytest

from effbench.analysis import tail as T

from effbench.analysis.tail import ConvergenceConfig
from effbench.candidates.callable_adapter import CallableCandidate
from effbench.errors import ConfigError, DataError
from effbench.measure.rounds import RoundsData, handle_rounds, measure_more, run_rounds
from effbench.measure.worker import WorkerState
from effbench.runs.tail import TailConfig, common_deadline, measure_tail, rounds_until_converged, tail_report
from effbench.zoo.digits_suite import parse_candidate_keys

W = np.random.default_rng(0).normal(size=(5, 3))


def scores(X):
    return np.asarray(X) @ W


class FakeClock:
    """Time advances only when the model runs: 0.5 s per instance of the batch, 1 s per clock read."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def _data(n=10, d=5, seed=1):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_worker_command_gives_shapes_and_predictions():
    X = _data(10)
    state = WorkerState(CallableCandidate("lin", scores), threads=1)
    assert state.handle(("data", X)) == ("ok",)
    op, payload = state.handle(("rounds", 3, 4, 1))  # dispatched through worker.EXTRA_COMMANDS
    assert op == "rounds"
    data = RoundsData.from_payload(payload)
    assert data.rounds == 3 and data.n_instances == 10 and data.batch_size == 4
    assert data.inference_s.shape == (3, 3) and data.e2e_s.shape == (3, 3)  # batches of 4, 4, 2
    assert np.all(data.inference_s > 0) and np.all(data.e2e_s >= data.inference_s)
    expected = scores(X).argmax(axis=1)
    assert data.predictions.shape == (3, 10)
    assert (data.predictions == expected[None, :]).all()
    assert payload["meta"]["warmup_rounds"] == 1 and payload["meta"]["gc_paused"] is True
    # direct call gives the same reply shape
    assert handle_rounds(state, 1)[1]["inference_s"].shape == (1, 10)


def test_batch_instances_share_times_and_times_follow_the_protocol():
    clock = FakeClock()
    calls = []

    def model(X):
        calls.append((len(X), gc.isenabled()))
        clock.now += 0.5 * len(X)  # the model call "takes" 0.5 s per instance
        return scores(X)

    X = _data(10)
    payload = run_rounds(CallableCandidate("lin", model), X, 2, batch_size=4, warmup_rounds=2, clock=clock)
    data = RoundsData.from_payload(payload)
    # inference = t2 - t1 = model time + 1 clock read; end to end = t3 - t0 = model time + 3 reads
    assert data.inference_s.tolist() == [[3.0, 3.0, 2.0]] * 2
    assert data.e2e_s.tolist() == [[5.0, 5.0, 4.0]] * 2
    per_instance = data.instance_times("inference")
    assert per_instance.shape == (2, 10)
    assert per_instance[0].tolist() == [3.0] * 8 + [2.0] * 2
    assert data.batch_ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    # 2 warm-up rounds + 2 timed rounds, 3 batches each; the GC is paused during every call and back after
    assert [n for n, _ in calls] == [4, 4, 2] * 4
    assert not any(enabled for _, enabled in calls)
    assert gc.isenabled()


def test_labels_correctness_and_bad_input():
    data = RoundsData.from_payload(run_rounds(CallableCandidate("lbl", lambda X: np.array(["a", "bb"] * (len(X) // 2))),
                                              _data(4), 2, batch_size=2))
    assert data.predictions.tolist() == [["a", "bb", "a", "bb"]] * 2
    assert data.correct(["a", "bb", "bb", "bb"]).tolist() == [[True, True, False, True]] * 2
    with pytest.raises(DataError):
        data.correct(["a"])
    with pytest.raises(ConfigError):
        run_rounds(CallableCandidate("lin", scores), _data(4), 0)
    with pytest.raises(ConfigError):
        run_rounds(CallableCandidate("lin", scores), _data(4), 1, batch_size=0)
    with pytest.raises(DataError):
        run_rounds(CallableCandidate("lin", scores), None, 1)


def _synthetic_source(n=200, batch_size=1, drift=0.0, seed=0, requests=None):
    """Seeded round source: per-batch lognormal times around 1 ms (times x (1 + drift * round))."""
    rng = np.random.default_rng(seed)
    nb = -(-n // batch_size)
    base = rng.lognormal(np.log(1e-3), 0.2, nb)
    labels = rng.integers(0, 3, n)
    done = [0]

    def source(k):
        if requests is not None:
            requests.append(k)
        r = done[0] + np.arange(k)[:, None]
        t = base[None, :] * rng.lognormal(0.0, 0.05, (k, nb)) * (1.0 + drift * r)
        done[0] += k
        return RoundsData(batch_size, n, t * 0.9, t, np.repeat(labels[None, :], k, axis=0), {"warmup_rounds": 1})

    return source, labels


def test_parent_loop_stops_by_convergence_on_a_stationary_stream():
    requests = []
    source, _ = _synthetic_source(requests=requests)
    cfg = ConvergenceConfig(every=2, window=3, threshold=0.05, min_rounds=8, max_rounds=60)
    seen = []
    data, res = rounds_until_converged(source, cfg, on_rounds=lambda n, mon: seen.append(n))
    assert res.converged and res.stopped_by == "converged"
    assert 8 <= res.rounds_used < 60 and res.rounds_used % 2 == 0
    assert data.rounds == res.rounds_used == sum(requests)
    assert set(requests) == {2} and seen[-1] == res.rounds_used


def test_parent_loop_reaches_max_rounds_on_a_drifting_stream():
    requests = []
    source, _ = _synthetic_source(drift=0.2, requests=requests)
    cfg = ConvergenceConfig(every=2, window=3, threshold=0.05, min_rounds=4, max_rounds=15)
    data, res = rounds_until_converged(source, cfg, time_kind="inference")
    assert not res.converged and res.stopped_by == "max_rounds"
    assert data.rounds == 15 and requests[-1] == 1  # the last request only asks what max_rounds leaves
    with pytest.raises(ConfigError):
        rounds_until_converged(source, cfg, time_kind="wall")


def test_measure_more_chunks():
    requests = []
    source, _ = _synthetic_source(requests=requests)
    assert measure_more(source, 0) is None
    data = measure_more(source, 12, chunk=5)
    assert data.rounds == 12 and requests == [5, 5, 2]


def test_report_has_what_the_html_report_reads():
    source, labels = _synthetic_source(n=60, batch_size=4)
    fit = RoundsData.concat([source(2) for _ in range(5)])
    hold = source(6)
    y = labels.copy()
    y[:6] = (y[:6] + 1) % 3  # 6 of 60 wrong: unconstrained 0.9
    from effbench.analysis.tail import convergence_round

    conv = convergence_round(fit.instance_times("e2e"), ConvergenceConfig(min_rounds=4, max_rounds=10))
    cfg = TailConfig(batch_size=4, thresholds_s=(0.5,), grid=5, n_simulated=200)
    rep = tail_report(fit, hold, y, conv, cfg, common_deadline_s=1e-3)
    json.dumps(rep)
    assert rep["unconstrained"]["mean"] == pytest.approx(0.9)
    assert rep["rounds_measured"] == 16 and rep["holdout_rounds"] == 6 and rep["batch_size"] == 4
    labels_seen = [(r["origin"], r["label"]) for r in rep["thresholds"]]
    assert labels_seen[0] == ("user", "0.5s") and ("percentile", "p99") in labels_seen and labels_seen[-1] == ("common", "common")
    for row in rep["thresholds"]:
        assert {"threshold_s", "origin", "label", "min", "mean", "max", "std", "q01", "quantile"} <= set(row)
        assert row["min"] <= row["q01"] <= row["mean"] + 1e-12 and row["mean"] <= row["max"] + 1e-12 <= 0.9 + 2e-12
    assert rep["thresholds"][0]["min"] == pytest.approx(0.9)  # 0.5 s is above every time
    assert rep["own_p99"]["label"] == "p99" and rep["common_deadline"]["threshold_s"] == 1e-3
    means = [c["mean"] for c in rep["curve"]]
    assert len(means) == 5 and means == sorted(means) and means[-1] == pytest.approx(0.9)
    assert rep["curve"][0]["min"] <= rep["curve"][0]["mean"]
    pred = rep["prediction"]
    assert pred["fit_rounds"] == 10 and pred["holdout_rounds"] == 6 and len(pred["thresholds"]) == len(rep["thresholds"])
    assert all(r["error_min_pp"] >= 0 for r in pred["thresholds"])
    assert pred["interval"]["level"] == 0.9 and pred["interval"]["predict_rounds"] == 6
    hold_q = T.quality_matrix(hold.instance_times("e2e"), hold.correct(y), [r["threshold_s"] for r in pred["thresholds"]])
    for row, observed in zip(pred["thresholds"], hold_q.min(axis=0)):
        w = row["predicted_worst"]
        assert w["low"] <= w["point"] <= w["high"] and row["observed_worst"] == pytest.approx(observed)
        assert row["covered"] == (w["low"] <= observed <= w["high"])
        assert row["width_pp"] == pytest.approx(100 * (w["high"] - w["low"]))
    assert pred["thresholds"][0]["predicted_worst"] == {"low": 0.9, "high": 0.9, "point": 0.9}  # 0.5 s: every time is on time
    assert {"round", "js_distances"} <= set(rep["convergence"]["trace"][-1])
    assert set(rep["times"]) == {"inference", "e2e"}
    # without held-out rounds: a prediction with no error columns
    rep2 = tail_report(fit, None, y, conv, cfg)
    assert rep2["common_deadline"] is None and "error_min_pp" not in rep2["prediction"]["thresholds"][0]
    assert rep2["prediction"]["interval"] is None and "covered" not in rep2["prediction"]["thresholds"][0]


def test_measure_tail_on_a_user_callable_in_process():
    X = _data(30)
    y = scores(X).argmax(axis=1)
    y[:3] = (y[:3] + 1) % 3
    m = measure_tail(scores, X, y, name="lin", isolate=False, batch_size=5, min_rounds=2, max_rounds=4,
                     every=1, window=1, holdout_rounds=3, grid=3, n_simulated=50)
    assert m.key == "lin/callable" and m.fit.rounds <= 4 and m.holdout.rounds == 3
    assert m.accuracy == pytest.approx(0.9)
    rep = m.report(common_deadline_s=10.0)
    assert rep["common_deadline"]["min"] == pytest.approx(0.9) and rep["warmup_rounds"] == 1
    with pytest.raises(ConfigError):
        measure_tail(scores, X, y, batch_size=0, isolate=False)
    with pytest.raises(ConfigError):
        measure_tail(scores, X, y, isolate=False, rounds=3)
    with pytest.raises(DataError):
        measure_tail(scores, X, y[:5], isolate=False)


def test_config_and_helpers_validate():
    assert 99.0 in TailConfig(percentiles=(90,)).percentiles
    for bad in ({"thresholds_s": (0,)}, {"thresholds_s": (-1e-3,)}, {"time_kind": "wall"}, {"quantile": 1.5},
                {"min_rounds": 10, "max_rounds": 5}, {"js_threshold": 0}, {"fixed_rounds": 1}):
        with pytest.raises(ConfigError):
            TailConfig(**bad)
    assert common_deadline({"a": 1.0, "b": 3.0, "c": 2.0}) == 2.0
    assert common_deadline({"a": 1.0, "b": 3.0}) == 2.0
    assert parse_candidate_keys(["cnn_small/torch", "logreg"]) == [("cnn_small", "torch"), ("logreg", None)]
    with pytest.raises(ConfigError, match="unknown candidate"):
        parse_candidate_keys(["resnet/torch"])
    with pytest.raises(ConfigError, match="no backend"):
        parse_candidate_keys(["logreg/torch"])


# --------------------------------------------------------------------------- the suite, without training


class _FakeCandidate:
    def __init__(self, model, backend, parent=None):
        self.model, self.backend, self.parent = model, backend, parent
        self.key, self.family = f"{model}/{backend}", "linear"

    def describe(self):
        return {"fake": True}


def _fake_suite(monkeypatch, fail_at=None):
    """Suite pieces replaced: no training (two fake candidates, one exported from the other) and
    synthetic rounds per candidate; counts how often each candidate's report is computed."""
    import effbench.runs.tail as tail_mode
    import effbench.zoo.digits_suite as suite
    from effbench.analysis.tail import convergence_round

    built = [_FakeCandidate("logreg", "sklearn"), _FakeCandidate("logreg", "onnx", parent="logreg/sklearn")]
    training = {"logreg": {"train_time_s": 0.25, "source": "fake",
                           "train_energy": {"energy_j": 3.0, "provenance": "estimated", "meter": "fake"}}}
    monkeypatch.setattr(suite, "build_candidates", lambda task, selection, **kw: (built, training))
    calls = {"reports": [], "measured": []}

    def measure(c, X, y, config, log, fallback_metrics=()):
        if fail_at is not None and len(calls["measured"]) == fail_at:
            raise KeyboardInterrupt
        calls["measured"].append(c.key)
        n = len(y)
        rng = np.random.default_rng(len(calls["measured"]))
        scale = 1e-3 * len(calls["measured"])  # the second candidate is twice as slow

        def rounds(k):
            t = scale * rng.lognormal(0.0, 0.1, (k, -(-n // config.batch_size)))
            return RoundsData(config.batch_size, n, t * 0.9, t, np.repeat(np.asarray(y)[None, :], k, axis=0), {})

        fit, hold = rounds(6), rounds(3)
        conv = convergence_round(fit.instance_times("e2e"), config.convergence())
        return tail_mode.TailMeasurement(c.key, fit, hold, conv, np.asarray(y), config)

    real = tail_mode.tail_report

    def counting(fit, holdout, y, convergence, config, **kw):
        calls["reports"].append(kw.get("common_deadline_s"))
        return real(fit, holdout, y, convergence, config, **kw)

    monkeypatch.setattr(tail_mode, "_measure_candidate", measure)
    monkeypatch.setattr(tail_mode, "tail_report", counting)
    return calls


_SMALL = dict(batch_size=64, min_rounds=2, max_rounds=6, every=1, window=1, grid=3, n_simulated=20)


@pytest.mark.parametrize("user_deadline", [None, 0.01])
def test_suite_computes_each_report_once_and_stores_training_like_run(monkeypatch, tmp_path, user_deadline):
    from effbench.store.db import Store
    from effbench.runs.tail import measure_tail_suite

    calls = _fake_suite(monkeypatch)
    db = tmp_path / "t.sqlite"
    res = measure_tail_suite(["logreg"], quick=True, config=TailConfig(**_SMALL), db=db,
                             common_deadline_s=user_deadline)
    assert calls["measured"] == ["logreg/sklearn", "logreg/onnx"]
    assert len(calls["reports"]) == 2  # one report per candidate, not three
    p99 = {m.key: m.own_p99_s() for m in res.measurements}
    if user_deadline is None:
        assert res.common_deadline_origin == "median of own p99"
        assert res.common_deadline_s == pytest.approx(common_deadline(p99))
    else:
        assert res.common_deadline_origin == "user" and res.common_deadline_s == user_deadline
    assert calls["reports"] == [res.common_deadline_s] * 2
    for m in res.measurements:
        rep = res.reports[m.key]
        assert rep["own_p99"]["threshold_s"] == pytest.approx(p99[m.key])
        assert rep["common_deadline"]["threshold_s"] == pytest.approx(res.common_deadline_s)
        assert rep["common_deadline_origin"] == res.common_deadline_origin
    with Store(db, create=False) as store:
        run = store.load_run(res.run_id)
    assert run.status == "complete"
    for key in ("logreg/sklearn", "logreg/onnx"):
        assert run.candidate(key).info["tail"] == json.loads(json.dumps(res.reports[key]))
        # the same records as effbench run writes (runs.recorder.Recorder.training_metrics)
        t, e = run.metric(key, "train_time_s"), run.metric(key, "train_energy_j")
        assert t.value == 0.25 and t.provenance == "measured" and t.detail["source"] == "fake"
        assert e.value == 3.0 and e.provenance == "estimated"
    assert "shared with its source" in run.metric("logreg/onnx", "train_time_s").detail["note"]
    assert "shared" not in run.metric("logreg/sklearn", "train_time_s").detail["note"]


def test_interrupted_suite_keeps_the_reports_of_measured_candidates(monkeypatch, tmp_path):
    from effbench.store.db import Store
    from effbench.runs.tail import measure_tail_suite

    calls = _fake_suite(monkeypatch, fail_at=1)
    db = tmp_path / "t.sqlite"
    with pytest.raises(KeyboardInterrupt):
        measure_tail_suite(["logreg"], quick=True, config=TailConfig(**_SMALL), db=db)
    assert calls["reports"] == [None]  # computed once, without a common deadline
    with Store(db, create=False) as store:
        run = store.load_run("latest")
    assert run.status == "interrupted"
    tail = run.candidate("logreg/sklearn").info["tail"]
    assert tail["common_deadline"] is None and tail["common_deadline_origin"] == "none (run not complete)"
    assert "tail" not in run.candidate("logreg/onnx").info


def test_suite_checks_the_database_before_training(monkeypatch, tmp_path):
    import effbench.zoo.digits_suite as suite
    from effbench.errors import StoreError
    from effbench.runs.tail import measure_tail_suite

    def no_training(*a, **kw):
        raise AssertionError("trained before the database was checked")

    monkeypatch.setattr(suite, "build_candidates", no_training)
    with pytest.raises(StoreError, match="directory"):
        measure_tail_suite(["logreg/sklearn"], db=tmp_path)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database")
    with pytest.raises(StoreError, match="not an effbench database"):
        measure_tail_suite(["logreg/sklearn"], db=foreign)
    assert foreign.read_text() == "not a database"


def test_time_stats_use_the_cost_tables_quantile():
    from effbench.analysis.stats import quantile
    from effbench.runs.tail import _time_stats

    v = np.array([1.0, 2.0, 3.0, 10.0])
    st = _time_stats(v)
    assert st["p50_s"] == quantile(v, 0.5) == 2.5  # linear; inverted_cdf would give 2.0
    assert st["p90_s"] == pytest.approx(quantile(v, 0.9)) and st["p99_s"] == pytest.approx(quantile(v, 0.99))
    assert st["percentile_method"] == "linear" and st["n"] == 4
