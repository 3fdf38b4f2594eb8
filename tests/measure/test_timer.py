"""The timing protocol driven by a fake clock: no sleeps, no wall-clock thresholds.

The fake clock only moves when the fake function "runs": ``fn`` adds its cost to the clock. Costs
are binary fractions (2**-k seconds) so that sums are exact and call counts are predictable.
"""

from __future__ import annotations

import gc
import json
import math

import numpy as np
import pytest

from effbench.analysis.stats import min_samples_for_quantile_ci
from effbench.errors import ConfigError
from effbench.measure.timer import (
    MAX_WARMUP_CALLS,
    STOP_MAX_SAMPLES,
    STOP_MAX_TIME,
    STOP_MAX_TIME_SHORT,
    STOP_PRECISION,
    TimingConfig,
    block_size_for,
    measure_latency,
)

MS = 2.0**-10   # ~0.98 ms, exact in binary
US = 2.0**-20   # ~0.95 us


class FakeClock:
    """A clock that records every read, a sync that records every call, and functions that cost time."""

    def __init__(self):
        self.t = 0.0
        self.events: list[str] = []
        self.calls = 0
        self.gc_during_calls: list[bool] = []

    def __call__(self) -> float:
        self.events.append("clock")
        return self.t

    def sync(self):
        self.events.append("sync")

    def fn(self, cost):
        """A function whose i-th call costs ``cost(i)`` seconds (or a constant)."""
        costs = cost if callable(cost) else (lambda i: cost)

        def run():
            self.events.append("call")
            self.gc_during_calls.append(gc.isenabled())
            self.t += costs(self.calls)
            self.calls += 1

        return run


def measure(clock, cost, **cfg):
    return measure_latency(clock.fn(cost), TimingConfig(**cfg), sync=clock.sync, clock=clock, clock_name="fake")


# -- warm-up ------------------------------------------------------------------------------------


def test_warmup_count_bound():
    clock = FakeClock()
    r = measure(clock, MS, warmup_calls=7, warmup_s=0.0, min_samples=1, max_samples=5)
    assert r.warmup_calls == 7
    assert r.warmup_time_s == 7 * MS
    assert not r.warmup_capped
    assert clock.calls == 7 + 5


def test_warmup_time_bound():
    clock = FakeClock()
    r = measure(clock, MS, warmup_calls=1, warmup_s=10 * MS, min_samples=1, max_samples=5)
    assert r.warmup_calls == 10          # both bounds: 1 call is not enough, 10 calls fill warmup_s
    assert r.warmup_time_s == 10 * MS


def test_warmup_is_capped_for_free_calls_and_says_so():
    clock = FakeClock()
    r = measure(clock, 0.0, warmup_calls=1, warmup_s=1.0, min_samples=1, max_samples=3, min_block_s=0.0)
    assert r.warmup_calls == MAX_WARMUP_CALLS
    assert r.warmup_capped and r.meta()["warmup_capped"] is True


# -- calibration ----------------------------------------------------------------------------------


def test_fast_calls_are_timed_in_blocks_and_block_size_recorded():
    clock = FakeClock()
    r = measure(clock, US, warmup_calls=3, warmup_s=0.0, min_samples=4, max_samples=4, min_block_s=20e-6)
    k = math.ceil(20e-6 / US)  # 21 calls of ~0.95 us fill 20 us
    assert r.block_size == k == block_size_for(US, 20e-6)
    assert r.calibrated and r.meta()["block_size"] == k and r.meta()["calibrated"] is True
    assert r.n_calls == 4 * k and clock.calls == 3 + 4 * k
    np.testing.assert_allclose(r.samples_s, US)   # per-call seconds: block time / k


def test_slow_calls_are_not_blocked():
    clock = FakeClock()
    r = measure(clock, MS, min_samples=3, max_samples=3, min_block_s=20e-6)
    assert r.block_size == 1 and not r.calibrated
    assert block_size_for(0.0, 20e-6) > 1 and block_size_for(1.0, 0.0) == 1


# -- stopping rule --------------------------------------------------------------------------------


def test_stops_when_precision_reached_after_min_bounds():
    clock = FakeClock()
    r = measure(clock, MS, min_samples=10, min_time_s=0.05, max_time_s=100.0)
    assert r.stop_reason == STOP_PRECISION
    # p99 has an order-statistic interval only from 368 samples at 95%: the rule cannot stop before
    assert len(r.samples_s) >= min_samples_for_quantile_ci(0.99, 0.95)
    assert all(w <= 0.05 for w in r.rel_halfwidths.values())
    # checked at geometrically growing counts, not after every sample
    assert r.checks <= math.ceil(math.log(len(r.samples_s) / 16) / math.log(1.1)) + 2


