"""RAPL: CPU package and DRAM energy counters, read from the Linux powercap files."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from effbench.measure.energy.common import (
    MEASURED,
    EnergyReading,
    MeterUnavailableError,
    _MeterBase,
)

DEFAULT_RAPL_ROOT = "/sys/class/powercap"


#: RAPL energy counters refresh about every millisecond (Haehnel et al., "Measuring energy
#: consumption for short code paths using RAPL", SIGMETRICS PER 2012; Khan et al., "RAPL in
#: Action", ACM TOMPECS 2018).
RAPL_UPDATE_PERIOD_S = 0.001


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
