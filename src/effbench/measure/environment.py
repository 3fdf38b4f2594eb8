"""What can change a timing, recorded beside every run.

CPU model, vendor and flags; frequency governor, scaling driver, frequencies and turbo where
``/sys`` exposes them (``None`` where not readable: containers and VMs often hide them); SMT;
logical and physical cores and the process's CPU affinity; memory; the load average at the start
(``load_average``; the end value ``load_average_after`` is added when the run finishes); the
clock used and its resolution; library versions; thread settings (the ``threads`` each worker
uses, the thread environment variables, and the BLAS/OpenMP pools that threadpoolctl sees in this
process; each worker's own torch / ONNX Runtime settings are in its candidate's
``info.worker.thread_settings``); NVIDIA GPUs through NVML (name, driver, CUDA driver version,
current and maximum clocks, memory, power limit, persistence mode) when nvidia-ml-py is installed,
and a note saying why there is no GPU entry otherwise.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version

from effbench.measure.bootstrap import THREAD_ENV

CORE_LIBRARIES = ("effbench", "numpy", "scipy")
TOOL_LIBRARIES = ("threadpoolctl", "psutil", "nvidia-ml-py")


def libraries(backend_libraries=()) -> tuple[str, ...]:
    """The distributions whose versions are recorded: effbench's own, the backends' (the runs layer
    passes every registered backend's, :func:`effbench.candidates.registry.library_names`, in
    registration order), then the measuring tools'."""
    return tuple(dict.fromkeys(CORE_LIBRARIES + tuple(backend_libraries) + TOOL_LIBRARIES))
RELEVANT_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni",
                  "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd", "asimdhp", "sve", "hypervisor")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    v = _read(path)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def cpu_info() -> dict:
    """Model, vendor, flags, current MHz, and frequency scaling where readable (None otherwise)."""
    info: dict = {"machine": platform.machine(), "processor": platform.processor() or None}
    text = _read("/proc/cpuinfo") or ""
    names = {"model name": "model", "vendor_id": "vendor", "flags": "flags", "Features": "flags", "cpu MHz": "mhz"}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        field = names.get(key)
        if field is None or field in info:
            continue
        if field == "flags":
            info["flags"] = value.split()
        elif field == "mhz":
            try:
                info["mhz"] = float(value)
            except ValueError:
                pass
        else:
            info[field] = value
    info.setdefault("model", platform.processor() or platform.machine())
    base = "/sys/devices/system/cpu/cpu0/cpufreq/"
    info["governor"] = _read(base + "scaling_governor")  # None where not readable (containers, VMs)
    info["scaling_driver"] = _read(base + "scaling_driver")
    for name, fname in (("min_khz", "scaling_min_freq"), ("max_khz", "scaling_max_freq"), ("cur_khz", "scaling_cur_freq")):
        info[name] = _read_int(base + fname)
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    info["turbo"] = (no_turbo == "0") if no_turbo is not None else ((boost == "1") if boost is not None else None)
    smt = _read("/sys/devices/system/cpu/smt/active")
    info["smt_active"] = None if smt is None else smt == "1"
    return info


def thread_info(threads: int | None = None) -> dict:
    """Thread settings visible from this process (the parent; workers fix theirs at start)."""
    out: dict = {
        "threads_per_candidate": threads,
        "default": 1,
        "env": {k: os.environ.get(k) for k in THREAD_ENV if os.environ.get(k)},
        "note": "each worker sets torch, ONNX Runtime intra-op, BLAS/OpenMP threads to threads_per_candidate "
                "(inter-op 1); its settings are in the candidate's info.worker.thread_settings",
    }
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "threading_layer", "architecture")}
            for p in threadpool_info()
        ]
    except Exception:  # noqa: BLE001 - optional introspection
        out["threadpools"] = None
    torch = sys.modules.get("torch")  # never imported here only to be described
    if torch is not None and hasattr(torch, "get_num_threads"):
        out["torch_parent"] = {"num_threads": torch.get_num_threads(), "num_interop_threads": torch.get_num_interop_threads()}
    return out


def clock_info() -> dict:
    c = time.get_clock_info("perf_counter")
    return {"name": "time.perf_counter", "implementation": c.implementation, "resolution_s": c.resolution, "monotonic": c.monotonic}


def memory_info() -> dict:
    try:
        import psutil

        vm = psutil.virtual_memory()
        return {"total_bytes": int(vm.total), "available_bytes": int(vm.available)}
    except Exception:  # noqa: BLE001
        return {}


def library_versions(backend_libraries=()) -> dict:
    out = {}
    for name in libraries(backend_libraries):
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


def collect_environment(threads: int | None = None, backend_libraries=()) -> dict:
    """A JSON-ready description of this machine and process (see the module docstring)."""
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    cpu = cpu_info()
    flags = cpu.get("flags") or []
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # noqa: BLE001
        physical = None
    gpus, gpu_note = gpu_info(with_note=True)
    threading = thread_info(threads)
    return {
        "cpu": {**cpu, "flags_relevant": [f for f in flags if f in RELEVANT_FLAGS], "n_flags": len(flags)},
        "cores_logical": os.cpu_count(),
        "cores_physical": physical,
        "affinity": affinity,
        "affinity_count": None if affinity is None else len(affinity),
        "memory": memory_info(),
        "threads_used": threads,
        "thread_env": threading["env"],
        "threading": threading,
        "clock": clock_info(),
        "os": {"system": platform.system(), "release": platform.release(), "platform": platform.platform()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(), "executable": sys.executable},
        "libraries": library_versions(backend_libraries),
        "load_average": load_average(),
        "gpu": gpus,
        "gpu_note": gpu_note,
        "hostname": platform.node(),
    }


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def gpu_info(with_note: bool = False):
    """NVIDIA GPUs through NVML when nvidia-ml-py is installed and a driver answers; [] otherwise.

    With ``with_note=True`` returns ``(gpus, note)``, the note saying why the list is empty.
    """
    try:
        import pynvml  # type: ignore  # from the nvidia-ml-py package
    except ImportError:
        return ([], "nvidia-ml-py is not installed: GPUs, if any, are not described") if with_note else []
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - no driver: nothing to record
        return ([], f"NVML did not start ({type(exc).__name__}): no NVIDIA driver") if with_note else []
    gpus = []
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        try:
            cuda = pynvml.nvmlSystemGetCudaDriverVersion()
            cuda = f"{cuda // 1000}.{(cuda % 1000) // 10}"
        except Exception:  # noqa: BLE001
            cuda = None
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            entry = {"index": i, "name": _text(pynvml.nvmlDeviceGetName(h)), "driver": driver, "cuda_driver": cuda}
            optional = {
                "sm_clock_mhz": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
                "mem_clock_mhz": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM),
                "sm_clock_max_mhz": lambda: pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM),
                "mem_clock_max_mhz": lambda: pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM),
                "memory_total_bytes": lambda: int(pynvml.nvmlDeviceGetMemoryInfo(h).total),
                "power_limit_w": lambda: pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1000.0,
                "persistence_mode": lambda: bool(pynvml.nvmlDeviceGetPersistenceMode(h)),
                "performance_state": lambda: int(pynvml.nvmlDeviceGetPerformanceState(h)),
                "temperature_c": lambda: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
            }
            for key, read in optional.items():
                try:
                    entry[key] = read()
                except Exception:  # noqa: BLE001 - each reading is optional (not supported on every GPU)
                    entry[key] = None
            gpus.append(entry)
    finally:
        pynvml.nvmlShutdown()
    note = None if gpus else "NVML answered but reports no GPU"
    return (gpus, note) if with_note else gpus