def test_min_samples_and_min_time_respected_before_precision():
    clock = FakeClock()
    r = measure(clock, MS, min_samples=1000, min_time_s=0.0, max_time_s=100.0)
    assert r.stop_reason == STOP_PRECISION and len(r.samples_s) >= 1000
    clock = FakeClock()
    r = measure(clock, MS, min_samples=10, min_time_s=3.0, max_time_s=100.0)
    assert r.stop_reason == STOP_PRECISION and r.elapsed_s >= 3.0


def test_max_samples_bound():
    rng = np.random.default_rng(0)
    noisy = rng.lognormal(-7, 1.0, 100_000)
    clock = FakeClock()
    r = measure(clock, lambda i: float(noisy[i]), min_samples=10, max_samples=200, max_time_s=1e6, min_time_s=0.0)
    assert r.stop_reason == STOP_MAX_SAMPLES and len(r.samples_s) == 200
    assert math.isinf(r.rel_halfwidths[0.99])    # 200 samples: no p99 interval; reported, not invented


def test_max_time_bound():
    clock = FakeClock()
    r = measure(clock, 0.125, min_samples=2, min_time_s=0.0, max_time_s=1.0, warmup_calls=1, warmup_s=0.0)
    assert r.stop_reason == STOP_MAX_TIME
    assert len(r.samples_s) == 8 and r.elapsed_s == 1.0


def test_max_time_wins_over_min_samples():
    # 0.5 s calls, max_time 1 s, min_samples 5: sampling stops after 2 samples (1.0 s), not 5 (2.5 s)
    clock = FakeClock()
    r = measure(clock, 0.5, min_samples=5, min_time_s=0.0, max_time_s=1.0, warmup_calls=1, warmup_s=0.0)
    assert r.stop_reason == STOP_MAX_TIME_SHORT and len(r.samples_s) == 2 and r.elapsed_s == 1.0
    assert r.meta()["stop_reason"] == "max_time_before_min_samples"
    assert math.isinf(r.rel_halfwidths[0.5])     # 2 samples: no interval of the median; reported as such


def test_warm_up_of_a_slow_model_ends_at_max_time():
    # 0.75 s calls, 3 warm-up calls asked, max_time 1 s: two warm-up calls (1.5 s), then sampling stops at 1 s
    clock = FakeClock()
    r = measure(clock, 0.75, min_samples=10, min_time_s=0.0, max_time_s=1.0, warmup_calls=3, warmup_s=0.0)
    assert r.warmup_calls == 2 and r.warmup_cut_by_max_time and r.meta()["warmup_cut_by_max_time"]
    assert r.stop_reason == STOP_MAX_TIME_SHORT and len(r.samples_s) == 2
    assert clock.calls == 4                      # 10 + 3 calls before max_time won


def test_a_sample_is_never_cut_short():
    # one call longer than max_time: exactly one sample is taken, and the bound is overshot by that call only
    clock = FakeClock()
    r = measure(clock, 4.0, min_samples=10, min_time_s=0.0, max_time_s=1.0, warmup_calls=1, warmup_s=0.0)
    assert r.stop_reason == STOP_MAX_TIME_SHORT and len(r.samples_s) == 1 and r.elapsed_s == 4.0


def test_max_time_after_min_samples_is_plain_max_time():
    clock = FakeClock()
    r = measure(clock, 0.25, min_samples=4, min_time_s=0.0, max_time_s=1.0, warmup_calls=1, warmup_s=0.0)
    assert r.stop_reason == STOP_MAX_TIME and len(r.samples_s) == 4


# -- hygiene: GC and sync ------------------------------------------------------------------------


def test_gc_paused_during_sampling_and_restored():
    assert gc.isenabled()
    clock = FakeClock()
    r = measure(clock, MS, warmup_calls=3, warmup_s=0.0, min_samples=20, max_samples=20)
    sampling = clock.gc_during_calls[r.warmup_calls:]
    assert len(sampling) == 20 and not any(sampling)
    assert all(clock.gc_during_calls[: r.warmup_calls])
    assert gc.isenabled()


def test_gc_restored_when_the_function_raises():
    clock = FakeClock()
    inner = clock.fn(MS)

    def boom():
        inner()
        if clock.calls > 5:
            raise RuntimeError("model failed")

    with pytest.raises(RuntimeError):
        measure_latency(boom, TimingConfig(warmup_calls=3, warmup_s=0.0), sync=clock.sync, clock=clock)
    assert gc.isenabled()


