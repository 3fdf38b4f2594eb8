"""NVML: the energy of NVIDIA GPUs (nvidia-ml-py, imported as pynvml, imported lazily)."""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from typing import Any, Callable, Sequence

from effbench.measure.energy.common import (
    MEASURED,
    EnergyReading,
    MeterUnavailableError,
    _MeterBase,
)
from effbench.validation import Interval, check

#: NVML power readings and the energy counter refresh far more slowly than RAPL's: on A100/H100-class
#: GPUs the power value is refreshed every 100 ms (Yang, Adamek, Armour, "Part-time Power
#: Measurements: nvidia-smi's Lack of Attention", SC 2024). We use 100 ms for both paths.
NVML_UPDATE_PERIOD_S = 0.1


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
        check("sample_interval_s", sample_interval_s, Interval(float, 0, None, closed="neither"))
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
