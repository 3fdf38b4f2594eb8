"""The batching study: which batch size serves an arrival rate within a latency objective at
the least energy per sample?

Pure: arrays in, results out; no I/O, no clock, no printing. Seeded.

Inputs are measured per-batch service times (raw samples, seconds per batch) and energy per
batch at several batch sizes (:class:`BatchProfile`). The queue is simulated with those
samples for a stream of requests (Poisson arrivals by default, or deterministic ones):

* ``fixed`` batch size B: the server waits until B requests are queued and serves them
  together. Response time = wait to fill the batch + queueing behind earlier batches +
  service. The recursion ``finish_j = max(ready_j, finish_{j-1}) + S_j`` (Lindley's) is
  solved in closed form with a cumulative maximum, fully vectorised.
* ``dynamic`` batching as serving systems do it (Triton's ``max_queue_delay``, TorchServe's
  ``max_batch_delay``): when the server is free, a batch starts as soon as B requests are
  waiting or the oldest waiting one has waited ``max_wait_s``, whichever is first, and takes
  every waiting request up to B. A batch of a size k that was not measured gets a service
  time interpolated between the nearest measured sizes below and above, quantile by quantile
  (the same uniform draw u gives ``(1-w) Q_lo(u) + w Q_hi(u)``, ``w = (k-lo)/(hi-lo)``), and
  energy interpolated linearly the same way; below the smallest measured size, the smallest
  size's samples and energy are used (conservative when time grows with batch size).

A setting whose arrival rate is at or above its capacity (B / mean service time of a full
batch) is reported unstable and not simulated: its queue would grow without bound.

Energy per sample = (energy of the simulated batches + ``idle_power_w`` x the server's idle
time) / requests. Give ``idle_power_w`` when the energy per batch is the machine's total (idle
baseline included, as effbench's ``energy_per_batch_j``): idle time then costs what the machine
draws, which would otherwise favour large batches that wait long to fill.

Validation: M/D/1 (B = 1, constant service D, Poisson arrivals) has mean wait
``Wq = rho D / (2 (1 - rho))``; M/M/1 has ``Wq = rho / (mu - lambda)``. The tests check both.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.numbers import fmt_count, fmt_seconds, fmt_si
from effbench.validation import Interval, Options, check, check_seed

__all__ = [
    "BatchProfile",
    "LatencyObjective",
    "SettingResult",
    "Recommendation",
    "make_profiles",
    "batch_size_table",
    "simulate_fixed",
    "simulate_dynamic",
    "evaluate_settings",
    "recommend_batch_size",
    "DEFAULT_MAX_WAIT_FRACTIONS",
]

ARRIVALS = ("poisson", "deterministic")
POLICIES = ("fixed", "dynamic")
_POSITIVE = Interval(float, 0, None, closed="neither")
#: Default max-wait grid for dynamic batching, as fractions of the latency bound.
DEFAULT_MAX_WAIT_FRACTIONS = (0.0, 0.05, 0.1, 0.25, 0.5)


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProfile:
    """Measurements at one batch size: raw service-time samples and energy per batch."""

    batch_size: int
    service_times_s: np.ndarray
    energy_per_batch_j: float
    energy_provenance: str = "measured"

    def __post_init__(self):
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise DataError(f"batch_size: must be an integer >= 1; got {self.batch_size!r}")
        s = np.asarray(self.service_times_s, dtype=float).ravel()
        if s.size == 0:
            raise DataError(f"service_times_s: batch size {self.batch_size} has no samples")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise DataError(f"service_times_s: batch size {self.batch_size} needs finite samples > 0 s")
        object.__setattr__(self, "service_times_s", np.sort(s))
        e = self.energy_per_batch_j
        if isinstance(e, bool) or not isinstance(e, (int, float, np.floating)) or not math.isfinite(e) or e < 0:
            raise DataError(f"energy_per_batch_j: batch size {self.batch_size} needs a finite value >= 0; got {e!r}")
        object.__setattr__(self, "energy_per_batch_j", float(e))
        if self.energy_provenance not in ("measured", "estimated"):
            raise DataError(
                f"energy_provenance: must be 'measured' or 'estimated'; got {self.energy_provenance!r} "
                f"at batch size {self.batch_size}"
            )

    @property
    def mean_service_s(self) -> float:
        return float(self.service_times_s.mean())


def make_profiles(
    service_times_s: Mapping[int, Sequence[float]],
    energy_per_batch_j: Mapping[int, float | Sequence[float]],
    energy_provenance: str | Mapping[int, str] = "measured",
) -> list[BatchProfile]:
    """Profiles from ``{batch size: service-time samples}`` and ``{batch size: energy (or samples)}``.

    Energy samples are averaged (one energy per batch size is what the simulation uses).
    """
    if not service_times_s:
        raise DataError("service_times_s: need samples for at least one batch size; got none")
    missing = sorted(set(service_times_s) - set(energy_per_batch_j))
    if missing:
        raise DataError(f"energy_per_batch_j: missing for batch size(s) {missing}")
    profiles = []
    for b in sorted(service_times_s):
        e = energy_per_batch_j[b]
        e_arr = np.asarray(e, dtype=float).ravel()
        if e_arr.size == 0:
            raise DataError(f"energy_per_batch_j: batch size {b} has no samples")
        prov = energy_provenance[b] if isinstance(energy_provenance, Mapping) else energy_provenance
        profiles.append(BatchProfile(int(b), np.asarray(service_times_s[b], dtype=float), float(e_arr.mean()), prov))
    return profiles


@dataclass(frozen=True)
class LatencyObjective:
    """``percentile`` of the response time must be at most ``bound_s`` (e.g. p99 <= 50 ms)."""

    bound_s: float
    percentile: float = 99.0

    def __post_init__(self):
        object.__setattr__(self, "bound_s", check("latency objective bound_s", self.bound_s, _POSITIVE))
        object.__setattr__(self, "percentile", check("latency objective percentile", self.percentile,
                                                     Interval(float, 0, 100, closed="neither")))

    @property
    def label(self) -> str:
        return f"p{self.percentile:g} <= {self.bound_s * 1e3:g} ms"


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingResult:
    """One simulated serving setting. Response times are simulated from measured samples."""

    policy: str
    batch_size: int
    max_wait_s: float | None
    arrival_rate_per_s: float
    arrivals: str
    stable: bool
    capacity_per_s: float
    utilisation: float
    throughput_per_s: float
    response_p50_s: float
    response_p99_s: float
    percentile: float
    response_at_percentile_s: float
    mean_response_s: float
    mean_wait_s: float
    mean_batch_size: float
    energy_per_sample_j: float
    energy_provenance: str
    meets_objective: bool
    margin_s: float
    margin_pct: float
    n_requests: int
    notes: str = ""

    @property
    def label(self) -> str:
        if self.policy == "fixed":
            return f"fixed B={self.batch_size}"
        return f"dynamic B<={self.batch_size}, max wait {self.max_wait_s * 1e3:g} ms"

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in out.items():  # JSON has no infinity: an unstable queue's times become None
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        out["label"] = self.label
        return out


@dataclass(frozen=True)
class Recommendation:
    """The setting with the least energy per sample among those meeting the objective.

    ``best`` is None when no setting meets it; ``closest`` is then the stable setting with the
    smallest response time at the percentile (or, if none is stable, the highest capacity).
    """

    objective: LatencyObjective
    arrival_rate_per_s: float
    best: SettingResult | None
    closest: SettingResult | None
    settings: list[SettingResult] = field(default_factory=list)
    idle_power_w: float = 0.0  # added x the server's idle time to the energy of the batches

    @property
    def energy_basis(self) -> str:
        """How energy per sample was counted (also in :meth:`to_dict` and the summary)."""
        if self.idle_power_w > 0:
            return (f"energy per sample = (energy of the batches + idle power {self.idle_power_w:.4g} W "
                    "x the server's idle time) / requests")
        return "energy per sample = energy of the batches / requests (idle time not counted)"

    @property
    def meeting(self) -> list[SettingResult]:
        return [s for s in self.settings if s.meets_objective]

    @property
    def summary(self) -> str:
        obj = self.objective.label
        if self.best is not None:
            b = self.best
            idle = f" incl. idle {fmt_si(self.idle_power_w, 'W')}" if self.idle_power_w > 0 else ""
            return (
                f"{b.label}: {fmt_si(b.energy_per_sample_j, 'J')}/sample ({b.energy_provenance}{idle}), "
                f"p{b.percentile:g} {fmt_seconds(b.response_at_percentile_s)} meets {obj} with "
                f"{fmt_seconds(b.margin_s)} ({b.margin_pct:.1f} %) to spare; "
                f"{len(self.meeting)} of {len(self.settings)} settings meet it"
            )
        c = self.closest
        if c is None:
            return f"no setting meets {obj}"
        if not c.stable:
            return (
                f"no setting meets {obj}: every setting is unstable at {self.arrival_rate_per_s:g} requests/s; "
                f"the largest capacity is {fmt_count(c.capacity_per_s)} requests/s ({c.label})"
            )
        return (
            f"no setting meets {obj}; closest is {c.label} at p{c.percentile:g} "
            f"{fmt_seconds(c.response_at_percentile_s)} ({fmt_seconds(-c.margin_s)}, {-c.margin_pct:.1f} % over)"
        )

    def to_dict(self) -> dict:
        return {
            "objective": {"percentile": self.objective.percentile, "bound_s": self.objective.bound_s},
            "arrival_rate_per_s": self.arrival_rate_per_s,
            "best": None if self.best is None else self.best.to_dict(),
            "closest": None if self.closest is None else self.closest.to_dict(),
            "settings": [s.to_dict() for s in self.settings],
            "idle_power_w": self.idle_power_w,
            "energy_per_sample_from": self.energy_basis,
            "summary": self.summary,
        }


# --------------------------------------------------------------------------------------
# Service-time model (measured sizes + interpolation)
# --------------------------------------------------------------------------------------


class _ServiceModel:
    def __init__(self, profiles: Sequence[BatchProfile]):
        if not profiles:
            raise DataError("profiles: need at least one batch size; got none")
        by_size: dict[int, BatchProfile] = {}
        for p in profiles:
            if not isinstance(p, BatchProfile):
                raise DataError(f"profiles: expected BatchProfile items; got {type(p).__name__}")
            if p.batch_size in by_size:
                raise DataError(f"profiles: batch size {p.batch_size} given twice")
            by_size[p.batch_size] = p
        self.by_size = by_size
        self.sizes = sorted(by_size)
        self.max_size = self.sizes[-1]
        provs = {p.energy_provenance for p in profiles}
        self.energy_provenance = "measured" if provs == {"measured"} else "estimated"

    def plan(self, k: int) -> tuple[BatchProfile, BatchProfile, float]:
        """(lower profile, upper profile, weight of the upper) for a batch of k requests."""
        if k in self.by_size:
            p = self.by_size[k]
            return p, p, 0.0
        if k < self.sizes[0]:
            p = self.by_size[self.sizes[0]]
            return p, p, 0.0
        if k > self.max_size:
            raise ConfigError(f"batch_size: at most the largest measured size {self.max_size}; got {k}")
        i = bisect_right(self.sizes, k)
        lo, hi = self.sizes[i - 1], self.sizes[i]
        return self.by_size[lo], self.by_size[hi], (k - lo) / (hi - lo)

    def energy(self, k: int) -> float:
        lo, hi, w = self.plan(k)
        return (1 - w) * lo.energy_per_batch_j + w * hi.energy_per_batch_j

    def mean_service(self, k: int) -> float:
        lo, hi, w = self.plan(k)
        return (1 - w) * lo.mean_service_s + w * hi.mean_service_s

    def draw(self, k: int, u: np.ndarray) -> np.ndarray:
        """Service times for batches of k requests from uniforms u (quantile interpolation)."""
        lo, hi, w = self.plan(k)
        s_lo = lo.service_times_s[np.minimum((u * lo.service_times_s.size).astype(np.int64), lo.service_times_s.size - 1)]
        if w == 0.0:
            return s_lo
        s_hi = hi.service_times_s[np.minimum((u * hi.service_times_s.size).astype(np.int64), hi.service_times_s.size - 1)]
        return (1 - w) * s_lo + w * s_hi


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_rate(rate) -> float:
    return check("arrival_rate_per_s", rate, _POSITIVE)


def _check_common(n_requests, arrivals, warmup_fraction, idle_power_w) -> None:
    check("n_requests", n_requests, Interval(int, 100, None))
    check("arrivals", arrivals, Options(ARRIVALS))
    check("warmup_fraction", warmup_fraction, Interval(float, 0, 0.5, closed="left"))
    check("idle_power_w", idle_power_w, Interval(float, 0, None))


def _arrival_times(rate: float, n: int, arrivals: str, rng: np.random.Generator) -> np.ndarray:
    if arrivals == "poisson":
        return np.cumsum(rng.exponential(1.0 / rate, size=n))
    return np.arange(1, n + 1, dtype=float) / rate


def _as_model(profiles) -> _ServiceModel:
    return profiles if isinstance(profiles, _ServiceModel) else _ServiceModel(list(profiles))


# --------------------------------------------------------------------------------------
# Summaries shared by both policies
# --------------------------------------------------------------------------------------


def _summarise(
    *,
    policy: str,
    batch_size: int,
    max_wait_s: float | None,
    rate: float,
    arrivals_kind: str,
    capacity: float,
    a: np.ndarray,
    batch_sizes: np.ndarray,
    start: np.ndarray,
    finish: np.ndarray,
    service: np.ndarray,
    energy: np.ndarray,
    provenance: str,
    objective: LatencyObjective | None,
    warmup_fraction: float,
    idle_power_w: float,
    notes: str,
) -> SettingResult:
    n = int(batch_sizes.sum())
    a = a[:n]
    finish_req = np.repeat(finish, batch_sizes)
    start_req = np.repeat(start, batch_sizes)
    keep = slice(int(n * warmup_fraction), n)
    resp = finish_req[keep] - a[keep]
    wait = start_req[keep] - a[keep]
    q = objective.percentile if objective is not None else 99.0
    p50, p99, pq = np.percentile(resp, [50.0, 99.0, q])
    span = float(finish[-1] - a[0])
    busy = float(service.sum())
    utilisation = busy / span if span > 0 else float("nan")
    idle_s = max(span - busy, 0.0)
    energy_per_sample = (float(energy.sum()) + idle_power_w * idle_s) / n
    if objective is not None:
        margin = objective.bound_s - float(pq)
        meets = margin >= 0
        margin_pct = 100.0 * margin / objective.bound_s
    else:
        margin, meets, margin_pct = float("nan"), False, float("nan")
    return SettingResult(
        policy=policy,
        batch_size=batch_size,
        max_wait_s=max_wait_s,
        arrival_rate_per_s=rate,
        arrivals=arrivals_kind,
        stable=True,
        capacity_per_s=capacity,
        utilisation=utilisation,
        throughput_per_s=n / span if span > 0 else float("nan"),
        response_p50_s=float(p50),
        response_p99_s=float(p99),
        percentile=float(q),
        response_at_percentile_s=float(pq),
        mean_response_s=float(resp.mean()),
        mean_wait_s=float(wait.mean()),
        mean_batch_size=float(batch_sizes.mean()),
        energy_per_sample_j=energy_per_sample,
        energy_provenance=provenance,
        meets_objective=bool(meets),
        margin_s=margin,
        margin_pct=margin_pct,
        n_requests=int(resp.size),
        notes=notes,
    )


def _unstable(policy, batch_size, max_wait_s, rate, arrivals_kind, capacity, model, objective, n_requests) -> SettingResult:
    inf = float("inf")
    q = objective.percentile if objective is not None else 99.0
    return SettingResult(
        policy=policy,
        batch_size=batch_size,
        max_wait_s=max_wait_s,
        arrival_rate_per_s=rate,
        arrivals=arrivals_kind,
        stable=False,
        capacity_per_s=capacity,
        utilisation=rate / capacity,
        throughput_per_s=capacity,
        response_p50_s=inf,
        response_p99_s=inf,
        percentile=float(q),
        response_at_percentile_s=inf,
        mean_response_s=inf,
        mean_wait_s=inf,
        mean_batch_size=float(batch_size),
        energy_per_sample_j=model.energy(batch_size) / batch_size,
        energy_provenance=model.energy_provenance,
        meets_objective=False,
        margin_s=-inf,
        margin_pct=-inf,
        n_requests=0,
        notes=(
            f"unstable: arrival rate {rate:g}/s >= capacity {capacity:.6g}/s "
            f"(batch size {batch_size} / mean service {model.mean_service(batch_size):.6g} s); "
            f"the queue grows without bound, not simulated"
        ),
    )


# --------------------------------------------------------------------------------------
# The two policies
# --------------------------------------------------------------------------------------


def simulate_fixed(
    profiles,
    batch_size: int,
    arrival_rate_per_s: float,
    *,
    objective: LatencyObjective | None = None,
    n_requests: int = 100_000,
    arrivals: str = "poisson",
    seed: int = 0,
    warmup_fraction: float = 0.05,
    idle_power_w: float = 0.0,
    _arrival_times_s: np.ndarray | None = None,
) -> SettingResult:
    """Fixed batch size: wait for ``batch_size`` requests, serve them together.

    ``idle_power_w`` adds idle power x the server's idle time to the energy (0 when the energy
    per batch already is what should be counted, e.g. active energy).
    """
    model = _as_model(profiles)
    rate = _check_rate(arrival_rate_per_s)
    _check_common(n_requests, arrivals, warmup_fraction, idle_power_w)
    b = _check_batch_size(batch_size, model)
    capacity = b / model.mean_service(b)
    if rate >= capacity:
        return _unstable("fixed", b, None, rate, arrivals, capacity, model, objective, n_requests)
    rng = np.random.default_rng(check_seed(seed))
    a = _arrival_times_s if _arrival_times_s is not None else _arrival_times(rate, n_requests, arrivals, rng)
    n_batches = len(a) // b
    if n_batches < 1:
        raise ConfigError(f"n_requests: must be at least the batch size {b}; got {len(a)}")
    u = np.random.default_rng([seed, 1, b]).random(n_batches)
    s = model.draw(b, u)
    ready = a[b - 1 : n_batches * b : b]
    c = np.cumsum(s)
    finish = c + np.maximum.accumulate(ready - (c - s))
    start = finish - s
    sizes = np.full(n_batches, b, dtype=np.int64)
    energy = np.full(n_batches, model.energy(b))
    dropped = len(a) - n_batches * b
    notes = f"{dropped} trailing request(s) that never filled a batch were left out" if dropped else ""
    return _summarise(
        policy="fixed", batch_size=b, max_wait_s=None, rate=rate, arrivals_kind=arrivals, capacity=capacity,
        a=a, batch_sizes=sizes, start=start, finish=finish, service=s, energy=energy,
        provenance=model.energy_provenance, objective=objective, warmup_fraction=warmup_fraction,
        idle_power_w=idle_power_w, notes=notes,
    )


def simulate_dynamic(
    profiles,
    max_batch_size: int,
    max_wait_s: float,
    arrival_rate_per_s: float,
    *,
    objective: LatencyObjective | None = None,
    n_requests: int = 100_000,
    arrivals: str = "poisson",
    seed: int = 0,
    warmup_fraction: float = 0.05,
    idle_power_w: float = 0.0,
    _arrival_times_s: np.ndarray | None = None,
) -> SettingResult:
    """Dynamic batching: start when ``max_batch_size`` requests wait or the oldest has waited
    ``max_wait_s`` (whichever first, and not before the server is free); take all waiting up to B."""
    model = _as_model(profiles)
    rate = _check_rate(arrival_rate_per_s)
    _check_common(n_requests, arrivals, warmup_fraction, idle_power_w)
    big_b = _check_batch_size(max_batch_size, model)
    w = check("max_wait_s", max_wait_s, Interval(float, 0, None))
    capacity = big_b / model.mean_service(big_b)
    if rate >= capacity:
        return _unstable("dynamic", big_b, w, rate, arrivals, capacity, model, objective, n_requests)
    rng = np.random.default_rng(check_seed(seed))
    a = _arrival_times_s if _arrival_times_s is not None else _arrival_times(rate, n_requests, arrivals, rng)
    n = len(a)
    u = np.random.default_rng([seed, 2, big_b]).random(n).tolist()
    sizes, starts, services = _dynamic_batches(a.tolist(), u, _service_plans(model, big_b), big_b, w)
    energy_k = [0.0] + [model.energy(k) for k in range(1, big_b + 1)]
    sizes_a = np.asarray(sizes, dtype=np.int64)
    start = np.asarray(starts)
    service = np.asarray(services)
    finish = start + service
    energy = np.asarray(energy_k)[sizes_a]
    partial = sorted({k for k in set(sizes) if k not in model.by_size})
    notes = (
        f"partial batch sizes {_ranges(partial)} not measured: service time interpolated per quantile, "
        f"energy linearly, between the nearest measured sizes"
        if partial
        else ""
    )
    return _summarise(
        policy="dynamic", batch_size=big_b, max_wait_s=w, rate=rate, arrivals_kind=arrivals, capacity=capacity,
        a=a, batch_sizes=sizes_a, start=start, finish=finish, service=service, energy=energy,
        provenance=model.energy_provenance, objective=objective, warmup_fraction=warmup_fraction,
        idle_power_w=idle_power_w, notes=notes,
    )


def _service_plans(model: _ServiceModel, big_b: int) -> list:
    """Per batch size k <= B: the sorted service times of its measured neighbours as lists, their
    sizes and the interpolation weight (index 0: None); plain lists for the event loop's speed."""
    plans = [None]
    for k in range(1, big_b + 1):
        lo, hi, wt = model.plan(k)
        plans.append((lo.service_times_s.tolist(), hi.service_times_s.tolist(), lo.service_times_s.size, hi.service_times_s.size, wt))
    return plans