def test_sync_immediately_before_every_timestamp():
    clock = FakeClock()
    measure(clock, MS, warmup_calls=3, warmup_s=0.0, min_samples=30, max_samples=30)
    ev = clock.events
    assert ev.count("clock") > 60
    for i, e in enumerate(ev):
        if e == "clock":
            assert i > 0 and ev[i - 1] == "sync", f"clock read {i} not preceded by sync: {ev[max(0, i - 3): i + 1]}"
    # and no clock read sees an unfinished call: every call is followed by a sync before the next read
    for i, e in enumerate(ev):
        if e == "call":
            nxt = next(x for x in ev[i + 1:] if x in ("clock", "sync"))
            assert nxt == "sync"


def test_sync_also_in_block_mode():
    clock = FakeClock()
    measure(clock, US, warmup_calls=3, warmup_s=0.0, min_samples=5, max_samples=5)
    ev = clock.events
    assert all(ev[i - 1] == "sync" for i, e in enumerate(ev) if e == "clock")


def test_meta_is_json_ready():
    clock = FakeClock()
    r = measure(clock, MS, min_samples=5, max_samples=5)
    meta = json.loads(json.dumps(r.meta()))
    assert meta["stop_reason"] == STOP_MAX_SAMPLES and meta["n_samples"] == 5 and meta["clock"] == "fake"


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"warmup_calls": -1}, "timing.warmup_calls"),
        ({"min_samples": 0}, "timing.min_samples"),
        ({"max_samples": 2.5}, "timing.max_samples"),
        ({"check_every": True}, "timing.check_every"),
        ({"warmup_s": -0.1}, "timing.warmup_s"),
        ({"max_time_s": float("inf")}, "timing.max_time_s"),
        ({"min_block_s": "1"}, "timing.min_block_s"),
        ({"min_samples": 20, "max_samples": 10}, "timing.max_samples"),
        ({"min_time_s": 2.0, "max_time_s": 1.0}, "timing.max_time_s"),
        ({"rel_tol": 0.0}, "timing.rel_tol"),
        ({"rel_tol": "5%"}, "timing.rel_tol"),
        ({"confidence": 1.0}, "timing.confidence"),
        ({"stop_quantiles": ()}, "timing.stop_quantiles"),
        ({"stop_quantiles": (0.5, 1.0)}, "timing.stop_quantiles"),
    ],
)
def test_config_validation(kwargs, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as info:
        TimingConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_config_round_trips_through_a_dict():
    cfg = TimingConfig(stop_quantiles=[0.5, 0.9])
    assert cfg.stop_quantiles == (0.5, 0.9)
    assert TimingConfig(**cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="TimingConfig"):
        measure_latency(lambda: None, {"max_time_s": 1.0})


# -- the environment recorded beside every timing --------------------------------------------------


def test_environment_records_what_can_change_a_timing():
    from effbench.measure.environment import collect_environment

    env = json.loads(json.dumps(collect_environment(threads=1)))
    for key in ("cpu", "cores_logical", "cores_physical", "affinity", "threading", "libraries", "load_average", "clock", "gpu", "gpu_note"):
        assert key in env
    for key in ("model", "flags", "flags_relevant", "governor", "turbo", "scaling_driver", "max_khz"):
        assert key in env["cpu"]
    assert env["threading"]["threads_per_candidate"] == 1 and env["threading"]["default"] == 1
    assert env["clock"]["name"] == "time.perf_counter" and env["clock"]["resolution_s"] > 0


def test_gpu_info_through_a_fake_nvml(monkeypatch):
    import sys
    import types

    from effbench.measure.environment import gpu_info

    fake = types.SimpleNamespace(
        NVML_CLOCK_SM=0, NVML_CLOCK_MEM=1, NVML_TEMPERATURE_GPU=0,
        nvmlInit=lambda: None, nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"550.54", nvmlSystemGetCudaDriverVersion=lambda: 12040,
        nvmlDeviceGetCount=lambda: 1, nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: "NVIDIA H100", nvmlDeviceGetClockInfo=lambda h, c: 1980 if c == 0 else 2619,
        nvmlDeviceGetMaxClockInfo=lambda h, c: 1980,
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(total=80 * 2**30),
        nvmlDeviceGetPowerManagementLimit=lambda h: 700_000,
        nvmlDeviceGetPersistenceMode=lambda h: 1, nvmlDeviceGetPerformanceState=lambda h: 0,
    )  # no nvmlDeviceGetTemperature: an unsupported reading becomes None
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpus, note = gpu_info(with_note=True)
    assert note is None
    (g,) = gpus
    assert g["name"] == "NVIDIA H100" and g["driver"] == "550.54" and g["cuda_driver"] == "12.4"
    assert g["sm_clock_mhz"] == 1980 and g["mem_clock_mhz"] == 2619 and g["power_limit_w"] == 700.0
    assert g["temperature_c"] is None
    monkeypatch.setitem(sys.modules, "pynvml", None)   # import fails
    assert gpu_info(with_note=True) == ([], "nvidia-ml-py is not installed: GPUs, if any, are not described")
