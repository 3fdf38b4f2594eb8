"""The timing protocol: warm-up, calibration, raw samples, adaptive stopping.

The clock is a parameter (``time.perf_counter`` by default), so unit tests drive the whole
protocol with a fake clock. What happens, in order:

1. Warm-up: call the function until both ``warmup_calls`` calls and ``warmup_s`` seconds are done
   (at most ``MAX_WARMUP_CALLS`` calls: a no-op would otherwise need millions of calls to fill
   ``warmup_s``; ``warmup_capped`` in the result says when the cap ended the warm-up). The warm-up
   also ends, after at least one call, once it has lasted ``max_time_s`` (``warmup_cut_by_max_time``),
   so a slow model's warm-up takes at most about ``max_time_s`` plus one call.
2. Calibration: if one call (median of the warm-up calls) is shorter than ``min_block_s``, time
   blocks of k calls instead of single calls, k chosen so a block lasts about ``min_block_s``; each
   sample is then the block's time divided by k, and the result records ``block_size = k``.
   Quantiles of such samples are quantiles of k-call means, not of single calls.
3. Sampling with the garbage collector paused (collected once just before) and ``sync()`` called
   immediately before every clock read, so no timestamp is taken on an unfinished asynchronous
   call. Sampling stops when the stopping rule says enough (see
   :func:`effbench.estimates.precision_reached`): the confidence intervals of the median and
   of p99 are within ``rel_tol`` of their estimates, after at least ``min_samples`` samples and
   ``min_time_s`` seconds; or a bound is hit: ``max_samples``, or ``max_time_s``. **``max_time_s``
   wins over ``min_samples``**: a sample (one call, or one block) is never cut short, so sampling
   always takes at least one sample and overshoots ``max_time_s`` by at most one sample, but once
   ``max_time_s`` has passed it stops even when fewer than ``min_samples`` were taken; the stop
   reason is then ``max_time_before_min_samples`` (``STOP_MAX_TIME_SHORT``) and the precision it
   reached is in ``rel_halfwidths`` (``inf`` where no interval exists). ``stop_reason`` records which. The rule is checked when the sample count has grown by 10% (and
   at least ``check_every`` samples) since the last check, so its O(n) cost stays O(n) in total.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from effbench.errors import ConfigError
from effbench.estimates import STOP_MAX_TIME_SHORT  # max_time_s passed before min_samples samples were taken

STOP_PRECISION = "precision"        # CI targets met after the minimum bounds
STOP_MAX_SAMPLES = "max_samples"
STOP_MAX_TIME = "max_time"
STOP_REASONS = (STOP_PRECISION, STOP_MAX_SAMPLES, STOP_MAX_TIME, STOP_MAX_TIME_SHORT)

MAX_WARMUP_CALLS = 10_000
MAX_BLOCK_SIZE = 1_000_000
CHECK_GROWTH = 1.1                  # check the stopping rule each time n grows by 10%


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
        if not isinstance(self.rel_tol, (int, float)) or isinstance(self.rel_tol, bool):
            raise ConfigError(f"timing.rel_tol must be a number in (0, 1); got {self.rel_tol!r}")
        if not 0 < self.rel_tol < 1:
            raise ConfigError(f"timing.rel_tol must be in (0, 1); got {self.rel_tol!r}")
        if not isinstance(self.confidence, (int, float)) or isinstance(self.confidence, bool) or not 0 < self.confidence < 1:
            raise ConfigError(f"timing.confidence must be in (0, 1); got {self.confidence!r}")
        qs = self.stop_quantiles
        if (not isinstance(qs, (tuple, list)) or not qs
                or not all(isinstance(q, (int, float)) and not isinstance(q, bool) and 0 < q < 1 for q in qs)):
            raise ConfigError(f"timing.stop_quantiles must be a non-empty list of numbers in (0, 1); got {qs!r}")
        object.__setattr__(self, "stop_quantiles", tuple(float(q) for q in qs))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TimingResult:
    samples_s: np.ndarray          # per-call seconds (block time / block_size when calibrated)
    block_size: int                # calls per timed sample; > 1 means calibration kicked in
    calibrated: bool
    warmup_calls: int
    warmup_time_s: float
    stop_reason: str               # one of STOP_REASONS
    elapsed_s: float               # wall time of the sampling phase
    rel_halfwidths: dict = field(default_factory=dict)  # quantile -> relative CI half-width at the stop
    clock: str = "time.perf_counter"
    warmup_capped: bool = False    # the warm-up ended at MAX_WARMUP_CALLS before warmup_s was reached
    warmup_cut_by_max_time: bool = False  # the warm-up ended at max_time_s before warmup_calls/warmup_s were done
    checks: int = 0                # how many times the stopping rule was evaluated

    @property
    def n_calls(self) -> int:
        return int(len(self.samples_s) * self.block_size)

    def meta(self) -> dict:
        return {
            "block_size": self.block_size,
            "calibrated": self.calibrated,
            "warmup_calls": self.warmup_calls,
            "warmup_time_s": self.warmup_time_s,
            "warmup_capped": self.warmup_capped,
            "warmup_cut_by_max_time": self.warmup_cut_by_max_time,
            "stop_reason": self.stop_reason,
            "sampling_time_s": self.elapsed_s,
            "n_samples": int(len(self.samples_s)),
            "n_calls": self.n_calls,
            "rel_halfwidths": {str(k): v for k, v in self.rel_halfwidths.items()},
            "stopping_checks": self.checks,
            "clock": self.clock,
            "gc": "collected before sampling, disabled during sampling",
        }


def block_size_for(per_call_s: float, min_block_s: float) -> int:
    """Calls per timed sample: 1 when one call lasts ``min_block_s`` or more, else enough calls to fill it."""
    if per_call_s >= min_block_s:
        return 1
    return max(1, min(int(math.ceil(min_block_s / max(per_call_s, 1e-9))), MAX_BLOCK_SIZE))


def measure_latency(
    fn: Callable[[], Any],
    config: TimingConfig = TimingConfig(),
    *,
    sync: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    clock_name: str = "time.perf_counter",
) -> TimingResult:
    """Time ``fn()`` following the protocol described in the module docstring.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called immediately before every read of
    ``clock``; ``clock`` returns seconds.
    """
    from effbench.estimates import precision_reached

    if not isinstance(config, TimingConfig):
        raise ConfigError(f"config must be a TimingConfig; got {type(config).__name__}")
    sync = sync or (lambda: None)

    def stamp() -> float:
        sync()
        return clock()

    warm_times, warmup_time_s, capped, cut = _warm_up(fn, stamp, config)
    block = block_size_for(float(np.median(warm_times)), config.min_block_s)
    rule = functools.partial(precision_reached, rel_tol=config.rel_tol, quantiles=config.stop_quantiles, confidence=config.confidence)
    # the stopping rule imports scipy.stats on first use (about a second): do it now, not inside the
    # sampling window, where it would count against max_time_s
    import scipy.stats  # noqa: F401

    rule(np.asarray(warm_times))
    sampling = _Sampling(fn, stamp, block, config, rule).run()
    arr = np.asarray(sampling.samples, dtype=np.float64)
    halfwidths = sampling.halfwidths if sampling.reason == STOP_PRECISION else rule(arr)[1]
    return TimingResult(
        samples_s=arr,
        block_size=block,
        calibrated=block > 1,
        warmup_calls=len(warm_times),
        warmup_time_s=warmup_time_s,
        stop_reason=sampling.reason,
        elapsed_s=sampling.elapsed_s,
        rel_halfwidths={float(k): float(v) for k, v in halfwidths.items()},
        clock=clock_name,
        warmup_capped=capped,
        warmup_cut_by_max_time=cut,
        checks=sampling.checks,
    )


def _warm_up(fn, stamp, config: TimingConfig) -> tuple[list[float], float, bool, bool]:
    """Phase 1: call ``fn`` until ``warmup_calls`` calls and ``warmup_s`` seconds are done, timing each
    call (for the calibration), at most MAX_WARMUP_CALLS calls and, after the first call, at most
    ``max_time_s``. Returns (call times, warm-up time, capped by the call count, cut by max_time_s)."""
    warm_times: list[float] = []
    capped = cut = False
    t_start = stamp()
    now = t_start
    while len(warm_times) < max(config.warmup_calls, 1) or (now - t_start) < config.warmup_s:
        if len(warm_times) >= MAX_WARMUP_CALLS:
            capped = True
            break
        if warm_times and now - t_start >= config.max_time_s:
            cut = True
            break
        t0 = stamp()
        fn()
        now = stamp()
        warm_times.append(now - t0)
    return warm_times, now - t_start, capped, cut


@contextmanager
def _gc_paused():
    """The garbage collector collected once, then disabled until the block ends (re-enabled if it was)."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Sampling:
    """Phase 3: samples of ``block`` calls each, the GC paused, until a bound is hit or the stopping rule
    is satisfied. After :meth:`run`: ``samples`` (seconds per call), ``reason``, ``elapsed_s``,
    ``checks`` and the ``halfwidths`` of the last check."""

    def __init__(self, fn, stamp, block: int, config: TimingConfig, rule):
        self.fn, self.stamp, self.block, self.config, self.rule = fn, stamp, block, config, rule
        self.samples: list[float] = []
        self.halfwidths: dict = {}
        self.reason = STOP_MAX_SAMPLES
        self.checks = 0
        self.elapsed_s = 0.0
        self._next_check = max(config.min_samples, config.check_every)

    def run(self) -> _Sampling:
        with _gc_paused():
            began = self.stamp()
            while True:
                t0 = self.stamp()
                self._call_block()
                t1 = self.stamp()
                self.samples.append((t1 - t0) / self.block)
                reason = self._stop(len(self.samples), t1 - began)
                if reason is not None:
                    self.reason = reason
                    break
            self.elapsed_s = t1 - began
        return self

    def _call_block(self) -> None:
        if self.block == 1:
            self.fn()
        else:
            for _ in range(self.block):
                self.fn()

    def _stop(self, n: int, elapsed: float) -> str | None:
        """The stop reason after ``n`` samples and ``elapsed`` seconds, or None to go on."""
        c = self.config
        if n >= c.max_samples:
            return STOP_MAX_SAMPLES
        if elapsed >= c.max_time_s:  # the time bound wins over the minimum count
            return STOP_MAX_TIME if n >= c.min_samples else STOP_MAX_TIME_SHORT
        if n < c.min_samples:
            return None
        if n >= self._next_check and elapsed >= c.min_time_s:
            self.checks += 1
            ok, self.halfwidths = self.rule(np.asarray(self.samples))
            if ok:
                return STOP_PRECISION
            self._next_check = max(n + c.check_every, int(math.ceil(n * CHECK_GROWTH)))
        return None
