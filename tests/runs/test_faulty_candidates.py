"""A faulty candidate fails alone: its bad answer is refused with a reason, healthy ones complete.

The issue's reproducer: ``nan`` (NaN labels) beside ``ok`` in one ``effbench.benchmark`` used to
end the whole run and mark every candidate ``not measured (run failed)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import effbench
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress

X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
Y = np.arange(40) % 3
FAST = TimingConfig(max_time_s=0.01, min_time_s=0.001, min_samples=3, warmup_calls=1, warmup_s=0.0)


def ok(X):
    return np.zeros(len(X), dtype=np.int64)


def nan_labels(X):
    return np.full(len(X), np.nan)


def nan_scores(X):  # 2-D scores with NaN: argmax would silently pick class 0
    s = np.zeros((len(X), 3))
    s[:, 1] = np.nan
    return s


def too_few(X):
    return np.zeros(max(len(X) - 1, 0), dtype=np.int64)


def too_many(X):
    return np.zeros(len(X) + 2, dtype=np.int64)


def wrong_shape(X):
    return np.zeros((len(X), 2, 2))


def none(X):
    return None


def strings(X):
    return np.array(["cat"] * len(X))


def raises(X):
    raise RuntimeError("boom")


class NanNet(torch.nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 3), float("nan"))


FAULTS = {
    "nan_labels": (nan_labels, "NaN or infinite"),
    "nan_scores": (nan_scores, "NaN or infinite"),
    "too_few": (too_few, "39 labels for 40 examples"),
    "too_many": (too_many, "42 labels for 40 examples"),
    "wrong_shape": (wrong_shape, "shape (40, 2, 2)"),
    "none": (none, "None"),
    "strings": (strings, "test labels are numbers"),
    "raises": (raises, "RuntimeError: boom"),
}


def _run(models, tmp_path):
    return effbench.benchmark(models, X, Y, batch_sizes=[1, 8], db=tmp_path / "r.sqlite", isolate=False,
                              timing=FAST, energy=None, repeats=1, progress=SilentProgress())


def test_the_issue_reproducer_nan_beside_ok(tmp_path):
    r = _run({"nan": nan_labels, "ok": ok}, tmp_path)
    assert r.run.status == "complete"
    assert r.failed == ["nan/callable"]
    bad = r.run.candidate("nan/callable")
    assert "40 NaN or infinite value(s) of 40" in bad.error
    good = r.run.candidate("ok/callable")
    assert good.status == "ok" and r.run.value("ok/callable", "accuracy") == pytest.approx(np.mean(Y == 0))
    assert r.run.sample_set("ok/callable", 8) is not None
    assert r.run.metric("nan/callable", "accuracy") is None  # nothing scored from NaN


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_output_fault_fails_alone_with_its_reason(tmp_path, name):
    fn, words = FAULTS[name]
    r = _run({name: fn, "ok": ok}, tmp_path)
    assert r.run.status == "complete"
    assert r.failed == [f"{name}/callable"]
    assert words in r.run.candidate(f"{name}/callable").error
    assert r.run.candidate("ok/callable").status == "ok"


def test_non_finite_logits_of_a_torch_model_are_refused(tmp_path):
    r = _run({"nannet": NanNet(), "ok": ok}, tmp_path)
    assert r.failed == ["nannet/torch"]
    assert "NaN or infinite value(s)" in r.run.candidate("nannet/torch").error
    assert r.run.metric("nannet/torch", "accuracy") is None


def test_to_pandas_has_one_numeric_row_per_candidate_even_when_one_failed(tmp_path):
    r = _run({"nan": nan_labels, "ok": ok}, tmp_path)
    df = r.to_pandas()
    assert list(df["candidate"]) == ["nan/callable", "ok/callable"]
    assert list(df["status"]) == ["failed", "ok"]
    assert df["accuracy"].dtype.kind == "f" and np.isnan(df.loc[0, "accuracy"])
    assert df.loc[1, "accuracy"] == pytest.approx(np.mean(Y == 0))
    assert df.loc[1, "latency_p50_s_b1"] == pytest.approx(np.median(r.run.sample_set("ok/callable", 1).values))
    assert df.attrs["units"]["latency_p50_s_b1"] == "s" and df.attrs["provenance"]["accuracy"] == "measured"
    long = r.to_pandas(long=True)
    acc = long[(long.metric == "accuracy") & (long.candidate == "ok/callable")]
    assert len(acc) == 1 and acc["value"].iloc[0] == df.loc[1, "accuracy"] and acc["batch_size"].iloc[0] == 0
    assert set(long[long.metric == "latency_p50_s"]["batch_size"]) == {1, 8}
    again = effbench.load_run(r.run_id, db=tmp_path / "r.sqlite")
    assert again.run_id == r.run_id and again.to_pandas().equals(df)
    assert repr(again).startswith(f"<BenchmarkResult run {r.run_id}") and len(repr(again)) < 300
    shown = again._repr_html_()  # a notebook's view: the run, then one table row per candidate
    assert shown.startswith(f"<p><b>effbench run {r.run_id}</b>") and ", 1 failed)" in shown
    assert shown.count("<tr>") == 2 and "nan/callable" in shown  # one body row per candidate and "<td>ok/callable</td>" in shown
