"""The Python API and the run lifecycle, in-process (isolate=False) so they are quick."""

import numpy as np
import pytest

import effbench
from effbench.errors import ConfigError
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress
from effbench.store.db import Store

FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=20, min_time_s=0.0, max_time_s=0.05)


def nearest_mean_factory():
    rng = np.random.default_rng(0)
    means = rng.random((3, 8)).astype(np.float32)

    def predict(X):
        return np.argmin(((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)

    return predict, means


@pytest.fixture()
def data():
    predict, means = nearest_mean_factory()
    rng = np.random.default_rng(1)
    X = rng.random((30, 8)).astype(np.float32)
    return X, predict(X), predict


@pytest.mark.slow
def test_benchmark_records_every_indicator(tmp_path, data):
    from sklearn.linear_model import LogisticRegression

    X, y, predict = data
    lr = LogisticRegression(max_iter=300).fit(X, y)
    res = effbench.benchmark({"lr": lr, "nm": predict}, X, y, batch_sizes=[1, 4, "all"], db=tmp_path / "r.sqlite",
                             isolate=False, timing=FAST, progress=SilentProgress(), train_times={"lr": 0.5})
    rows = {r["candidate"]: r for r in res.table()}
    assert set(rows) == {"lr/sklearn", "nm/callable"}
    nm = rows["nm/callable"]
    assert nm["accuracy"].value == 1.0 and nm["accuracy"].provenance == "measured"
    assert nm["params"].value is None            # a plain callable does not know; nothing is invented
    assert nm["flops_per_sample"].value is None
    assert rows["lr/sklearn"]["params"].value == 3 * 8 + 3
    assert rows["lr/sklearn"]["flops_per_sample"].provenance == "analytic"
    assert rows["lr/sklearn"]["train_time_s"].value == 0.5
    assert rows["lr/sklearn"]["train_time_s"].provenance == "reported"   # typed in by the user, not measured
    for r in rows.values():
        assert r["latency_p50_s_b1"].value > 0 and r["latency_p50_s_b1"].unit == "s"
        assert r["best_throughput_batch_size"] in (1, 4, 30)
    assert rows["lr/sklearn"]["size_bytes"].value > 0
    # a plain function's size is unknown (its pickle is a reference): missing with the reason, not invented
    assert nm["size_bytes"].value is None and "size_bytes=" in nm["size_bytes"].note
    batches = {(b["candidate"], b["batch_size"]) for b in res.batch_table()}
    assert ("lr/sklearn", 30) in batches and ("nm/callable", 4) in batches
    with Store(tmp_path / "r.sqlite") as store:
        run = store.load_run(res.run_id)
    assert run.status == "complete"
    assert run.environment["threads_used"] == 1 and "load_average_after" in run.environment
    assert all(c.status == "ok" for c in run.candidates)


class InterruptAfter(SilentProgress):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def advance(self, n=1, text=""):
        super().advance(n, text)
        if self.done >= self.n:
            raise KeyboardInterrupt


def test_an_interrupted_run_keeps_what_was_measured(tmp_path, data):
    X, y, predict = data
    db = tmp_path / "r.sqlite"
    with pytest.raises(KeyboardInterrupt):
        effbench.benchmark({"nm": predict}, X, y, batch_sizes=[1, 4], db=db, isolate=False, timing=FAST, progress=InterruptAfter(6))
    with Store(db) as store:
        run = store.load_run("latest")
    assert run.status == "interrupted"
    assert run.metric("nm/callable", "peak_memory_bytes", 1) is not None
    assert run.metric("nm/callable", "accuracy").value == 1.0
    assert any("interrupted" in n for n in run.notes)


def test_bad_input_is_rejected_before_measuring(tmp_path, data):
    X, y, predict = data
    with pytest.raises(ConfigError, match="batch size 0 is not allowed"):
        effbench.benchmark({"nm": predict}, X, y, batch_sizes=[0], db=tmp_path / "r.sqlite", isolate=False)
    with pytest.raises(ConfigError, match="give at least one model"):
        effbench.benchmark({}, X, y, db=tmp_path / "r.sqlite")


def test_unpicklable_model_fails_alone_with_a_clear_reason(tmp_path, data):
    X, y, predict = data
    res = effbench.benchmark({"local": lambda X: predict(X), "nm": predict}, X, y, batch_sizes=[1], db=tmp_path / "r.sqlite",
                             isolate=False, timing=FAST, progress=SilentProgress())
    # in-process, lambdas work; through a worker process they cannot be sent, and say so
    assert res.failed == []
    from effbench.candidates import wrap
    from effbench.errors import CandidateError
    from effbench.executor import ProcessWorker

    with pytest.raises(CandidateError, match="cannot be sent to a worker process"):
        ProcessWorker(wrap("local", lambda X: X), threads=1)


def test_peak_memory_sees_an_allocation():
    from effbench.measure.memory import measure_peak_memory

    reading = measure_peak_memory(lambda: np.ones(50 * 2**20 // 8).sum())
    assert reading.peak_bytes >= 40 * 2**20
    assert reading.peak_rss_bytes >= reading.baseline_rss_bytes + reading.peak_bytes - 1
    assert reading.provenance == "measured"


def test_a_cell_measured_in_several_windows_is_described_as_a_whole():
    from effbench.analysis.compare_runs import stability_report
    from effbench.runs.recorder import Recorder
    from effbench.measure.timer import TimingConfig
    from effbench.store.db import RunRecord

    class FakeStore:
        def __init__(self):
            self.samples = {}

        def add_samples(self, run_id, s):
            self.samples[(s.candidate, s.batch_size)] = s

    store = FakeStore()
    rec = Recorder(store, "R", task=None, training={}, timing=TimingConfig(rel_tol=0.05))
    rng = np.random.default_rng(0)
    window = lambda reason, n, block: {"stop_reason": reason, "n_samples": n, "n_calls": n * block, "block_size": block,  # noqa: E731
                                       "sampling_time_s": 0.1, "rel_halfwidths": {"0.5": 0.5}, "repeat": 0}
    rec.latency("m/torch", 1, 1e-3 * rng.lognormal(0, 0.01, 400), window("precision", 400, 1))
    assert "repeats" not in store.samples[("m/torch", 1)].meta   # one window: its own metadata
    rec.latency("m/torch", 1, 1e-3 * rng.lognormal(0, 0.01, 300), window("max_time", 300, 4))
    rec.latency("m/torch", 1, 1e-3 * rng.lognormal(0, 0.01, 300), window("precision", 300, 1))
    meta = store.samples[("m/torch", 1)].meta
    assert meta["stop_reason"] == "mixed" and meta["stop_reasons"] == ["precision", "max_time", "precision"]
    assert meta["n_samples"] == 1000 and meta["n_calls"] == 1900 and meta["block_size"] == 4 and "repeat" not in meta
    assert len(meta["repeats"]) == 3
    # the precision is that of the 1000 pooled samples, not of the last window (0.5)
    assert meta["rel_halfwidths"]["0.5"] < 0.01
    run = RunRecord(run_id="R", created_at="2025-01-01T00:00:00+00:00", status="complete",
                    config={"timing": {"rel_tol": 0.05}}, samples=[store.samples[("m/torch", 1)]])
    assert not any("Sampling stopped" in w for w in stability_report(run).cells[("m/torch", 1)])
    # an imprecise pooled median is reported with the windows that hit a bound
    meta["rel_halfwidths"]["0.5"] = 0.2
    [w] = [w for w in stability_report(run).cells[("m/torch", 1)] if "Sampling stopped" in w]
    assert "max_time in 1 of its 3 time windows" in w
