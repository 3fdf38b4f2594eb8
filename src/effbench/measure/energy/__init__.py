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

One module per meter, as zeus splits its GPU backends: :mod:`.common` (the reading, the protocol,
the base, :func:`measure_energy`), :mod:`.rapl`, :mod:`.nvml`, :mod:`.estimate` (TDP x utilisation),
:mod:`.multi` (several meters as one); :func:`select_meters`, here, chooses them. Every name is
imported from ``effbench.measure.energy`` as before.

Heavy or optional modules (``pynvml`` from nvidia-ml-py, ``psutil``) are imported lazily.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Mapping

from effbench.measure.energy.common import (
    ESTIMATED,
    MEASURED,
    EnergyMeter,
    EnergyReading,
    MeterUnavailableError,
    measure_energy,
)
from effbench.measure.energy.estimate import (
    DEFAULT_IDLE_FRACTION,
    DEFAULT_WATTS_PER_THREAD,
    TDP_ENV_VAR,
    EstimatedCpuMeter,
    resolve_cpu_tdp,
)
from effbench.measure.energy.multi import MultiMeter
from effbench.measure.energy.nvml import NVML_UPDATE_PERIOD_S, NvmlMeter, _import_pynvml
from effbench.measure.energy.rapl import (
    DEFAULT_RAPL_ROOT,
    RAPL_UPDATE_PERIOD_S,
    RaplMeter,
)

__all__ = [
    "DEFAULT_IDLE_FRACTION",
    "DEFAULT_RAPL_ROOT",
    "DEFAULT_WATTS_PER_THREAD",
    "ESTIMATED",
    "MEASURED",
    "NVML_UPDATE_PERIOD_S",
    "RAPL_UPDATE_PERIOD_S",
    "TDP_ENV_VAR",
    "EnergyMeter",
    "EnergyReading",
    "EstimatedCpuMeter",
    "MeterUnavailableError",
    "MultiMeter",
    "NvmlMeter",
    "RaplMeter",
    "measure_energy",
    "resolve_cpu_tdp",
    "select_meters",
]


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
