"""Energy meters against fake powercap trees, a mocked pynvml, and fake clocks (no sleeps)."""

from __future__ import annotations

import importlib
import itertools
import sys
import types

import pytest

from effbench.errors import ConfigError, EffbenchError
from effbench.measure.energy import rapl
from effbench.measure.energy import (
    EnergyReading,
    EstimatedCpuMeter,
    MeterUnavailableError,
    MultiMeter,
    NvmlMeter,
    RaplMeter,
    measure_energy,
    resolve_cpu_tdp,
    select_meters,
)

MAX_RANGE = 262143328850


class FakeClock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


def make_rapl_tree(root, package_uj=1_000_000, dram_uj=500_000, max_range=MAX_RANGE):
    def zone(name, zone_name, uj):
        d = root / name
        d.mkdir()
        (d / "name").write_text(zone_name + "\n")
        (d / "energy_uj").write_text(f"{uj}\n")
        (d / "max_energy_range_uj").write_text(f"{max_range}\n")
        return d

    zone("intel-rapl:0", "package-0", package_uj)
    zone("intel-rapl:0:0", "core", 1)  # inside the package: not added
    zone("intel-rapl:0:1", "dram", dram_uj)
    mmio = root / "intel-rapl-mmio:0"  # duplicate of the MSR zone: skipped
    mmio.mkdir()
    (mmio / "name").write_text("package-0\n")
    return root


def set_uj(root, zone, uj):
    (root / zone / "energy_uj").write_text(f"{uj}\n")


# ----------------------------------------------------------------------------- RAPL


def test_rapl_package_and_dram(tmp_path):
    make_rapl_tree(tmp_path)
    clock = FakeClock()
    meter = RaplMeter(tmp_path, clock=clock)
    assert sorted(d.key for d in meter.domains) == ["dram-0", "package-0"]
    token = meter.begin()
    set_uj(tmp_path, "intel-rapl:0", 1_000_000 + 3_000_000)  # +3 J
    set_uj(tmp_path, "intel-rapl:0:1", 500_000 + 1_000_000)  # +1 J
    clock.advance(2.0)
    r = meter.end(token)
    assert r.provenance == "measured" and r.meter == "rapl"
    assert r.domains == pytest.approx({"package-0": 3.0, "dram-0": 1.0})
    assert r.energy_j == pytest.approx(4.0)
    assert r.duration_s == pytest.approx(2.0)
    assert r.mean_power_w == pytest.approx(2.0)
    assert r.domain_provenance == {"package-0": "measured", "dram-0": "measured"}


def test_rapl_wraparound(tmp_path):
    make_rapl_tree(tmp_path, package_uj=MAX_RANGE - 1_000, dram_uj=10)
    meter = RaplMeter(tmp_path, clock=FakeClock())
    token = meter.begin()
    set_uj(tmp_path, "intel-rapl:0", 500)  # wrapped: 1000 uJ to the top, then 500
    set_uj(tmp_path, "intel-rapl:0:1", 20)
    r = meter.end(token)
    assert r.domains["package-0"] == pytest.approx(1_500e-6)
    assert r.domains["dram-0"] == pytest.approx(10e-6)
    assert "wrap-around" in r.notes and "package-0" in r.notes


def test_rapl_nested_and_consecutive_windows(tmp_path):
    make_rapl_tree(tmp_path, package_uj=0, dram_uj=0)
    clock = FakeClock()
    meter = RaplMeter(tmp_path, clock=clock)
    outer = meter.begin()
    set_uj(tmp_path, "intel-rapl:0", 1_000_000)
    inner = meter.begin()
    set_uj(tmp_path, "intel-rapl:0", 3_000_000)
    assert meter.end(inner).energy_j == pytest.approx(2.0)
    assert meter.end(outer).energy_j == pytest.approx(3.0)
    with meter.window() as w:
        set_uj(tmp_path, "intel-rapl:0", 4_000_000)
    assert w["reading"].energy_j == pytest.approx(1.0)


