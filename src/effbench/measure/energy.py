"""Energy meters: RAPL (CPU package + DRAM), NVML (NVIDIA GPUs) and a labelled CPU estimate.

Every meter implements one small protocol (:class:`EnergyMeter`):

``begin() -> token`` snapshots the counters; ``end(token) -> EnergyReading`` returns the
energy spent since that snapshot. Tokens are independent, so windows may be nested or
consecutive, and one meter can serve several windows at once. ``window()`` wraps the pair in
a context manager, ``idle_power_w(seconds)`` measures the idle baseline.

Every :class:`EnergyReading` carries its provenance: ``measured`` (a hardware counter or a
hardware power sensor) or ``estimated`` (a model). An estimate is never silently mixed with a
measurement: :class:`MultiMeter` keeps one domain per meter with its own provenance and labels
the total ``estimated`` as soon as one part of it is.

Nothing here raises for an unavailable meter when called through :func:`select_meters`: it
falls back with one-line notices that say why and what is estimated instead.

Heavy or optional modules (``pynvml`` from nvidia-ml-py, ``psutil``) are imported lazily.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from effbench.errors import ConfigError, EffbenchError

__all__ = [
    "DEFAULT_RAPL_ROOT",
    "TDP_ENV_VAR",
    "DEFAULT_WATTS_PER_THREAD",
    "DEFAULT_IDLE_FRACTION",
    "EnergyReading",
    "EnergyMeter",
    "MeterUnavailableError",
    "RaplMeter",
    "NvmlMeter",
    "EstimatedCpuMeter",
    "MultiMeter",
    "select_meters",
    "measure_energy",
    "resolve_cpu_tdp",
]

DEFAULT_RAPL_ROOT = "/sys/class/powercap"
#: Environment variable holding the CPU's TDP in watts (whole machine, all sockets).
TDP_ENV_VAR = "EFFBENCH_CPU_TDP_W"
#: Generic TDP when the CPU's own is unknown: watts per logical CPU. This is the constant
#: CodeCarbon falls back to for an unknown CPU model (``DEFAULT_POWER_PER_CORE = 4`` "W per
#: thread", codecarbon 3.3.2, ``codecarbon/core/cpu.py``).
DEFAULT_WATTS_PER_THREAD = 4.0
#: Idle power as a share of TDP in the estimate. Same floor as CodeCarbon's CPU-load mode
#: (``max(tdp * load, tdp * 0.1)``, codecarbon 3.3.2, ``codecarbon/external/hardware.py``).
DEFAULT_IDLE_FRACTION = 0.10

MEASURED = "measured"
ESTIMATED = "estimated"
_PROVENANCES = (MEASURED, ESTIMATED)

#: RAPL energy counters refresh about every millisecond (Haehnel et al., "Measuring energy
#: consumption for short code paths using RAPL", SIGMETRICS PER 2012; Khan et al., "RAPL in
#: Action", ACM TOMPECS 2018).
RAPL_UPDATE_PERIOD_S = 0.001
#: NVML power readings and the energy counter refresh far more slowly: on A100/H100-class
#: GPUs the power value is refreshed every 100 ms (Yang, Adamek, Armour, "Part-time Power
#: Measurements: nvidia-smi's Lack of Attention", SC 2024). We use 100 ms for both paths.
NVML_UPDATE_PERIOD_S = 0.1


class MeterUnavailableError(EffbenchError, RuntimeError):
    """A meter cannot be used on this machine (counters absent, unreadable, no driver)."""


# --------------------------------------------------------------------------------------
# Readings
# --------------------------------------------------------------------------------------


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
        if self.provenance not in _PROVENANCES:
            raise ConfigError(
                f"provenance: must be one of {', '.join(_PROVENANCES)}; got {self.provenance!r}"
            )
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
        if not (isinstance(idle_power_w, (int, float)) and math.isfinite(idle_power_w) and idle_power_w >= 0):
            raise ConfigError(f"idle_power_w: must be a finite number >= 0; got {idle_power_w!r}")
        return replace(self, idle_power_w=float(idle_power_w))

    def per_repeat(self, repeats: int) -> "EnergyReading":
        """Energy and duration of one repetition when the window ran the work ``repeats`` times."""
        if not isinstance(repeats, int) or repeats < 1:
            raise ConfigError(f"repeats: must be an integer >= 1; got {repeats!r}")
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


# --------------------------------------------------------------------------------------
# The protocol and a base with the shared helpers
# --------------------------------------------------------------------------------------


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
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ConfigError(f"idle seconds: must be a finite number > 0; got {seconds!r}")
        token = self.begin()
        sleep(seconds)
        reading = self.end(token)
        return reading.mean_power_w

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.provenance})>"


# --------------------------------------------------------------------------------------
# RAPL through the powercap sysfs files
# --------------------------------------------------------------------------------------


def _read_sysfs(path: Path) -> str:
    """Read one sysfs file (a module-level function so tests can make it fail)."""
    return path.read_text()


_RAPL_ZONE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")


@dataclass(frozen=True)
class _RaplDomain:
    key: str  # e.g. package-0, dram-0
    energy_path: Path
    max_range_uj: int


class RaplMeter(_MeterBase):
    """CPU package and DRAM energy from the Linux powercap RAPL files.

    Reads ``<root>/intel-rapl:N/energy_uj`` (package N) and the ``dram`` sub-zone
    ``intel-rapl:N:M``; the domain names come from each zone's ``name`` file. AMD Zen CPUs
    expose the same ``intel-rapl`` zones on Linux >= 5.8 (package only, no DRAM). Zones under
    ``intel-rapl-mmio`` duplicate the MSR ones and are skipped; ``core``, ``uncore`` and
    ``psys`` are not added (core/uncore are inside the package, psys overlaps everything).

    A counter wraps at ``max_energy_range_uj``; a window sees at most one wrap per domain, so a
    window must be shorter than the time it takes to spend that range (``max_energy_range_uj``
    is typically 2^32 uJ = 4.3 kJ to 2.6e11 uJ, i.e. minutes to hours at package power).
    """

    provenance = MEASURED
    update_period_s = RAPL_UPDATE_PERIOD_S

    def __init__(self, root: str | os.PathLike = DEFAULT_RAPL_ROOT, *, clock: Callable[[], float] = time.monotonic):
        self.root = Path(root)
        self.clock = clock
        self.domains = self._discover()
        self.name = "rapl"
        # Read every counter once now, so that permission problems surface at construction.
        self._read_all()

    def _discover(self) -> list[_RaplDomain]:
        if not self.root.is_dir():
            raise MeterUnavailableError(f"no powercap folder at {self.root}")
        zones = []
        for entry in sorted(self.root.iterdir()):
            m = _RAPL_ZONE.match(entry.name)
            if m:
                zones.append((entry, int(m.group(1)), m.group(2)))
        if not zones:
            raise MeterUnavailableError(f"no intel-rapl zones under {self.root}")
        domains: list[_RaplDomain] = []
        for path, package, sub in zones:
            try:
                name = _read_sysfs(path / "name").strip()
                max_range = int(_read_sysfs(path / "max_energy_range_uj").strip())
            except PermissionError as exc:
                raise MeterUnavailableError(f"permission denied reading {exc.filename or path}") from exc
            except (OSError, ValueError) as exc:
                raise MeterUnavailableError(f"unreadable zone {path}: {exc}") from exc
            if sub is None and name.startswith("package"):
                key = name
            elif sub is not None and name == "dram":
                key = f"dram-{package}"
            else:
                continue
            domains.append(_RaplDomain(key, path / "energy_uj", max_range))
        if not any(d.key.startswith("package") for d in domains):
            raise MeterUnavailableError(f"no package zone under {self.root}")
        return domains

    def _read_all(self) -> dict[str, int]:
        values = {}
        for d in self.domains:
            try:
                values[d.key] = int(_read_sysfs(d.energy_path).strip())
            except PermissionError as exc:
                raise MeterUnavailableError(
                    f"permission denied reading {d.energy_path} (root-only since the CVE-2020-8694 fix)"
                ) from exc
            except (OSError, ValueError) as exc:
                raise MeterUnavailableError(f"unreadable counter {d.energy_path}: {exc}") from exc
        return values

    def begin(self) -> tuple[float, dict[str, int]]:
        return (self.clock(), self._read_all())

    def end(self, token: tuple[float, dict[str, int]]) -> EnergyReading:
        t0, start = token
        stop = self._read_all()
        t1 = self.clock()
        domains: dict[str, float] = {}
        wrapped = []
        for d in self.domains:
            delta = stop[d.key] - start[d.key]
            if delta < 0:  # the counter wrapped once (it counts 0 .. max_energy_range_uj)
                delta += d.max_range_uj
                wrapped.append(d.key)
            domains[d.key] = delta * 1e-6
        notes = f"counter wrap-around corrected on {', '.join(wrapped)}" if wrapped else ""
        return EnergyReading(
            energy_j=sum(domains.values()),
            duration_s=t1 - t0,
            provenance=MEASURED,
            meter=self.name,
            domains=domains,
            notes=notes,
        )


# --------------------------------------------------------------------------------------
# NVML (nvidia-ml-py, imported as pynvml)
# --------------------------------------------------------------------------------------


def _import_pynvml():
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        raise MeterUnavailableError("nvidia-ml-py is not installed (pip install nvidia-ml-py)") from exc


class NvmlMeter(_MeterBase):
    """Energy of one NVIDIA GPU through NVML.

    Uses ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded; Volta and newer)
    when the GPU supports it. Otherwise samples ``nvmlDeviceGetPowerUsage`` (mW) every
    ``sample_interval_s`` on a background thread and integrates the samples with the trapezoid
    rule; ``begin`` and ``end`` each take a sample, so even a short window has two points.
    With ``background=False`` no thread runs and the caller takes samples with
    :meth:`sample` (used by the tests with a fake clock).
    """

    provenance = MEASURED
    update_period_s = NVML_UPDATE_PERIOD_S

    def __init__(
        self,
        index: int = 0,
        *,
        pynvml_module: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sample_interval_s: float = 0.02,
        background: bool = True,
        force_power_sampling: bool = False,
    ):
        if not (isinstance(sample_interval_s, (int, float)) and sample_interval_s > 0):
            raise ConfigError(f"sample_interval_s: must be > 0; got {sample_interval_s!r}")
        self.nv = pynvml_module if pynvml_module is not None else _import_pynvml()
        self._error = getattr(self.nv, "NVMLError", Exception)
        try:
            self.nv.nvmlInit()
        except self._error as exc:
            raise MeterUnavailableError(f"NVML could not start (no NVIDIA driver?): {exc}") from exc
        try:
            count = int(self.nv.nvmlDeviceGetCount())
            if not 0 <= index < count:
                raise MeterUnavailableError(f"GPU index {index} not present ({count} GPU(s) found)")
            self.handle = self.nv.nvmlDeviceGetHandleByIndex(index)
        except self._error as exc:
            raise MeterUnavailableError(f"NVML could not open GPU {index}: {exc}") from exc
        self.index = index
        self.clock = clock
        self.sample_interval_s = float(sample_interval_s)
        self.background = background
        self.mode = "power-sampling"
        if not force_power_sampling:
            try:
                self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)
                self.mode = "energy-counter"
            except self._error:
                pass
        self.name = f"nvml-{self.mode}:gpu{index}"
        self._samples: list[tuple[float, float]] = []  # (time s, power W)
        self._lock = threading.Lock()
        self._active = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- power sampling -----------------------------------------------------------
    def sample(self) -> int:
        """Take one power sample now (the background thread calls this); returns its index."""
        p_w = float(self.nv.nvmlDeviceGetPowerUsage(self.handle)) / 1000.0
        with self._lock:  # time-stamped under the lock, so samples stay in time order
            self._samples.append((self.clock(), p_w))
            return len(self._samples) - 1

    def _run(self) -> None:
        while not self._stop.wait(self.sample_interval_s):
            try:
                self.sample()
            except self._error:  # a transient NVML failure loses one sample, not the window
                continue

    def _start_sampler(self) -> None:
        with self._lock:
            self._active += 1
            start = self._active == 1 and self.background
        if start:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"effbench-nvml{self.index}", daemon=True)
            self._thread.start()

    def _stop_sampler(self) -> None:
        with self._lock:
            self._active -= 1
            stop = self._active == 0
        if stop:
            if self._thread is not None:
                self._stop.set()
                self._thread.join()
                self._thread = None
            with self._lock:
                self._samples.clear()

    # -- protocol -----------------------------------------------------------------
    def begin(self) -> Any:
        if self.mode == "energy-counter":
            return (self.clock(), int(self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle)))
        self._start_sampler()
        i0 = self.sample()
        with self._lock:
            return (self._samples[i0][0], i0)

    def end(self, token: Any) -> EnergyReading:
        key = f"gpu{self.index}"
        if self.mode == "energy-counter":
            t0, e0 = token
            e1 = int(self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle))
            t1 = self.clock()
            energy_j = (e1 - e0) / 1000.0
            return EnergyReading(energy_j, t1 - t0, MEASURED, self.name, {key: energy_j})
        t0, i0 = token
        i1 = self.sample()
        with self._lock:
            window = self._samples[i0 : i1 + 1]
        self._stop_sampler()
        energy_j = _trapezoid(window)
        t1 = window[-1][0]
        note = f"power sampled {len(window)} times and integrated (trapezoid)"
        return EnergyReading(energy_j, t1 - t0, MEASURED, self.name, {key: energy_j}, notes=note)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.nv.nvmlShutdown()


def _trapezoid(samples: Sequence[tuple[float, float]]) -> float:
    total = 0.0
    for (ta, pa), (tb, pb) in zip(samples, samples[1:]):
        total += 0.5 * (pa + pb) * (tb - ta)
    return total


# --------------------------------------------------------------------------------------
# The CPU estimate
# --------------------------------------------------------------------------------------


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
        if not (isinstance(tdp_w, (int, float)) and math.isfinite(tdp_w) and tdp_w > 0):
            raise ConfigError(f"cpu_tdp_w: must be a finite number of watts > 0; got {tdp_w!r}")
        return float(tdp_w), "given by the user"
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
        if not (isinstance(idle_fraction, (int, float)) and 0 <= idle_fraction <= 1):
            raise ConfigError(f"idle_fraction: must be between 0 and 1; got {idle_fraction!r}")
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


# --------------------------------------------------------------------------------------
# Several meters as one
# --------------------------------------------------------------------------------------


class MultiMeter(_MeterBase):
    """Several meters read over the same window, one domain per meter domain.

    ``domains`` keys are ``<meter>:<domain>``; ``domain_provenance`` keeps each one's label.
    The total is ``measured`` only when every part is; otherwise it is ``estimated`` and the
    meter name says so, with a note listing which parts were measured.
    """

    def __init__(self, meters: Sequence[EnergyMeter]):
        if not meters:
            raise ConfigError("meters: need at least one meter; got none")
        self.meters = list(meters)
        self.provenance = MEASURED if all(m.provenance == MEASURED for m in self.meters) else ESTIMATED
        base = "+".join(m.name for m in self.meters)
        self.name = base if self.provenance == MEASURED or "estimate" in base else f"{base} (estimate)"
        self.update_period_s = max(m.update_period_s for m in self.meters)

    @property
    def reads_a_counter(self) -> bool:
        return any(getattr(m, "reads_a_counter", m.provenance == MEASURED) for m in self.meters)

    def idle_power_w(self, seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Estimates only: the sum of their modelled idle powers, without waiting; else measured over ``seconds``."""
        if not self.reads_a_counter:
            return float(sum(m.idle_power_w(seconds, sleep) for m in self.meters))
        return super().idle_power_w(seconds, sleep)

    def begin(self) -> list[Any]:
        return [m.begin() for m in self.meters]

    def end(self, token: list[Any]) -> EnergyReading:
        readings = [m.end(t) for m, t in zip(reversed(self.meters), reversed(token))][::-1]
        domains: dict[str, float] = {}
        prov: dict[str, str] = {}
        for r in readings:
            for k, v in r.domains.items():
                domains[f"{r.meter}:{k}"] = v
                prov[f"{r.meter}:{k}"] = r.domain_provenance.get(k, r.provenance)
        notes = [r.notes for r in readings]
        if self.provenance == ESTIMATED and any(r.provenance == MEASURED for r in readings):
            measured = ", ".join(r.meter for r in readings if r.provenance == MEASURED)
            estimated = ", ".join(r.meter for r in readings if r.provenance == ESTIMATED)
            notes.insert(0, f"total labelled estimated: measured part(s) {measured}, estimated part(s) {estimated}")
        return EnergyReading(
            energy_j=sum(r.energy_j for r in readings),
            duration_s=max(r.duration_s for r in readings),
            provenance=self.provenance,
            meter=self.name,
            domains=domains,
            notes=_join_notes(*notes),
            domain_provenance=prov,
        )

    def close(self) -> None:
        for m in self.meters:
            m.close()


