"""What every energy meter shares: :class:`EnergyReading`, the :class:`EnergyMeter` protocol, a base
with the shared helpers, and :func:`measure_energy` (one window long enough for the meter)."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

from effbench.errors import ConfigError, EffbenchError
from effbench.validation import Interval, Options, check

MEASURED = "measured"
ESTIMATED = "estimated"
_PROVENANCES = (MEASURED, ESTIMATED)


class MeterUnavailableError(EffbenchError, RuntimeError):
    """A meter cannot be used on this machine (counters absent, unreadable, no driver)."""


@dataclass(frozen=True)
class EnergyReading:
    """Energy spent in one window, with where it came from.

    ``energy_j`` is the total over the window. ``domains`` splits it (RAPL ``package-0``,
    ``dram-0``; NVML ``gpu0``; the estimate's ``cpu``); ``domain_provenance`` says for each
    domain whether it was measured or estimated. ``idle_power_w`` is the idle baseline when
    one was attached (:meth:`with_idle`); ``active_energy_j`` is then the energy above it.
    """

    energy_j: float
    duration_s: float
    provenance: str
    meter: str
    domains: Mapping[str, float] = field(default_factory=dict)
    notes: str = ""
    domain_provenance: Mapping[str, str] = field(default_factory=dict)
    idle_power_w: float | None = None

    def __post_init__(self):
        check("provenance", self.provenance, Options(_PROVENANCES))
        if self.provenance == ESTIMATED and "estimate" not in self.meter:
            raise ConfigError(f"meter: an estimated reading's meter name must say 'estimate'; got {self.meter!r}")
        if not self.domain_provenance and self.domains:
            object.__setattr__(self, "domain_provenance", {k: self.provenance for k in self.domains})

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else float("nan")

    @property
    def idle_energy_j(self) -> float | None:
        if self.idle_power_w is None:
            return None
        return self.idle_power_w * self.duration_s

    @property
    def active_energy_j(self) -> float | None:
        """Total minus idle power x duration (may be slightly negative when noise dominates)."""
        if self.idle_power_w is None:
            return None
        return self.energy_j - self.idle_power_w * self.duration_s

    def with_idle(self, idle_power_w: float) -> "EnergyReading":
        """The same reading with an idle baseline attached (enables ``active_energy_j``)."""
        return replace(self, idle_power_w=check("idle_power_w", idle_power_w, Interval(float, 0, None)))

    def per_repeat(self, repeats: int) -> "EnergyReading":
        """Energy and duration of one repetition when the window ran the work ``repeats`` times."""
        repeats = check("repeats", repeats, Interval(int, 1, None))
        if repeats == 1:
            return self
        return replace(
            self,
            energy_j=self.energy_j / repeats,
            duration_s=self.duration_s / repeats,
            domains={k: v / repeats for k, v in self.domains.items()},
            notes=_join_notes(self.notes, f"divided by {repeats} repeats"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "duration_s": self.duration_s,
            "provenance": self.provenance,
            "meter": self.meter,
            "domains": dict(self.domains),
            "domain_provenance": dict(self.domain_provenance),
            "idle_power_w": self.idle_power_w,
            "active_energy_j": self.active_energy_j,
            "notes": self.notes,
        }


def _join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


@runtime_checkable
class EnergyMeter(Protocol):
    name: str
    provenance: str
    update_period_s: float

    def begin(self) -> Any: ...

    def end(self, token: Any) -> EnergyReading: ...

    def idle_power_w(self, seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float: ...

    def close(self) -> None: ...


class _MeterBase:
    name: str = "meter"
    provenance: str = MEASURED
    update_period_s: float = 0.001

    def begin(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def end(self, token: Any) -> EnergyReading:  # pragma: no cover - abstract
        raise NotImplementedError

    @contextlib.contextmanager
    def window(self) -> Iterator[dict]:
        """``with meter.window() as w: work()``; afterwards ``w["reading"]`` holds the reading."""
        holder: dict = {}
        token = self.begin()
        try:
            yield holder
        finally:
            holder["reading"] = self.end(token)

    @property
    def reads_a_counter(self) -> bool:
        """True when some part of a reading comes from a counter (so the idle baseline must be waited for)."""
        return self.provenance == MEASURED

    def idle_power_w(self, seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Mean power over ``seconds`` of doing nothing (the idle baseline), in watts.

        ``sleep`` is injectable so tests drive a fake clock instead of sleeping.
        """
        check("seconds", seconds, Interval(float, 0, None, closed="neither"))
        token = self.begin()
        sleep(seconds)
        reading = self.end(token)
        return reading.mean_power_w

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.provenance})>"


def measure_energy(
    fn: Callable[[], Any],
    meter: EnergyMeter,
    *,
    min_window_s: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    max_repeats: int = 1_000_000,
) -> tuple[EnergyReading, int]:
    """Run ``fn`` inside one energy window that is long enough for the meter, repeating it.

    The window must last at least ``min_window_s`` (default: 10 x the meter's update period).
    When one call is shorter, ``fn`` is repeated inside the window (the count grows from the
    observed duration) and the reading covers all repeats; the returned ``repeats`` says how
    many, and the reading's notes say so. Windows that came out too short are discarded.
    Divide by ``repeats`` (``reading.per_repeat(repeats)``) for one call.
    """
    if min_window_s is None:
        min_window_s = 10.0 * meter.update_period_s
    min_window_s = check("min_window_s", min_window_s, Interval(float, 0, None))
    max_repeats = check("max_repeats", max_repeats, Interval(int, 1, None))
    repeats = 1
    discarded = 0
    while True:
        token = meter.begin()
        t0 = clock()
        for _ in range(repeats):
            fn()
        elapsed = clock() - t0
        reading = meter.end(token)
        if elapsed >= min_window_s or repeats >= max_repeats:
            break
        discarded += 1
        if elapsed > 0:
            needed = math.ceil(repeats * min_window_s / elapsed * 1.1)
        else:
            needed = repeats * 10
        repeats = min(max_repeats, max(needed, repeats * 2))
    if repeats > 1:
        short = "" if elapsed >= min_window_s else f"; still shorter than {min_window_s:g} s at max_repeats"
        reading = replace(
            reading,
            notes=_join_notes(
                reading.notes,
                f"work repeated {repeats} times in one window because one run was shorter than the "
                f"{min_window_s:g} s minimum window ({meter.update_period_s:g} s counter update period)"
                + short,
            ),
        )
    return reading, repeats
