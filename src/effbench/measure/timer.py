"""The timing protocol: warm-up, calibration, raw samples, adaptive stopping.

The clock is a parameter (``time.perf_counter`` by default), so unit tests drive the whole
protocol with a fake clock. What happens, in order:

1. Warm-up: call the function until both ``warmup_calls`` calls and ``warmup_s`` seconds are done.
2. Calibration: if one call (median of the warm-up calls) is shorter than ``min_block_s``, time
   blocks of k calls instead of single calls, k chosen so a block lasts about ``min_block_s``; each
   sample is then the block's time divided by k, and the result records ``block_size = k``.
3. Sampling with the garbage collector paused and ``sync()`` called before every timestamp, until
   the stopping rule says enough (see :func:`effbench.analysis.stats.precision_reached`): the
   confidence intervals of the median and of p99 are within ``rel_tol`` of their estimates, after at
   least ``min_samples`` samples and ``min_time_s`` seconds; or a bound is hit (``max_samples``,
   ``max_time_s``). ``stop_reason`` records which.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from effbench.errors import ConfigError

STOP_PRECISION = "precision"        # CI targets met after the minimum bounds
STOP_MAX_SAMPLES = "max_samples"
STOP_MAX_TIME = "max_time"


@dataclass(frozen=True)
class TimingConfig:
    warmup_calls: int = 3
    warmup_s: float = 0.02
    min_samples: int = 10
    max_samples: int = 100_000
    min_time_s: float = 0.05
    max_time_s: float = 1.0
    rel_tol: float = 0.05
    stop_quantiles: tuple[float, ...] = (0.5, 0.99)
    confidence: float = 0.95
    min_block_s: float = 20e-6
    check_every: int = 16

    def __post_init__(self):
        ints = {"warmup_calls": 0, "min_samples": 1, "max_samples": 1, "check_every": 1}
        for name, low in ints.items():
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ConfigError(f"timing.{name} must be an integer >= {low}; got {v!r}")
        for name in ("warmup_s", "min_time_s", "max_time_s", "min_block_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"timing.{name} must be a finite number of seconds >= 0; got {v!r}")
        if self.max_samples < self.min_samples:
            raise ConfigError(f"timing.max_samples ({self.max_samples}) must be >= timing.min_samples ({self.min_samples})")
        if self.max_time_s < self.min_time_s:
            raise ConfigError(f"timing.max_time_s ({self.max_time_s}) must be >= timing.min_time_s ({self.min_time_s})")
        if not 0 < self.rel_tol < 1:
            raise ConfigError(f"timing.rel_tol must be in (0, 1); got {self.rel_tol!r}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"timing.confidence must be in (0, 1); got {self.confidence!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TimingResult:
    samples_s: np.ndarray          # per-call seconds (block time / block_size when calibrated)
    block_size: int                # calls per timed sample; > 1 means calibration kicked in
    calibrated: bool
    warmup_calls: int
    warmup_time_s: float
    stop_reason: str
    elapsed_s: float               # wall time of the sampling phase
    rel_halfwidths: dict = field(default_factory=dict)  # quantile -> relative CI half-width at the stop
    clock: str = "time.perf_counter"

    @property
    def n_calls(self) -> int:
        return int(len(self.samples_s) * self.block_size)

    def meta(self) -> dict:
        return {
            "block_size": self.block_size,
            "calibrated": self.calibrated,
            "warmup_calls": self.warmup_calls,
            "warmup_time_s": self.warmup_time_s,
            "stop_reason": self.stop_reason,
            "sampling_time_s": self.elapsed_s,
            "n_samples": int(len(self.samples_s)),
            "n_calls": self.n_calls,
            "rel_halfwidths": {str(k): v for k, v in self.rel_halfwidths.items()},
            "clock": self.clock,
        }


def measure_latency(
    fn: Callable[[], Any],
    config: TimingConfig = TimingConfig(),
    *,
    sync: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    clock_name: str = "time.perf_counter",
) -> TimingResult:
    """Time ``fn()`` following the protocol described in the module docstring."""
    from effbench.analysis.stats import precision_reached

    sync = sync or (lambda: None)

    # 1. warm-up, timing each call to calibrate
    warm_times = []
    t_start = clock()
    while len(warm_times) < max(config.warmup_calls, 1) or (clock() - t_start) < config.warmup_s:
        sync()
        t0 = clock()
        fn()
        sync()
        warm_times.append(clock() - t0)
        if len(warm_times) >= 10_000:
            break
    warmup_time_s = clock() - t_start

    # 2. calibration
    per_call = float(np.median(warm_times)) if warm_times else 0.0
    block = 1
    if per_call < config.min_block_s:
        block = int(math.ceil(config.min_block_s / max(per_call, 1e-9)))
        block = max(1, min(block, 1_000_000))

    # 3. sampling
    samples: list[float] = []
    halfwidths: dict = {}
    reason = STOP_MAX_SAMPLES
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        began = clock()
        while True:
            sync()
            t0 = clock()
            if block == 1:
                fn()
            else:
                for _ in range(block):
                    fn()
            sync()
            t1 = clock()
            samples.append((t1 - t0) / block)
            n = len(samples)
            elapsed = t1 - began
            if n >= config.max_samples:
                reason = STOP_MAX_SAMPLES
                break
            if elapsed >= config.max_time_s:
                reason = STOP_MAX_TIME
                break
            if n >= config.min_samples and elapsed >= config.min_time_s and n % config.check_every == 0:
                ok, halfwidths = precision_reached(
                    np.asarray(samples), rel_tol=config.rel_tol, quantiles=config.stop_quantiles, confidence=config.confidence
                )
                if ok:
                    reason = STOP_PRECISION
                    break
        elapsed = clock() - began
    finally:
        if gc_was_enabled:
            gc.enable()
    arr = np.asarray(samples, dtype=np.float64)
    if reason != STOP_PRECISION:
        _, halfwidths = precision_reached(arr, rel_tol=config.rel_tol, quantiles=config.stop_quantiles, confidence=config.confidence)
    return TimingResult(
        samples_s=arr,
        block_size=block,
        calibrated=block > 1,
        warmup_calls=len(warm_times),
        warmup_time_s=warmup_time_s,
        stop_reason=reason,
        elapsed_s=elapsed,
        rel_halfwidths={float(k): float(v) for k, v in halfwidths.items()},
        clock=clock_name,
    )