def test_rapl_idle_power_with_fake_sleep(tmp_path):
    make_rapl_tree(tmp_path, package_uj=0, dram_uj=0)
    clock = FakeClock()
    meter = RaplMeter(tmp_path, clock=clock)

    def fake_sleep(seconds):  # 12 W package + 3 W dram while "sleeping"
        set_uj(tmp_path, "intel-rapl:0", int(12 * seconds * 1e6))
        set_uj(tmp_path, "intel-rapl:0:1", int(3 * seconds * 1e6))
        clock.advance(seconds)

    assert meter.idle_power_w(5.0, sleep=fake_sleep) == pytest.approx(15.0)


def test_rapl_absent_tree_raises_unavailable(tmp_path):
    with pytest.raises(MeterUnavailableError, match="no powercap folder"):
        RaplMeter(tmp_path / "missing")
    with pytest.raises(MeterUnavailableError, match="no intel-rapl zones"):
        RaplMeter(tmp_path)


def test_permission_denied_falls_back_with_notice(tmp_path, monkeypatch):
    make_rapl_tree(tmp_path)
    real = rapl._read_sysfs

    def denied(path):
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(rapl, "_read_sysfs", denied)
    meters, notices = select_meters(rapl_root=tmp_path, allow_nvml=False, tdp_w=65.0)
    assert [type(m) for m in meters] == [EstimatedCpuMeter]
    assert meters[0].provenance == "estimated" and "estimate" in meters[0].name
    assert len(notices) == 1 and "\n" not in notices[0]
    assert "permission denied" in notices[0] and "ESTIMATED" in notices[0] and "65 W" in notices[0]


def test_unreadable_counter_falls_back_with_notice(tmp_path):
    make_rapl_tree(tmp_path)
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("not-a-number\n")
    meters, notices = select_meters(rapl_root=tmp_path, allow_nvml=False, tdp_w=10.0)
    assert isinstance(meters[0], EstimatedCpuMeter)
    assert len(notices) == 1 and "unreadable counter" in notices[0]


def test_select_meters_uses_rapl_when_readable(tmp_path):
    make_rapl_tree(tmp_path)
    meters, notices = select_meters(rapl_root=tmp_path, allow_nvml=False)
    assert [type(m) for m in meters] == [RaplMeter] and notices == []


# ----------------------------------------------------------------------------- NVML


def fake_pynvml(*, energy_mj=None, power_mw=None, init_fails=False, count=1):
    mod = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    mod.NVMLError = NVMLError
    mod.calls = []

    def nvmlInit():
        mod.calls.append("init")
        if init_fails:
            raise NVMLError("Driver Not Loaded")

    mod.nvmlInit = nvmlInit
    mod.nvmlShutdown = lambda: mod.calls.append("shutdown")
    mod.nvmlDeviceGetCount = lambda: count
    mod.nvmlDeviceGetHandleByIndex = lambda i: f"handle{i}"
    energy_iter = iter(energy_mj) if energy_mj is not None else None

    def total_energy(handle):
        if energy_iter is None:
            raise NVMLError("Not Supported")
        return next(energy_iter)

    mod.nvmlDeviceGetTotalEnergyConsumption = total_energy
    power_iter = iter(power_mw) if power_mw is not None else itertools.repeat(50_000)
    mod.nvmlDeviceGetPowerUsage = lambda handle: next(power_iter)
    return mod


def test_nvml_energy_counter_path():
    nv = fake_pynvml(energy_mj=[0, 1_000, 6_000])  # probe, begin, end
    clock = FakeClock()
    meter = NvmlMeter(0, pynvml_module=nv, clock=clock, background=False)
    assert meter.mode == "energy-counter" and meter.name == "nvml-energy-counter:gpu0"
    token = meter.begin()
    clock.advance(0.5)
    r = meter.end(token)
    assert r.energy_j == pytest.approx(5.0) and r.domains == {"gpu0": pytest.approx(5.0)}
    assert r.duration_s == pytest.approx(0.5) and r.provenance == "measured"
    meter.close()
    assert nv.calls[-1] == "shutdown"


