"""What can change a timing, recorded beside every run: CPU, cores, threads, OS, library versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

LIBRARIES = ("effbench", "numpy", "scipy", "scikit-learn", "torch", "onnx", "onnxruntime", "skl2onnx", "threadpoolctl")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_info() -> dict:
    info: dict = {"machine": platform.machine(), "processor": platform.processor() or None}
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and "model" not in info:
            info["model"] = value
        elif key == "flags" and "flags" not in info:
            info["flags"] = value.split()
        elif key == "cpu MHz" and "mhz" not in info:
            try:
                info["mhz"] = float(value)
            except ValueError:
                pass
    info.setdefault("model", platform.processor() or platform.machine())
    gov = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    info["governor"] = gov  # None where not readable (containers, VMs)
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    info["turbo"] = (no_turbo == "0") if no_turbo is not None else ((boost == "1") if boost is not None else None)
    return info


def library_versions() -> dict:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def load_average() -> list[float] | None:
    try:
        return [round(x, 3) for x in os.getloadavg()]
    except OSError:
        return None


def collect_environment(threads: int | None = None) -> dict:
    """A JSON-ready description of this machine and process."""
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    cpu = cpu_info()
    flags = cpu.pop("flags", None) or []
    interesting = [f for f in flags if f in ("avx", "avx2", "avx512f", "avx512_vnni", "amx_tile", "fma", "sse4_2", "neon", "asimd")]
    env_threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS") if os.environ.get(k)}
    return {
        "cpu": {**cpu, "flags_relevant": interesting, "n_flags": len(flags)},
        "cores_logical": os.cpu_count(),
        "affinity": affinity,
        "threads_used": threads,
        "thread_env": env_threads,
        "os": {"system": platform.system(), "release": platform.release(), "platform": platform.platform()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(), "executable": sys.executable},
        "libraries": library_versions(),
        "load_average": load_average(),
        "gpu": gpu_info(),
        "hostname": platform.node(),
    }


def gpu_info() -> list[dict]:
    """NVIDIA GPUs through NVML when nvidia-ml-py is installed and a driver answers; [] otherwise."""
    try:
        import pynvml  # type: ignore
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: nothing to record  # noqa: BLE001
        return []
    gpus = []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            entry = {"index": i, "name": pynvml.nvmlDeviceGetName(h), "driver": driver}
            try:
                entry["sm_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM)
                entry["mem_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM)
            except Exception:  # noqa: BLE001 - clocks are optional
                pass
            gpus.append(entry)
    finally:
        pynvml.nvmlShutdown()
    return gpus