def _dynamic_batches(a_list: list[float], u_list: list[float], plans: list, big_b: int, w: float):
    """The event loop of dynamic batching: (batch sizes, start times, service times), one per batch.

    A batch starts when B requests wait or the oldest has waited ``w``, not before the server is
    free, and takes every request that has arrived by then, up to B; its service time is drawn
    with the uniform ``u_list[batch]`` from the plan of its size."""
    sizes, starts, services = [], [], []
    n, i, j_batch = len(a_list), 0, 0
    free_at = -math.inf
    inf = math.inf
    while i < n:
        fill_idx = i + big_b - 1
        t_fill = a_list[fill_idx] if fill_idx < n else inf
        t_timer = a_list[i] + w
        t_d = t_timer if t_timer < t_fill else t_fill
        if free_at > t_d:
            t_d = free_at
        hi_idx = i + big_b if i + big_b < n else n
        j = bisect_right(a_list, t_d, i, hi_idx)
        k = j - i
        lo_s, hi_s, n_lo, n_hi, wt = plans[k]
        u = u_list[j_batch]
        s = lo_s[min(int(u * n_lo), n_lo - 1)]
        if wt:
            s = (1.0 - wt) * s + wt * hi_s[min(int(u * n_hi), n_hi - 1)]
        sizes.append(k)
        starts.append(t_d)
        services.append(s)
        free_at = t_d + s
        i = j
        j_batch += 1
    return sizes, starts, services