def test_nvml_power_sampling_path_trapezoid():
    nv = fake_pynvml(energy_mj=None, power_mw=[100_000, 200_000, 200_000])
    clock = FakeClock()
    meter = NvmlMeter(0, pynvml_module=nv, clock=clock, background=False)
    assert meter.mode == "power-sampling"
    token = meter.begin()  # sample at t=0: 100 W
    clock.advance(1.0)
    meter.sample()  # t=1: 200 W
    clock.advance(1.0)
    r = meter.end(token)  # t=2: 200 W
    assert r.energy_j == pytest.approx(0.5 * (100 + 200) * 1 + 200 * 1)
    assert r.duration_s == pytest.approx(2.0)
    assert "trapezoid" in r.notes and "3" in r.notes


def test_nvml_power_sampling_background_thread_constant_power():
    nv = fake_pynvml(energy_mj=None)  # 50 W constant
    meter = NvmlMeter(0, pynvml_module=nv, sample_interval_s=0.001)
    token = meter.begin()
    r = meter.end(token)  # the thread is started and joined; no sleep here
    assert meter._thread is None
    if r.duration_s > 0:
        assert r.mean_power_w == pytest.approx(50.0)


def test_select_meters_with_mocked_pynvml(tmp_path, monkeypatch):
    nv = fake_pynvml(energy_mj=itertools.count(0, 100), count=2)
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    meters, notices = select_meters(rapl_root=tmp_path / "none", tdp_w=20.0, nvml_background=False)
    names = [m.name for m in meters]
    assert names == ["cpu-tdp-estimate", "nvml-energy-counter:gpu0", "nvml-energy-counter:gpu1"]
    assert len(notices) == 1 and "RAPL unavailable" in notices[0]


def test_nvml_absent_and_no_driver_give_notices(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    meters, notices = select_meters(rapl_root=tmp_path / "none", tdp_w=20.0)
    assert len(meters) == 1
    assert any("NVML unavailable" in n and "not installed" in n for n in notices)

    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_fails=True))
    meters, notices = select_meters(rapl_root=tmp_path / "none", tdp_w=20.0)
    assert len(meters) == 1
    assert any("Driver Not Loaded" in n and "GPU energy is not measured" in n for n in notices)


def test_nvml_meter_unavailable_errors():
    with pytest.raises(MeterUnavailableError, match="not present"):
        NvmlMeter(3, pynvml_module=fake_pynvml(count=1), background=False)
    with pytest.raises(MeterUnavailableError, match="could not start"):
        NvmlMeter(0, pynvml_module=fake_pynvml(init_fails=True), background=False)


# ----------------------------------------------------------------------------- estimate


def test_estimator_arithmetic():
    clock = FakeClock()
    cpu = {"s": 0.0}
    meter = EstimatedCpuMeter(100.0, n_cpus=2, cpu_seconds=lambda: cpu["s"], clock=clock, idle_fraction=0.1)
    token = meter.begin()
    clock.advance(10.0)
    cpu["s"] = 5.0  # 5 CPU s over 10 s x 2 CPUs: utilisation 0.25
    r = meter.end(token)
    assert r.provenance == "estimated" and "estimate" in r.meter
    assert r.mean_power_w == pytest.approx(10.0 + 90.0 * 0.25)
    assert r.energy_j == pytest.approx(325.0)
    assert "utilisation 0.250" in r.notes and "TDP 100 W" in r.notes
    assert meter.idle_power_w(4.0, sleep=clock.advance) == pytest.approx(10.0)
    # utilisation is clipped to 1
    token = meter.begin()
    clock.advance(1.0)
    cpu["s"] += 10.0
    assert meter.end(token).mean_power_w == pytest.approx(100.0)


