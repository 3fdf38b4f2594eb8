"""The labelled CPU estimate, TDP x utilisation, used when no RAPL counter is readable; and where the TDP
comes from (:func:`resolve_cpu_tdp`)."""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import re
import time
from pathlib import Path
from typing import Callable, Mapping

from effbench.errors import ConfigError
from effbench.measure.energy.common import ESTIMATED, EnergyReading, _MeterBase
from effbench.validation import Interval, check

#: Environment variable holding the CPU's TDP in watts (whole machine, all sockets).
TDP_ENV_VAR = "EFFBENCH_CPU_TDP_W"
#: Generic TDP when the CPU's own is unknown: watts per logical CPU. This is the constant
#: CodeCarbon falls back to for an unknown CPU model (``DEFAULT_POWER_PER_CORE = 4`` "W per
#: thread", codecarbon 3.3.2, ``codecarbon/core/cpu.py``).
DEFAULT_WATTS_PER_THREAD = 4.0
#: Idle power as a share of TDP in the estimate. Same floor as CodeCarbon's CPU-load mode
#: (``max(tdp * load, tdp * 0.1)``, codecarbon 3.3.2, ``codecarbon/external/hardware.py``).
DEFAULT_IDLE_FRACTION = 0.10


def _codecarbon_data_dir() -> Path | None:
    """codecarbon's data folder when the package is installed, without importing it."""
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        data = Path(loc) / "data"
        if data.is_dir():
            return data
    return None


def _cpu_model_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _normalise_cpu(name: str) -> str:
    name = re.sub(r"\((r|tm)\)", " ", name, flags=re.I)
    name = re.sub(r"@.*$", " ", name)
    name = re.sub(r"\b(cpu|processor|\d+-core)\b", " ", name, flags=re.I)
    return " ".join(name.lower().split())


def _tdp_from_codecarbon(model: str) -> tuple[float, str] | None:
    """TDP of ``model`` read at run time from an installed codecarbon's cpu_power.csv.

    The table is not copied into effbench; it is only read when codecarbon is installed.
    The longest table name (with a digit, >= 4 characters) found as whole words in the CPU's
    model name wins; no fuzzy matching, so an unknown CPU returns None rather than a guess.
    """
    data = _codecarbon_data_dir()
    if data is None:
        return None
    table = data / "hardware" / "cpu_power.csv"
    try:
        lines = table.read_text().splitlines()
    except OSError:
        return None
    target = f" {_normalise_cpu(model)} "
    best: tuple[int, float, str] | None = None
    import csv

    for row in csv.reader(lines[1:]):
        if len(row) < 2:
            continue
        cand = _normalise_cpu(row[0])
        if len(cand) < 4 or not re.search(r"\d", cand) or f" {cand} " not in target:
            continue
        try:
            tdp = float(row[1])
        except ValueError:
            continue
        if best is None or len(cand) > best[0]:
            best = (len(cand), tdp, row[0])
    if best is None:
        return None
    return best[1], f"codecarbon's cpu_power.csv entry {best[2]!r} (read from the installed package)"


def resolve_cpu_tdp(
    tdp_w: float | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cpu_model: str | None = None,
    n_cpus: int | None = None,
    use_codecarbon: bool = True,
) -> tuple[float, str]:
    """The CPU's TDP in watts and where it came from, in this order:

    1. ``tdp_w`` given by the user (``--cpu-tdp-w``);
    2. the ``EFFBENCH_CPU_TDP_W`` environment variable;
    3. codecarbon's CPU table, when codecarbon is installed (read at run time, not copied);
    4. a generic ``4 W x logical CPUs`` (CodeCarbon's own fallback for unknown CPUs).
    """
    env = os.environ if env is None else env
    if tdp_w is not None:
        return check("cpu_tdp_w", tdp_w, Interval(float, 0, None, closed="neither")), "given by the user"
    raw = env.get(TDP_ENV_VAR)
    if raw not in (None, ""):
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{TDP_ENV_VAR}: must be a number of watts > 0; got {raw!r}")
        return value, f"from {TDP_ENV_VAR}"
    n = n_cpus or os.cpu_count() or 1
    model = cpu_model if cpu_model is not None else _cpu_model_name()
    if use_codecarbon and model:
        found = _tdp_from_codecarbon(model)
        if found is not None:
            return found
    return DEFAULT_WATTS_PER_THREAD * n, (
        f"generic {DEFAULT_WATTS_PER_THREAD:g} W x {n} logical CPUs (CPU model "
        f"{model or 'unknown'} not in a TDP table; set {TDP_ENV_VAR} or --cpu-tdp-w)"
    )