def _ranges(values: list[int]) -> str:
    if not values:
        return ""
    out, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(out)


def _check_batch_size(b, model: _ServiceModel) -> int:
    b = check("batch_size", b, Interval(int, 1, None))
    if b > model.max_size:
        raise ConfigError(f"batch_size: at most the largest measured size {model.max_size}; got {b}")
    return int(b)


# --------------------------------------------------------------------------------------
# Tables, sweeps and the recommendation
# --------------------------------------------------------------------------------------


def batch_size_table(profiles) -> list[dict]:
    """Per measured batch size: per-batch latency (p50, p99), per-sample latency (p50 / b),
    throughput (b / p50), energy per batch and per sample, with provenance.

    p50 and p99 are :func:`effbench.analysis.stats.quantile` (numpy ``linear``), and latency per
    sample and throughput come from the p50, as in the cost table
    (:func:`effbench.analysis.costs.batch_rows`), so ``effbench batching`` and
    ``effbench show --batches`` print the same throughput for the same cell. The mean service
    time (``batch_latency_mean_s``) is what the simulation's capacity uses (``b / mean``): a
    queue's long-run rate depends on the mean, not the median.
    """
    from effbench.analysis.stats import quantile

    model = _as_model(profiles)
    rows = []
    for b in model.sizes:
        p = model.by_size[b]
        s = p.service_times_s
        p50 = quantile(s, 0.5)
        rows.append(
            {
                "batch_size": b,
                "n_samples": int(s.size),
                "batch_latency_p50_s": p50,
                "batch_latency_p99_s": quantile(s, 0.99),
                "batch_latency_mean_s": float(s.mean()),
                "per_sample_latency_s": p50 / b,
                "throughput_per_s": b / p50,
                "capacity_per_s": float(b / s.mean()),
                "energy_per_batch_j": p.energy_per_batch_j,
                "energy_per_sample_j": p.energy_per_batch_j / b,
                "energy_provenance": p.energy_provenance,
            }
        )
    return rows