# --------------------------------------------------------------------------------------
# Selecting meters and measuring
# --------------------------------------------------------------------------------------


def select_meters(
    *,
    rapl_root: str | os.PathLike = DEFAULT_RAPL_ROOT,
    allow_nvml: bool = True,
    tdp_w: float | None = None,
    pynvml_module: Any = None,
    env: Mapping[str, str] | None = None,
    nvml_background: bool = True,
) -> tuple[list[EnergyMeter], list[str]]:
    """The meters that work on this machine, and one-line notices for those that do not.

    CPU: RAPL when its counters can be read, else :class:`EstimatedCpuMeter` (labelled
    estimated). GPU: one :class:`NvmlMeter` per NVIDIA GPU when NVML is usable; otherwise a
    notice and nothing (no GPU estimate is invented). Never raises for an unavailable meter.
    """
    meters: list[EnergyMeter] = []
    notices: list[str] = []
    try:
        meters.append(RaplMeter(rapl_root))
    except MeterUnavailableError as exc:
        cpu = EstimatedCpuMeter(tdp_w, env=env)
        meters.append(cpu)
        notices.append(
            f"energy: RAPL unavailable ({exc}); CPU energy is ESTIMATED from TDP {cpu.tdp_w:g} W "
            f"({cpu.tdp_source}) x process CPU utilisation"
        )
    if allow_nvml:
        try:
            nv = pynvml_module if pynvml_module is not None else _import_pynvml()
            err = getattr(nv, "NVMLError", Exception)
            try:
                nv.nvmlInit()
                count = int(nv.nvmlDeviceGetCount())
            except err as exc:
                raise MeterUnavailableError(f"NVML could not start (no NVIDIA driver?): {exc}") from exc
            finally:
                with contextlib.suppress(Exception):
                    nv.nvmlShutdown()
            if count == 0:
                raise MeterUnavailableError("NVML found no GPU")
            for i in range(count):
                meters.append(NvmlMeter(i, pynvml_module=nv, background=nvml_background))
        except MeterUnavailableError as exc:
            notices.append(f"energy: NVML unavailable ({exc}); GPU energy is not measured")
    return meters, notices


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
    if not (isinstance(min_window_s, (int, float)) and math.isfinite(min_window_s) and min_window_s >= 0):
        raise ConfigError(f"min_window_s: must be a finite number >= 0; got {min_window_s!r}")
    if not (isinstance(max_repeats, int) and max_repeats >= 1):
        raise ConfigError(f"max_repeats: must be an integer >= 1; got {max_repeats!r}")
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