def _process_cpu_seconds_factory(pid: int | None) -> Callable[[], float]:
    if pid is None or pid == os.getpid():
        def own() -> float:
            t = os.times()
            return t.user + t.system + t.children_user + t.children_system

        return own
    import psutil

    proc = psutil.Process(pid)

    def other() -> float:
        t = proc.cpu_times()
        return t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)

    return other


class EstimatedCpuMeter(_MeterBase):
    """A labelled estimate of CPU energy when no counter can be read.

    Power model: ``P = P_idle + (TDP - P_idle) x u`` with ``P_idle = idle_fraction x TDP`` and
    ``u`` the utilisation of this process (or ``pid``): CPU seconds it used in the window
    divided by (window seconds x logical CPUs), clipped to [0, 1]. Energy = P x window seconds.
    The TDP comes from :func:`resolve_cpu_tdp`. Published comparisons against wall-socket
    meters report errors of up to 40 % for such TDP-based estimates (see docs/energy.md).
    """

    provenance = ESTIMATED
    update_period_s = 0.01  # os.times() resolution is one clock tick (10 ms at USER_HZ=100)

    def __init__(
        self,
        tdp_w: float | None = None,
        *,
        idle_fraction: float = DEFAULT_IDLE_FRACTION,
        n_cpus: int | None = None,
        cpu_seconds: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        pid: int | None = None,
        env: Mapping[str, str] | None = None,
        cpu_model: str | None = None,
        use_codecarbon: bool = True,
    ):
        check("idle_fraction", idle_fraction, Interval(float, 0, 1))
        self.n_cpus = int(n_cpus or os.cpu_count() or 1)
        self.tdp_w, self.tdp_source = resolve_cpu_tdp(
            tdp_w, env=env, cpu_model=cpu_model, n_cpus=self.n_cpus, use_codecarbon=use_codecarbon
        )
        self.idle_fraction = float(idle_fraction)
        self.cpu_seconds = cpu_seconds or _process_cpu_seconds_factory(pid)
        self.clock = clock
        self.name = "cpu-tdp-estimate"

    @property
    def modelled_idle_power_w(self) -> float:
        return self.idle_fraction * self.tdp_w

    def idle_power_w(self, seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """The model's idle power (``idle_fraction x TDP``); nothing to measure, so no sleep."""
        return self.modelled_idle_power_w

    def power_w(self, utilisation: float) -> float:
        u = min(max(utilisation, 0.0), 1.0)
        idle = self.modelled_idle_power_w
        return idle + (self.tdp_w - idle) * u

    def begin(self) -> tuple[float, float]:
        return (self.clock(), self.cpu_seconds())

    def end(self, token: tuple[float, float]) -> EnergyReading:
        t0, c0 = token
        c1 = self.cpu_seconds()
        t1 = self.clock()
        dt = t1 - t0
        u = (c1 - c0) / (dt * self.n_cpus) if dt > 0 else 0.0
        u = min(max(u, 0.0), 1.0)
        energy_j = self.power_w(u) * max(dt, 0.0)
        notes = (
            f"estimated: TDP {self.tdp_w:g} W ({self.tdp_source}), idle {self.idle_fraction:.0%} of TDP, "
            f"utilisation {u:.3f} of {self.n_cpus} logical CPUs from process CPU time"
        )
        return EnergyReading(energy_j, dt, ESTIMATED, self.name, {"cpu": energy_j}, notes=notes)
