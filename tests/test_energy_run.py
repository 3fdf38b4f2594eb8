"""Energy through the whole run: meters chosen, labelled, stored per batch size; the batching study on it."""

import numpy as np
import pytest

import effbench
from effbench.cli import main
from effbench.measure.energy_cells import EnergyConfig
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress

FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=30, min_time_s=0.0, max_time_s=0.03)


def rule(X):
    return (np.asarray(X)[:, 0] > 0.5).astype(np.int64)


@pytest.fixture()
def data():
    X = np.random.default_rng(0).random((20, 4)).astype(np.float32)
    return X, rule(X)


def _run(tmp_path, data, energy, **kw):
    X, y = data
    return effbench.benchmark({"rule": rule}, X, y, batch_sizes=[1, 4], db=tmp_path / "r.sqlite", isolate=False,
                              timing=FAST, progress=SilentProgress(), energy=energy, **kw)


def test_without_counters_every_energy_value_is_labelled_estimated(tmp_path, data):
    res = _run(tmp_path, data, EnergyConfig(min_window_s=0.01, idle_s=0.0, rapl_root=str(tmp_path / "no-powercap"), allow_nvml=False),
               carbon_region="FRA")
    env = res.run.environment["energy"]
    assert env["provenance"] == "estimated" and "estimate" in env["meter"]
    assert any("RAPL unavailable" in n and "ESTIMATED" in n for n in env["notices"])
    names = {(m.name, m.batch_size): m for m in res.run.metrics}
    for b in (1, 4):
        for name in ("energy_per_batch_j", "energy_per_sample_j", "active_energy_per_sample_j", "carbon_per_sample_g"):
            assert names[(name, b)].provenance == "estimated", name
        assert names[("energy_per_sample_j", b)].value == pytest.approx(names[("energy_per_batch_j", b)].value / b)
    assert names[("carbon_per_sample_g", 1)].detail["region"] == "FRA"
    row = res.table()[0]
    assert row["best_energy_per_sample_j"].provenance == "estimated"
    from effbench.report.text import cost_rows_as_text, legend

    assert cost_rows_as_text([row])[0][-3].endswith("~")
    assert "ESTIMATED" in legend(res.run)


def _fake_rapl(root):
    pkg = root / "intel-rapl:0"
    pkg.mkdir(parents=True)
    (pkg / "name").write_text("package-0\n")
    (pkg / "max_energy_range_uj").write_text("262143328850\n")
    (pkg / "energy_uj").write_text("1000\n")
    return root


def test_readable_counters_give_measured_energy(tmp_path, data):
    root = _fake_rapl(tmp_path / "powercap")
    res = _run(tmp_path, data, EnergyConfig(min_window_s=0.01, idle_s=0.0, rapl_root=str(root), allow_nvml=False))
    assert res.run.environment["energy"]["provenance"] == "measured"
    assert res.run.environment["energy"]["notices"] == []
    m = res.run.metric("rule/callable", "energy_per_batch_j", 4)
    # the fake counter never moves: 0 J, and measured, because a counter was read
    assert (m.value, m.provenance, m.detail["meter"]) == (0.0, "measured", "rapl")


def test_energy_can_be_switched_off(tmp_path, data):
    res = _run(tmp_path, data, None)
    assert res.run.environment["energy"] is None
    assert not [m for m in res.run.metrics if "energy" in m.name]


def test_batching_command_on_a_run(tmp_path, data, capsys):
    res = _run(tmp_path, data, EnergyConfig(min_window_s=0.01, idle_s=0.0, allow_nvml=False))
    db = str(tmp_path / "r.sqlite")
    assert main(["batching", res.run_id, "--db", db, "--arrival-rate", "100", "--max-latency", "0.05",
                 "--requests", "2000", "--json", str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "rule/callable: at 100 requests/s" in out and "J/sample (estimated incl. idle" in out
    assert main(["batching", res.run_id, "--db", db, "--arrival-rate", "0", "--max-latency", "0.05"]) == 2
    assert "effbench: error: --arrival-rate: expected a number > 0, got 0.0" in capsys.readouterr().err
    assert main(["batching", res.run_id, "--db", db, "--arrival-rate", "10", "--max-latency", "-1"]) == 2
    assert "effbench: error: --max-latency: expected a number > 0, got -1.0" in capsys.readouterr().err
    assert main(["batching", res.run_id, "--db", db, "--arrival-rate", "10", "--max-latency", "1", "--candidates", "x/y"]) == 2
    assert "'x/y' is not in run" in capsys.readouterr().err