def test_tdp_sources(tmp_path, monkeypatch):
    assert resolve_cpu_tdp(35.0) == (35.0, "given by the user")
    assert resolve_cpu_tdp(env={"EFFBENCH_CPU_TDP_W": "120"})[0] == 120.0
    tdp, source = resolve_cpu_tdp(env={}, cpu_model="Mystery CPU 9000", n_cpus=8, use_codecarbon=False)
    assert tdp == 32.0 and "generic 4 W x 8" in source
    with pytest.raises(ConfigError, match="EFFBENCH_CPU_TDP_W"):
        resolve_cpu_tdp(env={"EFFBENCH_CPU_TDP_W": "lots"})
    with pytest.raises(ConfigError, match=r"^cpu_tdp_w: expected a number > 0, got -5\.0$"):
        resolve_cpu_tdp(-5.0)
    with pytest.raises(ConfigError, match=r"^cpu_tdp_w: expected a number > 0, got True$"):
        resolve_cpu_tdp(True)

    # codecarbon's table, read at run time from an installed package (a fake one here)
    pkg = tmp_path / "codecarbon"
    (pkg / "data" / "hardware").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    (pkg / "data" / "hardware" / "cpu_power.csv").write_text("Name,TDP\n6248,1\nXeon Gold 6248,150\nEPYC 7763,280\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "codecarbon", raising=False)
    importlib.invalidate_caches()
    tdp, source = resolve_cpu_tdp(env={}, cpu_model="Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")
    assert tdp == 150.0 and "codecarbon" in source
    tdp, _ = resolve_cpu_tdp(env={}, cpu_model="AMD EPYC", n_cpus=2)
    assert tdp == 8.0  # no whole-word match: generic default, never a fuzzy guess


# ----------------------------------------------------------------------------- readings, mixing


def test_reading_labels_and_active_energy():
    with pytest.raises(ConfigError, match="estimate"):
        EnergyReading(1.0, 1.0, "estimated", "rapl")
    with pytest.raises(ConfigError, match=r"^provenance: expected one of 'estimated', 'measured', got 'guessed'$"):
        EnergyReading(1.0, 1.0, "guessed", "rapl")
    r = EnergyReading(50.0, 2.0, "measured", "rapl", {"package-0": 50.0})
    assert r.active_energy_j is None
    r2 = r.with_idle(10.0)
    assert r2.idle_energy_j == pytest.approx(20.0) and r2.active_energy_j == pytest.approx(30.0)
    d = r2.to_dict()
    assert d["energy_j"] == 50.0 and d["active_energy_j"] == 30.0 and d["provenance"] == "measured"
    per = r2.per_repeat(10)
    assert per.energy_j == pytest.approx(5.0) and per.duration_s == pytest.approx(0.2)
    assert per.active_energy_j == pytest.approx(3.0)


def test_multimeter_never_mixes_silently(tmp_path):
    make_rapl_tree(tmp_path, package_uj=0, dram_uj=0)
    clock = FakeClock()
    rapl = RaplMeter(tmp_path, clock=clock)
    est = EstimatedCpuMeter(40.0, n_cpus=1, cpu_seconds=lambda: 0.0, clock=clock, idle_fraction=0.25)
    both = MultiMeter([rapl, est])
    assert both.provenance == "estimated" and "estimate" in both.name
    token = both.begin()
    set_uj(tmp_path, "intel-rapl:0", 2_000_000)
    clock.advance(1.0)
    r = both.end(token)
    assert r.provenance == "estimated"
    assert r.domain_provenance == {
        "rapl:package-0": "measured",
        "rapl:dram-0": "measured",
        "cpu-tdp-estimate:cpu": "estimated",
    }
    assert r.domains["cpu-tdp-estimate:cpu"] == pytest.approx(10.0)
    assert r.energy_j == pytest.approx(12.0)
    assert "measured part(s) rapl" in r.notes
    measured_only = MultiMeter([rapl])
    assert measured_only.provenance == "measured" and measured_only.name == "rapl"
    assert both.reads_a_counter and measured_only.reads_a_counter and not est.reads_a_counter
    assert not MultiMeter([est]).reads_a_counter


def test_energy_setup_waits_for_the_idle_baseline_of_a_mixed_meter(tmp_path):
    # a GPU machine without RAPL: the total is estimated (CPU model) but the GPU counter part must be
    # measured over idle_s, and the record must say it was (it once said 0 s)
    from effbench.runs.energy import energy_setup
    from effbench.measure.energy_cells import EnergyConfig

    make_rapl_tree(tmp_path, package_uj=0, dram_uj=0)
    clock = FakeClock()
    counter = RaplMeter(tmp_path, clock=clock)        # stands in for the NVML counter: a measured part
    est = EstimatedCpuMeter(40.0, n_cpus=1, cpu_seconds=lambda: 0.0, clock=clock, idle_fraction=0.25)
    slept = []

    class Mixed(MultiMeter):
        def idle_power_w(self, seconds=1.0, sleep=None):
            slept.append(seconds)
            return super().idle_power_w(seconds, sleep=clock.advance)

    setup = energy_setup(EnergyConfig(idle_s=0.5), meter=Mixed([counter, est]))
    assert slept == [0.5] and setup["idle_seconds"] == 0.5 and setup["provenance"] == "estimated"
    assert setup["idle_power_w"] == pytest.approx(10.0)   # the counter did not move; the model's idle is 0.25 x 40 W
    only_estimate = energy_setup(EnergyConfig(idle_s=0.5), meter=MultiMeter([est]))
    assert only_estimate["idle_seconds"] == 0.0 and only_estimate["idle_power_w"] == pytest.approx(10.0)


# ----------------------------------------------------------------------------- measure_energy


def test_measure_energy_repeats_short_work():
    clock = FakeClock()
    meter = EstimatedCpuMeter(10.0, n_cpus=1, cpu_seconds=clock, clock=clock, idle_fraction=0.0)
    calls = {"n": 0}

    def work():  # 1 ms of fully busy CPU per call
        calls["n"] += 1
        clock.advance(0.001)

    reading, repeats = measure_energy(work, meter, clock=clock)  # window >= 10 x 10 ms
    assert repeats >= 100
    assert reading.duration_s >= 0.1
    assert reading.energy_j == pytest.approx(10.0 * reading.duration_s)
    assert f"repeated {repeats} times" in reading.notes
    assert reading.per_repeat(repeats).energy_j == pytest.approx(0.01)
    assert calls["n"] > repeats  # too-short windows ran and were discarded


def test_measure_energy_long_work_runs_once():
    clock = FakeClock()
    meter = EstimatedCpuMeter(10.0, n_cpus=1, cpu_seconds=clock, clock=clock)
    reading, repeats = measure_energy(lambda: clock.advance(2.0), meter, clock=clock)
    assert repeats == 1 and "repeated" not in reading.notes
    with pytest.raises(ConfigError, match=r"^min_window_s: expected a number >= 0, got -1\.0$"):
        measure_energy(lambda: None, meter, min_window_s=-1.0, clock=clock)
    with pytest.raises(ConfigError, match=r"^max_repeats: expected a whole number >= 1, got 0$"):
        measure_energy(lambda: None, meter, max_repeats=0, clock=clock)


def test_measure_energy_respects_max_repeats():
    clock = FakeClock()
    meter = EstimatedCpuMeter(10.0, n_cpus=1, cpu_seconds=clock, clock=clock)
    reading, repeats = measure_energy(lambda: clock.advance(1e-6), meter, clock=clock, max_repeats=50)
    assert repeats == 50 and "still shorter" in reading.notes


def test_unavailable_error_is_effbench_error():
    assert issubclass(MeterUnavailableError, EffbenchError)