def evaluate_settings(
    profiles,
    arrival_rate_per_s: float,
    objective: LatencyObjective,
    *,
    policies: Sequence[str] = POLICIES,
    batch_sizes: Sequence[int] | None = None,
    max_wait_s: Sequence[float] | None = None,
    n_requests: int = 100_000,
    arrivals: str = "poisson",
    seed: int = 0,
    warmup_fraction: float = 0.05,
    idle_power_w: float = 0.0,
) -> list[SettingResult]:
    """Simulate every setting: fixed B for each batch size, dynamic for each (B, max wait).

    ``batch_sizes`` defaults to the measured sizes; ``max_wait_s`` to
    ``DEFAULT_MAX_WAIT_FRACTIONS`` x the latency bound. All settings see the same arrivals.
    """
    if not isinstance(objective, LatencyObjective):
        raise ConfigError(f"objective: expected a LatencyObjective; got {type(objective).__name__}")
    model = _as_model(profiles)
    rate = _check_rate(arrival_rate_per_s)
    _check_common(n_requests, arrivals, warmup_fraction, idle_power_w)
    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise ConfigError(f"policies: allowed {', '.join(POLICIES)}; got {list(policies)!r}")
    sizes = list(model.sizes) if batch_sizes is None else [_check_batch_size(b, model) for b in batch_sizes]
    waits = (
        [f * objective.bound_s for f in DEFAULT_MAX_WAIT_FRACTIONS]
        if max_wait_s is None
        else [float(x) for x in max_wait_s]
    )
    a = _arrival_times(rate, n_requests, arrivals, np.random.default_rng(check_seed(seed)))
    common = dict(
        objective=objective, n_requests=n_requests, arrivals=arrivals, seed=seed,
        warmup_fraction=warmup_fraction, idle_power_w=idle_power_w, _arrival_times_s=a,
    )
    results: list[SettingResult] = []
    for b in sizes:
        if "fixed" in policies:
            results.append(simulate_fixed(model, b, rate, **common))
        if "dynamic" in policies and b > 1:  # dynamic with B = 1 is fixed B = 1
            for w in waits:
                results.append(simulate_dynamic(model, b, w, rate, **common))
        elif "dynamic" in policies and "fixed" not in policies:
            results.append(simulate_dynamic(model, b, waits[0], rate, **common))
    return results


def recommend_batch_size(
    profiles,
    arrival_rate_per_s: float,
    objective: LatencyObjective,
    **kwargs,
) -> Recommendation:
    """The setting that minimises energy per sample among those meeting the objective.

    Ties go to the smaller response time at the percentile, then the smaller batch size.
    Keyword arguments are those of :func:`evaluate_settings`.
    """
    settings = evaluate_settings(profiles, arrival_rate_per_s, objective, **kwargs)
    idle = float(kwargs.get("idle_power_w", 0.0))
    meeting = [s for s in settings if s.meets_objective]
    if meeting:
        best = min(meeting, key=lambda s: (s.energy_per_sample_j, s.response_at_percentile_s, s.batch_size))
        return Recommendation(objective, float(arrival_rate_per_s), best, None, settings, idle)
    stable = [s for s in settings if s.stable]
    if stable:
        closest = min(stable, key=lambda s: (s.response_at_percentile_s, s.energy_per_sample_j))
    else:
        closest = max(settings, key=lambda s: s.capacity_per_s) if settings else None
    return Recommendation(objective, float(arrival_rate_per_s), None, closest, settings, idle)
